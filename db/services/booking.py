"""Booking a home visit: offered days and windows, danger-sign referrals, the booking itself.

Capacity is real: each clinic day has one `DayCapacity` row of remaining nurse-minutes, created on
first use from the nurses' shifts and leave (`scheduler.booking.day_capacity_minutes`, minus what
is already booked). A booking takes its minutes with one conditional UPDATE
(`remaining_min >= needed`) inside the booking transaction, so of two families racing for the last
place exactly one succeeds — on SQLite (BEGIN IMMEDIATE serialises writers) and on PostgreSQL
(the row lock makes the second UPDATE re-check the condition after the first commits).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from random import Random

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    Account,
    ClinicClosure,
    DayCapacity,
    EmergencyReferral,
    Nurse,
    NurseLeave,
    Patient,
    StaffTask,
    Visit,
)
from db.services.patients import Notes, head_accounts, patient_params, tell_note
from db.services.reminders import sync_visit_reminders
from db.services.visit_status import record_created
from homecare.config import Config, ServiceType
from scheduler.booking import (
    BookingDecision,
    BookingRefusal,
    BookingRules,
    NurseShift,
    TimeWindow,
    check_booking,
    day_capacity_minutes,
    horizon,
    new_request_code,
    offered_days,
    offered_windows,
    visit_capacity_minutes,
)
from scheduler.visits import CAPACITY_STATUSES, OPEN_STATUSES, Actor

WEEKDAY_INDEX = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
CAPACITY_STATUS_VALUES = [s.value for s in CAPACITY_STATUSES]
OPEN_STATUS_VALUES = [s.value for s in OPEN_STATUSES]


# --- rules ---------------------------------------------------------------------------------------


def rules_for(config: Config, extra_closures: Iterable[date] = ()) -> BookingRules:
    """The clinic's booking policy from configuration (plus closures stored in the database)."""
    clinic, schedule = config.clinic, config.schedule
    working = frozenset(WEEKDAY_INDEX[d] for d in clinic.working_days if d != "sun")
    every = tuple(sorted(TimeWindow.parse(w) for w in schedule.windows))
    # Only windows that start while this clinic works (clinics of one install keep their hours).
    opens, closes = clinic.working_hours
    windows = tuple(w for w in every if opens <= w.start < closes) or every
    closures = frozenset(date.fromisoformat(d) for d in schedule.closures) | frozenset(
        extra_closures
    )
    return BookingRules(
        timezone=clinic.tz,
        working_weekdays=working,
        windows=windows,
        horizon_days=schedule.horizon_days,
        plan_at=schedule.plan_at,
        closures=closures,
        cancel_cutoff=timedelta(hours=schedule.cancel_cutoff_hours),
    )


async def load_rules(
    session: AsyncSession, config: Config, clinic_id: int, now: datetime
) -> BookingRules:
    today = now.astimezone(config.clinic.tz).date()
    closed = await session.scalars(
        select(ClinicClosure.day).where(
            ClinicClosure.clinic_id == clinic_id, ClinicClosure.day >= today
        )
    )
    return rules_for(config, closed)


def window_of(visit: Visit) -> TimeWindow:
    return TimeWindow(visit.window_start, visit.window_end)


def needed_minutes(service: ServiceType) -> int:
    return visit_capacity_minutes(service.duration_min)


# --- capacity ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Duty:
    """A nurse on duty on one day, with her shift for that day."""

    nurse_id: int
    skills: frozenset[str]
    shift: NurseShift


