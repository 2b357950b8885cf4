"""What the relay, intake, jobs and handlers need of the running bot, as a Protocol.

They are handed the wired app (bot/app.py) but must not import it: the app imports them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from telegram.ext import Application

    from bot.clinics import ClinicDirectory
    from bot.metrics import Metrics
    from db.session import Database
    from homecare.config import ClinicConfig, Config


class Waker(Protocol):
    def wake(self, ids: Iterable[int] | None = None) -> None: ...


class Flood(Protocol):
    def check(self, account_id: int, now: float | None = None) -> str: ...

    def refund(self, account_id: int) -> None: ...


class Homecare(Protocol):
    """The running bot as its parts see it; bot.app.HomecareApp is the one implementation."""

    config: Config
    db: Database
    application: Application[Any, Any, Any, Any, Any, Any]
    clinic_id: int  # the first clinic; per person/page: `clinics`
    clinics: ClinicDirectory
    metrics: Metrics

    def clinic(self, clinic_id: int | None) -> ClinicConfig: ...

    # Read-only here so that the app's concrete Relay and FloodControl satisfy them.
    @property
    def relay(self) -> Waker: ...

    @property
    def flood(self) -> Flood: ...
