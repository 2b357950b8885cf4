"""My visits: a family's upcoming and past visits, cancelling and rescheduling.

Both are allowed until the cut-off (`[schedule] cancel_cutoff_hours` before the window starts;
afterwards the route is fixed and the family phones the clinic). Every change goes through
`db.services.visit_status.change_status` when the status changes, moves capacity between days
atomically, re-syncs the visit's reminders, and tells the heads — and the assigned nurse, once
there is one — through the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Account, Patient, Visit
from db.services import planning
from db.services.booking import (
    check_slot,
    load_rules,
    open_visit_on,
    take_capacity,
    window_of,
)
from db.services.patients import (
    MyPatient,
    Notes,
    head_accounts,
    my_patients,
    nurse_account,
    patient_params,
    tell_note,
)
from db.services.reminders import sync_visit_reminders
from db.services.visit_status import change_status, record_event, release_capacity
from homecare.config import Config
from scheduler.booking import (
    BookingDecision,
    BookingRules,
    TimeWindow,
    can_cancel,
    check_booking,
    visit_capacity_minutes,
)
from scheduler.visits import (
    Actor,
    TransitionError,
    VisitStatus,
    can_reschedule,
    can_transition,
    is_open,
)

PAST_SHOWN = 5
REASON_MAX = 200


@dataclass(frozen=True)
class VisitItem:
    visit: Visit
    patient: MyPatient
    can_cancel: bool
    can_reschedule: bool

    @property
    def window(self) -> TimeWindow:
        return window_of(self.visit)


@dataclass(frozen=True)
class MyVisits:
    upcoming: list[VisitItem]
    past: list[VisitItem]


def in_time(rules: BookingRules, visit: Visit, now: datetime) -> bool:
    """Before the cut-off; a visit the planner could not place has no route to protect."""
    if visit.status == VisitStatus.UNPLACED.value:
        return True
    return can_cancel(rules, now, visit.day, window_of(visit))


def _changeable(rules: BookingRules, visit: Visit, now: datetime) -> tuple[bool, bool]:
    if not is_open(visit.status):
        return False, False
    in_time_ = in_time(rules, visit, now)
    status = VisitStatus(visit.status)
    cancel_ok = in_time_ and can_transition(status, VisitStatus.CANCELLED_BY_PATIENT, Actor.PATIENT)
    move_ok = in_time_ and can_reschedule(status, Actor.PATIENT)
    return cancel_ok, move_ok


async def list_visits(
    session: AsyncSession, config: Config, account_id: int, clinic_id: int, now: datetime
) -> MyVisits:
    patients = {m.patient.id: m for m in await my_patients(session, account_id, clinic_id)}
    if not patients:
        return MyVisits([], [])
    rules = await load_rules(session, config, clinic_id, now)
    today = now.astimezone(config.clinic.tz).date()
    visits = list(
        await session.scalars(
            select(Visit)
            .where(Visit.patient_id.in_(list(patients)), Visit.clinic_id == clinic_id)
            .order_by(Visit.day, Visit.window_start, Visit.id)
        )
    )
    upcoming: list[VisitItem] = []
    past: list[VisitItem] = []
    for visit in visits:
        cancel_ok, move_ok = _changeable(rules, visit, now)
        item = VisitItem(visit, patients[visit.patient_id], cancel_ok, move_ok)
        if is_open(visit.status) and visit.day >= today:
            upcoming.append(item)
        else:
            past.append(item)
    past.reverse()
    return MyVisits(upcoming, past[:PAST_SHOWN])


async def visit_item(
    session: AsyncSession,
    config: Config,
    account_id: int,
    clinic_id: int,
    visit_id: int,
    now: datetime,
) -> VisitItem | None:
    """One of the account's visits with what may be done to it now; None if not theirs."""
    visit = await session.get(Visit, visit_id)
    if visit is None or visit.clinic_id != clinic_id:
        return None
    patients = {m.patient.id: m for m in await my_patients(session, account_id, clinic_id)}
    if visit.patient_id not in patients:
        return None
    rules = await load_rules(session, config, clinic_id, now)
    cancel_ok, move_ok = _changeable(rules, visit, now)
    return VisitItem(visit, patients[visit.patient_id], cancel_ok, move_ok)


async def tell_staff(
    session: AsyncSession,
    config: Config,
    visit: Visit,
    what: str,
    *,
    nurse_id: int | None,
    old_day: date | None = None,
    old_window: TimeWindow | None = None,
    reason: str | None = None,
    now: datetime,
    notes: Notes | None = None,
) -> None:
    """Queue a note to every head and to the nurse who had the visit (cancelled/rescheduled)."""
    patient = await session.get(Patient, visit.patient_id)
    recipients: list[Account] = list(await head_accounts(session, visit.clinic_id))
    nurse = await nurse_account(session, nurse_id)
    if nurse is not None and all(nurse.id != a.id for a in recipients):
        recipients.append(nurse)
    stamp = int(now.timestamp())
    params = {
        "what": what,
        "visit": {
            "id": visit.id,
            "code": visit.code,
            "day": visit.day,
            "window_start": visit.window_start,
            "window_end": visit.window_end,
            "service_type": visit.service_type,
        },
        "patient": patient_params(patient) if patient is not None else None,
        "old_day": old_day,
        "old_window": [old_window.start, old_window.end] if old_window is not None else None,
        "reason": reason,
    }
    for account in recipients:
        await tell_note(
            session,
            notes,
            chat_id=account.chat_id,
            template="staff.visit_changed",
            params=params,
            kind=f"visit_{what}",
            clinic_id=visit.clinic_id,
            account_id=account.id,
            dedupe_key=f"visit-{what}:{visit.id}:{account.id}:{stamp}",
        )