async def duty_by_day(
    session: AsyncSession, clinic_id: int, days: Sequence[date]
) -> dict[date, list[Duty]]:
    """Who works on each day: active nurses minus leave; a part-day leave shortens the shift.

    Declared leave counts before a head approves it: the bot must not promise a nurse's time
    that is likely to be taken away.
    """
    nurses = list(
        await session.scalars(
            select(Nurse).where(Nurse.clinic_id == clinic_id, Nurse.active.is_(True))
        )
    )
    result: dict[date, list[Duty]] = {d: [] for d in days}
    if not nurses or not days:
        return result
    leaves = list(
        await session.scalars(
            select(NurseLeave).where(
                NurseLeave.nurse_id.in_([n.id for n in nurses]), NurseLeave.day.in_(list(days))
            )
        )
    )
    leave_of = {(lv.nurse_id, lv.day): lv for lv in leaves}
    for day in days:
        for nurse in nurses:
            start, end = nurse.shift_start, nurse.shift_end
            leave = leave_of.get((nurse.id, day))
            if leave is not None:
                if leave.available_from is None or leave.available_until is None:
                    continue
                start, end = max(start, leave.available_from), min(end, leave.available_until)
            if start >= end:
                continue
            result[day].append(
                Duty(
                    nurse.id,
                    frozenset(str(s) for s in nurse.skills or ()),
                    NurseShift(nurse.id, start, end),
                )
            )
    return result


def has_skill(duties: Iterable[Duty], service: ServiceType) -> bool:
    wanted = set(service.skills)
    return any(wanted <= d.skills for d in duties)


async def booked_minutes(session: AsyncSession, clinic_id: int, day: date) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(Visit.capacity_min), 0)).where(
            Visit.clinic_id == clinic_id,
            Visit.day == day,
            Visit.status.in_(CAPACITY_STATUS_VALUES),
        )
    )
    return int(total or 0)


def total_minutes(config: Config, duties: Iterable[Duty]) -> int:
    return day_capacity_minutes(
        [d.shift for d in duties], travel_share=config.planner.travel_allowance
    )


async def remaining_by_day(
    session: AsyncSession,
    config: Config,
    clinic_id: int,
    days: Sequence[date],
    duties: dict[date, list[Duty]] | None = None,
) -> dict[date, int]:
    """Remaining minutes per day as a booking would find them (see `ensure_day_capacity`).

    Reads only; the counter is created or brought up to date by the booking that needs it.
    """
    rows = {
        row.day: row
        for row in await session.scalars(
            select(DayCapacity).where(
                DayCapacity.clinic_id == clinic_id, DayCapacity.day.in_(list(days))
            )
        )
    }
    duties = duties if duties is not None else await duty_by_day(session, clinic_id, days)
    out: dict[date, int] = {}
    for day in days:
        fresh = total_minutes(config, duties.get(day, []))
        row = rows.get(day)
        if row is not None and row.total_min == fresh:
            out[day] = row.remaining_min
        else:
            out[day] = max(fresh - await booked_minutes(session, clinic_id, day), 0)
    return out


async def ensure_day_capacity(
    session: AsyncSession, config: Config, clinic_id: int, day: date, now: datetime
) -> None:
    """Create the day's counter from the nurses on duty, or bring it up to date.

    Nurse time changes after the counter exists (leave declared, a nurse added or deactivated):
    when the total computed now differs from the stored one, the remaining minutes are set again
    from the visits booked. The update is conditional on the values read, so under concurrent
    bookings it applies at most once, and a booking in between is never counted twice (the next
    booking corrects the total instead).
    """
    duties = await duty_by_day(session, clinic_id, [day])
    total = total_minutes(config, duties[day])
    row = (
        await session.execute(
            select(DayCapacity.id, DayCapacity.total_min, DayCapacity.remaining_min).where(
                DayCapacity.clinic_id == clinic_id, DayCapacity.day == day
            )
        )
    ).first()
    remaining = max(total - await booked_minutes(session, clinic_id, day), 0)
    if row is None:
        dialect = session.get_bind().dialect.name
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(DayCapacity)
        await session.execute(
            insert.values(
                clinic_id=clinic_id,
                day=day,
                total_min=total,
                remaining_min=remaining,
                updated_at=now,
            ).on_conflict_do_nothing(index_elements=["clinic_id", "day"])
        )
        return
    row_id, stored_total, stored_remaining = row
    if stored_total == total:
        return
    await session.execute(
        update(DayCapacity)
        .where(
            DayCapacity.id == row_id,
            DayCapacity.total_min == stored_total,
            DayCapacity.remaining_min == stored_remaining,
        )
        .values(total_min=total, remaining_min=remaining, updated_at=now)
        .execution_options(synchronize_session=False)
    )


