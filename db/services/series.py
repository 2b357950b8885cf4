"""Follow-ups and recurring visits: each occurrence is booked as an ordinary visit.

The days come from `scheduler.series` (closed days moved to the next working day). Each day is
then booked like a family's booking would be: a nurse with the skill on duty, capacity taken
atomically, one open visit a day per patient, reminders synced. A day that fails those moves on
to the next working day (at most `_MAX_PUSH` days), so a full Tuesday does not drop a visit; a
visit that still finds no day is left out and counted. The same nurse is preferred through the
planner's continuity (`Patient.last_nurse_id`), as for any visit.

Families are told through intents (`series.follow_up`, `series.created`); db/ never renders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Account, Patient, Visit, VisitSeries
from db.services import outbox
from db.services.booking import (
    duty_by_day,
    has_skill,
    load_rules,
    needed_minutes,
    open_visit_on,
    take_capacity,
    unique_code,
)
from db.services.patients import patient_accounts
from db.services.reminders import sync_visit_reminders
from db.services.visit_status import record_created
from homecare.config import Config, ServiceType
from scheduler.booking import (
    BookingRules,
    TimeWindow,
    earliest_bookable_day,
    parse_request_code,
)
from scheduler.series import SeriesRule, follow_up_day, next_working_day, occurrences
from scheduler.visits import Actor

_MAX_PUSH = 14
FOLLOW_UP_DAYS = (3, 7, 14)


@dataclass(frozen=True)
class Placed:
    """One booked occurrence: the day the rule asked for and the visit (None: no day found)."""

    nominal: date
    visit: Visit | None

    @property
    def moved(self) -> bool:
        return self.visit is not None and self.visit.day != self.nominal


@dataclass(frozen=True)
class _Ask:
    clinic_id: int
    patient_id: int
    service: ServiceType
    window: TimeWindow
    actor: Actor
    account_id: int | None
    series_id: int | None = None
    follow_up_of: int | None = None


async def _room(session: AsyncSession, config: Config, ask: _Ask, day: date, now: datetime) -> bool:
    """The day has a nurse for the service, room, and no other open visit of the patient."""
    if await open_visit_on(session, ask.patient_id, day):
        return False
    duties = await duty_by_day(session, ask.clinic_id, [day])
    if not has_skill(duties[day], ask.service):
        return False
    minutes = needed_minutes(ask.service)
    return await take_capacity(session, config, ask.clinic_id, day, minutes, now)


async def _place(
    session: AsyncSession, config: Config, rules: BookingRules, ask: _Ask, day: date, now: datetime
) -> Visit | None:
    day = max(day, earliest_bookable_day(rules, now))
    last = day + timedelta(days=_MAX_PUSH)
    while day <= last:
        day = next_working_day(rules, day)
        if await _room(session, config, ask, day, now):
            return await _visit(session, config, ask, day, now)
        day += timedelta(days=1)
    return None


async def _visit(
    session: AsyncSession, config: Config, ask: _Ask, day: date, now: datetime
) -> Visit:
    visit = Visit(
        clinic_id=ask.clinic_id,
        code=await unique_code(session),
        patient_id=ask.patient_id,
        requested_by_account_id=ask.account_id,
        service_type=ask.service.code,
        complaint=None,
        priority="routine",
        day=day,
        window_start=ask.window.start,
        window_end=ask.window.end,
        duration_min=ask.service.duration_min,
        capacity_min=needed_minutes(ask.service),
        status="requested",
        series_id=ask.series_id,
        follow_up_of=ask.follow_up_of,
        created_at=now,
        updated_at=now,
    )
    session.add(visit)
    await session.flush()
    await record_created(session, visit, ask.actor, ask.account_id, now)
    await sync_visit_reminders(session, visit, config, now)
    return visit


def _first_name(patient: Patient | None) -> str:
    name = patient.full_name if patient is not None else None
    return name.split()[0] if name and name.strip() else ""


async def _tell(
    session: AsyncSession,
    patient_id: int,
    clinic_id: int,
    template: str,
    params: dict[str, Any],
    key: str,
) -> int:
    told = 0
    for account in await patient_accounts(session, patient_id):
        row = await outbox.tell(
            session,
            chat_id=account.chat_id,
            template=template,
            params=params,
            clinic_id=clinic_id,
            account_id=account.id,
            dedupe_key=f"{key}:{account.id}",
        )
        told += row is not None
    return told


# --- follow-up at "Selesai" ----------------------------------------------------------------------


async def follow_up(
    session: AsyncSession, config: Config, account: Account, origin: Visit, days: int, now: datetime
) -> Placed | None:
    """Book the same service for the same patient `days` after `origin`; None: not possible
    (unknown service, not a completed visit, or a follow-up already asked for)."""
    service = config.service(origin.service_type)
    if service is None or origin.status != "completed" or days not in FOLLOW_UP_DAYS:
        return None
    taken = await session.scalar(select(Visit.id).where(Visit.follow_up_of == origin.id).limit(1))
    if taken is not None:
        return None
    rules = await load_rules(session, config, origin.clinic_id, now)
    wanted = follow_up_day(rules, origin.day, days).nominal
    window = TimeWindow(origin.window_start, origin.window_end)
    ask = _Ask(
        origin.clinic_id,
        origin.patient_id,
        service,
        window,
        Actor.NURSE,
        account.id,
        follow_up_of=origin.id,
    )
    visit = await _place(session, config, rules, ask, wanted, now)
    placed = Placed(wanted, visit)
    if visit is not None:
        await _tell(
            session,
            visit.patient_id,
            visit.clinic_id,
            "series.follow_up",
            _visit_params(visit, await session.get(Patient, visit.patient_id), placed),
            f"followup:{visit.id}",
        )
    return placed


def _visit_params(visit: Visit, patient: Patient | None, placed: Placed) -> dict[str, Any]:
    return {
        "visit_id": visit.id,
        "code": visit.code,
        "patient_first_name": _first_name(patient),
        "service_type": visit.service_type,
        "day": visit.day,
        "nominal": placed.nominal,
        "window": [visit.window_start, visit.window_end],
        "moved": placed.moved,
    }


async def visit_by_code(session: AsyncSession, clinic_id: int, text: str) -> Visit | None:
    """The clinic's visit with this code as typed ("XWZ-2GH", "xwz2gh"), or None."""
    code = parse_request_code(text) or text.strip().upper()
    return await session.scalar(
        select(Visit).where(Visit.clinic_id == clinic_id, Visit.code == code)
    )