@dataclass(frozen=True)
class ChangeResult:
    """`ok`, or `refusal`: a locale key (with `params`) saying why nothing changed."""

    refusal: str | None = None
    params: dict[str, str] | None = None

    @property
    def ok(self) -> bool:
        return self.refusal is None


def _refused(decision: BookingDecision) -> ChangeResult:
    assert decision.reason is not None
    return ChangeResult(decision.reason.locale_key, {"holiday": decision.holiday or ""})


async def cancel_visit(
    session: AsyncSession,
    *,
    config: Config,
    account: Account,
    item: VisitItem,
    reason: str,
    now: datetime,
    notes: Notes | None = None,
    tell: bool = True,
) -> ChangeResult:
    """Cancel one visit for the family; `tell=False` leaves the staff note to the caller (the
    rest of a series is told in one note)."""
    visit = item.visit
    rules = await load_rules(session, config, visit.clinic_id, now)
    if not is_open(visit.status):
        return ChangeResult("patient.visits.closed")
    if not in_time(rules, visit, now):
        return ChangeResult("patient.visits.too_late", {"phone": config.clinic.phone})
    nurse_id = visit.nurse_id
    try:
        await change_status(
            session,
            visit,
            VisitStatus.CANCELLED_BY_PATIENT,
            Actor.PATIENT,
            account.id,
            reason[:REASON_MAX],
            now,
        )
    except TransitionError as exc:
        return ChangeResult(exc.locale_key)
    visit.cancel_reason = reason[:REASON_MAX]
    await sync_visit_reminders(session, visit, config, now)
    # Its route stop goes and a planned day is re-planned (the nurse's route closes the gap).
    await planning.on_visit_cancelled(session, visit, now)
    if not tell:
        return ChangeResult()
    await tell_staff(
        session,
        config,
        visit,
        "cancelled",
        nurse_id=nurse_id,
        reason=reason,
        now=now,
        notes=notes,
    )
    return ChangeResult()


async def reschedule_visit(
    session: AsyncSession,
    *,
    config: Config,
    account: Account,
    item: VisitItem,
    day: date,
    window: TimeWindow,
    now: datetime,
    notes: Notes | None = None,
) -> ChangeResult:
    """Move the visit to another day/window; capacity moves with it, atomically."""
    visit = item.visit
    rules = await load_rules(session, config, visit.clinic_id, now)
    if not is_open(visit.status) or not can_reschedule(visit.status, Actor.PATIENT):
        return ChangeResult("patient.visits.closed")
    old_day, old_window = visit.day, window_of(visit)
    if not in_time(rules, visit, now):
        return ChangeResult("patient.visits.too_late", {"phone": config.clinic.phone})
    if (day, window) == (old_day, old_window):
        return ChangeResult("patient.visits.same_slot")
    service = config.service(visit.service_type)
    if service is None:
        return ChangeResult("patient.visits.closed")
    # Capacity moves with the visit; one not placed has none left to move (it was given back).
    if day != old_day or visit.capacity_min == 0:
        decision = await check_slot(session, config, visit.clinic_id, service, day, window, now)
        if not decision.ok:
            return _refused(decision)
        if await open_visit_on(session, visit.patient_id, day, except_visit=visit.id):
            return ChangeResult("patient.book.duplicate")
        needed = visit.capacity_min or visit_capacity_minutes(visit.duration_min)
        if not await take_capacity(session, config, visit.clinic_id, day, needed, now):
            return ChangeResult("booking.refused.no_capacity")
        await release_capacity(session, visit, now)
        visit.capacity_min = needed
    else:
        decision = check_booking(rules, now, day, window)
        if not decision.ok:
            return _refused(decision)
    nurse_id = visit.nurse_id
    was_planned = visit.status != VisitStatus.REQUESTED.value
    note = f"{old_day.isoformat()} {old_window.key} -> {day.isoformat()} {window.key}"
    if visit.status != VisitStatus.REQUESTED.value:
        try:
            await change_status(
                session, visit, VisitStatus.REQUESTED, Actor.PATIENT, account.id, note, now
            )
        except TransitionError as exc:
            return ChangeResult(exc.locale_key)
    visit.day = day
    visit.window_start = window.start
    visit.window_end = window.end
    visit.updated_at = now
    await record_event(
        session,
        visit,
        {
            "event": "moved",
            "from": {"day": old_day.isoformat(), "window": old_window.key},
            "to": {"day": day.isoformat(), "window": window.key},
        },
        Actor.PATIENT,
        account.id,
        now,
    )
    await sync_visit_reminders(session, visit, config, now)
    if was_planned:
        await planning.on_visit_moved(session, visit, old_day, now)
    await tell_staff(
        session,
        config,
        visit,
        "rescheduled",
        nurse_id=nurse_id,
        old_day=old_day,
        old_window=old_window,
        now=now,
        notes=notes,
    )
    return ChangeResult()
