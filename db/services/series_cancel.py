"""A family cancels the rest of a recurring series from one of its visits on.

Each occurrence goes through the family's own cancel path (`my_visits.cancel_visit`: status
history, reminders, capacity, re-plan), so nothing differs from cancelling them one by one, except
that the staff hear it once: one note per head and per nurse who had one of the visits. An
occurrence already past the cancel cut-off is left as it is and counted, so the family can be told
to phone. When nothing open is left after the cancelled ones, the series is closed
(`VisitSeries.cancelled_at`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Account, Patient, Visit, VisitSeries
from db.services.my_visits import VisitItem, cancel_visit, visit_item
from db.services.patients import Notes, head_accounts, nurse_account, patient_params, tell_note
from homecare.config import Config
from scheduler.visits import is_open


@dataclass(frozen=True)
class RestOfSeries:
    """The open occurrences of `item`'s series from its day on (`item` first)."""

    series: VisitSeries
    items: list[VisitItem] = field(default_factory=list)

    @property
    def cancellable(self) -> list[VisitItem]:
        return [i for i in self.items if i.can_cancel]

    @property
    def late(self) -> int:
        return len(self.items) - len(self.cancellable)


async def rest_of_series(
    session: AsyncSession,
    config: Config,
    account_id: int,
    clinic_id: int,
    visit_id: int,
    now: datetime,
) -> RestOfSeries | None:
    """None when the visit is not the account's, not open, or not part of a live series."""
    item = await visit_item(session, config, account_id, clinic_id, visit_id, now)
    if item is None or item.visit.series_id is None or not is_open(item.visit.status):
        return None
    series = await session.get(VisitSeries, item.visit.series_id)
    if series is None or series.cancelled_at is not None:
        return None
    later = await session.scalars(
        select(Visit.id)
        .where(
            Visit.series_id == series.id,
            Visit.patient_id == item.visit.patient_id,
            Visit.day >= item.visit.day,
            Visit.id != item.visit.id,
        )
        .order_by(Visit.day, Visit.window_start, Visit.id)
    )
    items = [item]
    for vid in later:
        other = await visit_item(session, config, account_id, clinic_id, vid, now)
        if other is not None and is_open(other.visit.status):
            items.append(other)
    return RestOfSeries(series, items)


@dataclass(frozen=True)
class RestCancelled:
    cancelled: int
    late: int


async def cancel_rest(
    session: AsyncSession,
    *,
    config: Config,
    account: Account,
    rest: RestOfSeries,
    reason: str,
    now: datetime,
    notes: Notes | None = None,
) -> RestCancelled:
    done: list[tuple[Visit, int | None]] = []
    for item in rest.cancellable:
        nurse_id = item.visit.nurse_id
        result = await cancel_visit(
            session,
            config=config,
            account=account,
            item=item,
            reason=reason,
            now=now,
            notes=notes,
            tell=False,
        )
        if result.ok:
            done.append((item.visit, nurse_id))
    late = len(rest.items) - len(done)
    if late == 0:
        rest.series.cancelled_at = now
    if done:
        await _tell_staff(session, rest.series, done, reason, now, notes)
    return RestCancelled(len(done), late)


async def _tell_staff(
    session: AsyncSession,
    series: VisitSeries,
    done: list[tuple[Visit, int | None]],
    reason: str,
    now: datetime,
    notes: Notes | None,
) -> None:
    patient = await session.get(Patient, series.patient_id)
    recipients: list[Account] = list(await head_accounts(session, series.clinic_id))
    for nurse_id in dict.fromkeys(n for _, n in done if n is not None):
        nurse = await nurse_account(session, nurse_id)
        if nurse is not None and all(nurse.id != a.id for a in recipients):
            recipients.append(nurse)
    params: dict[str, Any] = {
        "series_id": series.id,
        "patient": patient_params(patient) if patient is not None else None,
        "visits": [{"code": v.code, "day": v.day} for v, _ in done],
        "reason": reason,
    }
    stamp = int(now.timestamp())
    for account in recipients:
        await tell_note(
            session,
            notes,
            chat_id=account.chat_id,
            template="series.staff_cancelled_rest",
            params=params,
            kind="series_cancelled",
            clinic_id=series.clinic_id,
            account_id=account.id,
            dedupe_key=f"series-rest:{series.id}:{account.id}:{stamp}",
        )


__all__ = ["RestCancelled", "RestOfSeries", "cancel_rest", "rest_of_series"]