async def recompute_day_capacity(
    session: AsyncSession, config: Config, clinic_id: int, day: date, now: datetime
) -> int:
    """Bring the day's counter up to date now (e.g. right after a nurse's leave is approved, so
    the heads' screens show it); bookings do the same on their own. Returns the remaining
    minutes."""
    await ensure_day_capacity(session, config, clinic_id, day, now)
    remaining = await session.scalar(
        select(DayCapacity.remaining_min).where(
            DayCapacity.clinic_id == clinic_id, DayCapacity.day == day
        )
    )
    return int(remaining or 0)


async def take_capacity(
    session: AsyncSession, config: Config, clinic_id: int, day: date, minutes: int, now: datetime
) -> bool:
    """Take `minutes` from the day, atomically; False when not enough remains."""
    await ensure_day_capacity(session, config, clinic_id, day, now)
    result = await session.execute(
        update(DayCapacity)
        .where(
            DayCapacity.clinic_id == clinic_id,
            DayCapacity.day == day,
            DayCapacity.remaining_min >= minutes,
        )
        .values(remaining_min=DayCapacity.remaining_min - minutes, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0) == 1  # type: ignore[attr-defined]


# --- what the patient is offered ---------------------------------------------------------------


async def days_for_service(
    session: AsyncSession,
    config: Config,
    clinic_id: int,
    service: ServiceType,
    now: datetime,
    exclude: date | None = None,
) -> list[date]:
    """Working days in the horizon with room for this service and a nurse who can give it."""
    rules = await load_rules(session, config, clinic_id, now)
    candidates = offered_days(rules, now, {d: 1 for d in horizon(rules, now)}, 0)
    duties = await duty_by_day(session, clinic_id, candidates)
    remaining = await remaining_by_day(session, config, clinic_id, candidates, duties)
    needed = needed_minutes(service)
    return [
        d
        for d in candidates
        if d != exclude and remaining.get(d, 0) >= needed and has_skill(duties[d], service)
    ]


async def windows_for_day(
    session: AsyncSession, config: Config, clinic_id: int, day: date, now: datetime
) -> list[TimeWindow]:
    rules = await load_rules(session, config, clinic_id, now)
    return offered_windows(rules, day, now)


# --- booking -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BookingOutcome:
    visit: Visit | None = None
    decision: BookingDecision | None = None
    duplicate: bool = False

    @property
    def ok(self) -> bool:
        return self.visit is not None


async def unique_code(session: AsyncSession, rng: Random | None = None) -> str:
    rng = rng or secrets.SystemRandom()
    while True:
        code = new_request_code(rng)
        if await session.scalar(select(Visit.id).where(Visit.code == code)) is None:
            return code


async def open_visit_on(
    session: AsyncSession, patient_id: int, day: date, except_visit: int | None = None
) -> bool:
    query = select(Visit.id).where(
        Visit.patient_id == patient_id, Visit.day == day, Visit.status.in_(OPEN_STATUS_VALUES)
    )
    if except_visit is not None:
        query = query.where(Visit.id != except_visit)
    return await session.scalar(query.limit(1)) is not None


async def busy_days(
    session: AsyncSession,
    patient_id: int,
    days: Sequence[date],
    except_visit: int | None = None,
) -> list[date]:
    """Which of `days` the patient already has an open visit on (one visit a day per patient)."""
    if not days:
        return []
    query = select(Visit.day).where(
        Visit.patient_id == patient_id,
        Visit.day.in_(list(days)),
        Visit.status.in_(OPEN_STATUS_VALUES),
    )
    if except_visit is not None:
        query = query.where(Visit.id != except_visit)
    taken = set(await session.scalars(query))
    return [d for d in days if d in taken]


async def check_slot(
    session: AsyncSession,
    config: Config,
    clinic_id: int,
    service: ServiceType,
    day: date,
    window: TimeWindow,
    now: datetime,
) -> BookingDecision:
    """The confirm-time check (calendar, cut-offs, a nurse with the skill, capacity as read)."""
    rules = await load_rules(session, config, clinic_id, now)
    needed = needed_minutes(service)
    decision = check_booking(rules, now, day, window)
    if not decision.ok:
        return decision
    duties = await duty_by_day(session, clinic_id, [day])
    remaining = await remaining_by_day(session, config, clinic_id, [day], duties)
    if not has_skill(duties[day], service) or remaining[day] < needed:
        return BookingDecision(BookingRefusal.NO_CAPACITY)
    return decision


async def book_visit(
    session: AsyncSession,
    *,
    config: Config,
    clinic_id: int,
    account_id: int,
    patient_id: int,
    service: ServiceType,
    complaint: str | None,
    day: date,
    window: TimeWindow,
    now: datetime,
    rng: Random | None = None,
) -> BookingOutcome:
    """Book one visit, or say why not. Capacity is taken atomically (see the module doc)."""
    decision = await check_slot(session, config, clinic_id, service, day, window, now)
    if not decision.ok:
        return BookingOutcome(decision=decision)
    if await open_visit_on(session, patient_id, day):
        return BookingOutcome(duplicate=True)
    needed = needed_minutes(service)
    if not await take_capacity(session, config, clinic_id, day, needed, now):
        return BookingOutcome(decision=BookingDecision(BookingRefusal.NO_CAPACITY))
    visit = Visit(
        clinic_id=clinic_id,
        code=await unique_code(session, rng),
        patient_id=patient_id,
        requested_by_account_id=account_id,
        service_type=service.code,
        complaint=complaint,
        priority="routine",
        day=day,
        window_start=window.start,
        window_end=window.end,
        duration_min=service.duration_min,
        capacity_min=needed,
        status="requested",
        created_at=now,
        updated_at=now,
    )
    session.add(visit)
    await session.flush()
    await record_created(session, visit, Actor.PATIENT, account_id, now)
    await sync_visit_reminders(session, visit, config, now)
    return BookingOutcome(visit=visit)


# --- danger signs --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LastRequest:
    service_code: str
    complaint: str | None


async def last_request(session: AsyncSession, patient_id: int) -> LastRequest | None:
    """The patient's latest visit request, for "🔁 the same again" (a repeat takes one tap)."""
    row = (
        await session.execute(
            select(Visit.service_type, Visit.complaint)
            .where(Visit.patient_id == patient_id)
            .order_by(Visit.created_at.desc(), Visit.id.desc())
            .limit(1)
        )
    ).first()
    return None if row is None else LastRequest(row.service_type, row.complaint)


async def record_emergency(
    session: AsyncSession,
    *,
    config: Config,
    clinic_id: int,
    account: Account,
    patient: Patient,
    service_code: str | None,
    signs: list[str],
    now: datetime,
    notes: Notes | None = None,
) -> EmergencyReferral:
    """A danger sign at intake: record the referral, open a follow-up task, alert every head."""
    row = EmergencyReferral(
        clinic_id=clinic_id,
        patient_id=patient.id,
        account_id=account.id,
        signs=list(signs),
        service_type=service_code,
        at=now,
    )
    session.add(row)
    session.add(
        StaffTask(
            clinic_id=clinic_id,
            kind="emergency_followup",
            patient_id=patient.id,
            account_id=account.id,
            detail=",".join(signs)[:300],
            created_at=now,
        )
    )
    await session.flush()
    params = {
        "patient": patient_params(patient),
        "signs": list(signs),
        "service_code": service_code,
        "now": now,
    }
    for head in await head_accounts(session, clinic_id):
        await tell_note(
            session,
            notes,
            chat_id=head.chat_id,
            template="head.emergency_alert",
            params=params,
            kind="emergency_alert",
            clinic_id=clinic_id,
            account_id=head.id,
            dedupe_key=f"emergency:{row.id}:{head.id}",
        )
    return row
