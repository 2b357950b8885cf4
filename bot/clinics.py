"""The clinics of this install, by database id: each one's settings and configuration view.

`HomecareApp.prepare` ensures a `clinics` row per configured clinic and fills the ids. A turn, a
job or a console page works for one clinic: `config_for(clinic_id)` is the configuration as that
clinic sees it (homecare.config_clinics.for_clinic), so `config.clinic` there is the right one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from db.services.accounts import STAFF_ROLES

if TYPE_CHECKING:
    from db.models import Account
    from homecare.config import ClinicConfig, Config


@dataclass
class ClinicDirectory:
    config: Config
    ids: dict[str, int] = field(default_factory=dict)  # clinic code → clinics.id
    _views: dict[int, Config] = field(default_factory=dict)

    def rebind(self, config: Config) -> None:
        """The app's configuration changed (the console's chosen port): views are rebuilt."""
        self.config = config
        self._views.clear()

    @property
    def default_id(self) -> int:
        """The first clinic: for whom no clinic is known yet (a stranger's first message)."""
        return self.ids.get(self.config.clinic.code, 0)

    def id_of(self, code: str) -> int:
        return self.ids[code]

    def code_of(self, clinic_id: int | None) -> str | None:
        return next((code for code, i in self.ids.items() if i == clinic_id), None)

    def known(self, clinic_id: int) -> bool:
        return clinic_id in self.ids.values()

    def clinic(self, clinic_id: int | None) -> ClinicConfig:
        return self.config_for(clinic_id).clinic

    def config_for(self, clinic_id: int | None) -> Config:
        code = self.code_of(clinic_id)
        if code is None:
            return self.config
        view = self._views.get(clinic_id or 0)
        if view is None:
            view = self._views[clinic_id or 0] = self.config.for_clinic(code)
        return view

    def scopes(self) -> Iterator[tuple[int, Config]]:
        """(clinic id, its configuration view) for every configured clinic, in file order."""
        for c in self.config.clinics:
            if c.code in self.ids:
                yield self.ids[c.code], self.config_for(self.ids[c.code])

    def for_person(self, account: Account | None) -> tuple[int, Config]:
        """The person's clinic and configuration view. Someone not yet routed to a clinic of a
        several-clinic install hears every clinic's name (welcome, consent), not the first's."""
        clinic_id = self.of_account(account)
        config = self.config_for(clinic_id)
        if len(self.config.clinics) > 1 and not self._routed(account):
            names = " / ".join(c.name for c in self.config.clinics)
            config = dataclasses.replace(
                config, clinic=dataclasses.replace(config.clinic, name=names)
            )
        return clinic_id, config

    def _routed(self, account: Account | None) -> bool:
        return account is not None and any(self.known(r.clinic_id) for r in account.roles)

    def of_account(self, account: Account | None) -> int:
        """The person's clinic: where they are staff, else where their patients are, else the
        first clinic (a newcomer; registration routes them by kelurahan)."""
        if account is None:
            return self.default_id
        mine = sorted(
            (r for r in account.roles if self.known(r.clinic_id)), key=lambda r: r.id or 0
        )
        staff = [r.clinic_id for r in mine if r.role in STAFF_ROLES]
        others = [r.clinic_id for r in mine]
        return (staff or others or [self.default_id])[0]