# --- a series set up by a head -------------------------------------------------------------------


@dataclass(frozen=True)
class SeriesOutcome:
    series: VisitSeries
    placed: list[Placed]

    @property
    def booked(self) -> list[Visit]:
        return [p.visit for p in self.placed if p.visit is not None]


async def create_series(
    session: AsyncSession,
    config: Config,
    account: Account,
    patient: Patient,
    service: ServiceType,
    rule: SeriesRule,
    start: date,
    window: TimeWindow,
    now: datetime,
) -> SeriesOutcome:
    """Set up the series and book every occurrence; the family hears of all in one message."""
    rules = await load_rules(session, config, patient.clinic_id, now)
    start = max(start, earliest_bookable_day(rules, now))
    series = VisitSeries(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        service_type=service.code,
        rule=rule.key,
        start_day=start,
        window_start=window.start,
        window_end=window.end,
        created_by_account_id=account.id,
        created_at=now,
    )
    session.add(series)
    await session.flush()
    ask = _Ask(
        patient.clinic_id, patient.id, service, window, Actor.HEAD, account.id, series_id=series.id
    )
    placed = []
    for occ in occurrences(rules, rule, start):
        # the core already moved closed days; `nominal` stays the rule's day for the message
        placed.append(Placed(occ.nominal, await _place(session, config, rules, ask, occ.day, now)))
    await _tell(
        session,
        patient.id,
        patient.clinic_id,
        "series.created",
        _series_params(series, patient, placed),
        f"series:{series.id}",
    )
    return SeriesOutcome(series, placed)


def _series_params(series: VisitSeries, patient: Patient, placed: list[Placed]) -> dict[str, Any]:
    return {
        "series_id": series.id,
        "patient_first_name": _first_name(patient),
        "service_type": series.service_type,
        "window": [series.window_start, series.window_end],
        "visits": [
            {"day": p.visit.day, "nominal": p.nominal, "code": p.visit.code}
            for p in placed
            if p.visit is not None
        ],
        "missed": [p.nominal for p in placed if p.visit is None],
    }


__all__ = [
    "FOLLOW_UP_DAYS",
    "Placed",
    "SeriesOutcome",
    "create_series",
    "follow_up",
    "visit_by_code",
]
