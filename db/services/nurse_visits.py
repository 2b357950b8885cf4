"""What a nurse does with her visits in the bot: leave, arrive, finish, not at home; and leave days.

Every status change goes through `db.services.visit_status.change_status` with actor "nurse" and
her account, so the history shows who did what and when. Records come only through
`db.services.access` (her own assigned visits); a forged or stale button changes nothing and gets
a clear answer (`ActionResult.refusal` names a locale key).

Times the family hears:
* "Berangkat": an ETA = now + travel from where she is (the last home she visited today, else the
  clinic) to the patient, by the configured travel model (great-circle × road factor at the set
  speed; no network call inside a button press), rounded up to 5 minutes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Account, Nurse, NurseLeave, Patient, StaffTask, Visit
from db.services import outbox
from db.services.feedback import queue_feedback_request
from db.services.patients import patient_accounts
from db.services.planning import patient_positions
from db.services.reminders import sync_visit_reminders
from db.services.visit_status import change_status
from homecare.config import Config
from scheduler.booking import BookingRules, is_working_day
from scheduler.planner.model import GeoPoint
from scheduler.planner.travel import estimate_matrix
from scheduler.visits import Actor, TransitionError, VisitStatus

S = VisitStatus
NOTE_MAX = 1000
ETA_STEP_MIN = 5
LEAVE_MAX_DAYS = 14
LEAVE_AHEAD_DAYS = 90


@dataclass(frozen=True)
class ActionResult:
    """`refusal` is a locale key (with `params`) when nothing changed; the values of `key_params`
    are locale keys too, translated for whoever is shown the refusal."""

    refusal: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    key_params: dict[str, str] = field(default_factory=dict)
    day_params: dict[str, date] = field(default_factory=dict)  # written in the reader's style
    eta: time | None = None
    told: int = 0  # family accounts messaged

    @property
    def ok(self) -> bool:
        return self.refusal is None


def _refuse(key: str, **params: str) -> ActionResult:
    return ActionResult(refusal=key, params=params)


def _first_name(name: str | None) -> str:
    return name.split()[0] if name and name.strip() else ""


def check_today(config: Config, visit: Visit, now: datetime) -> ActionResult | None:
    """Going, arriving and finishing happen on the visit's day only."""
    today = now.astimezone(config.clinic.tz).date()
    if visit.day != today:
        return ActionResult(refusal="nurse.not_today", day_params={"day": visit.day})
    return None


async def _move(
    session: AsyncSession,
    config: Config,
    visit: Visit,
    target: VisitStatus,
    account: Account,
    now: datetime,
    note: str | None = None,
) -> ActionResult | None:
    try:
        await change_status(session, visit, target, Actor.NURSE, account.id, note, now)
    except TransitionError as exc:
        return ActionResult(
            refusal="nurse.stale_status",
            key_params={"status": f"visit.status.{visit.status}", "reason": exc.locale_key},
        )
    # Reminders follow the status (none "before arrival" once she is on her way).
    await sync_visit_reminders(session, visit, config, now)
    return None


def round_up(moment: datetime, minutes: int = ETA_STEP_MIN) -> datetime:
    base = moment.replace(second=0, microsecond=0)
    if base < moment:
        base += timedelta(minutes=1)
    extra = (-base.minute) % minutes
    return base + timedelta(minutes=extra)


async def travel_eta(
    session: AsyncSession, config: Config, nurse: Nurse, visit: Visit, now: datetime
) -> datetime:
    """When she will be there if she leaves now (see the module docstring)."""
    last = await session.scalar(
        select(Visit)
        .where(
            Visit.nurse_id == nurse.id,
            Visit.day == visit.day,
            Visit.id != visit.id,
            Visit.status.in_(
                [S.ARRIVED.value, S.COMPLETED.value, S.NOT_HOME.value, S.REFERRED.value]
            ),
        )
        .order_by(Visit.updated_at.desc(), Visit.id.desc())
        .limit(1)
    )
    patients = [p for p in [await session.get(Patient, visit.patient_id)] if p is not None]
    if last is not None:
        previous = await session.get(Patient, last.patient_id)
        if previous is not None:
            patients.append(previous)
    where = await patient_positions(session, config, visit.clinic_id, patients)
    clinic = config.clinic.location
    here = GeoPoint(clinic.lat, clinic.lon)
    if last is not None and last.patient_id in where:
        lat, lon, _ = where[last.patient_id]
        here = GeoPoint(lat, lon)
    lat, lon, _ = where[visit.patient_id]
    matrix = estimate_matrix(
        [here, GeoPoint(lat, lon)], config.planner.speed_kmh, config.planner.road_factor
    )
    return round_up(now + timedelta(seconds=matrix.durations_s[0][1]))


async def _tell_family(
    session: AsyncSession,
    visit: Visit,
    kind: str,
    template: str,
    params: dict[str, Any],
    key: str,
) -> int:
    told = 0
    for account in await patient_accounts(session, visit.patient_id):
        row = await outbox.tell(
            session,
            chat_id=account.chat_id,
            template=template,
            params=params,
            kind=kind,
            clinic_id=visit.clinic_id,
            account_id=account.id,
            dedupe_key=f"{key}:{account.id}",
        )
        told += row is not None
    return told


async def depart(
    session: AsyncSession,
    config: Config,
    nurse: Nurse,
    account: Account,
    visit: Visit,
    now: datetime,
) -> ActionResult:
    """ "Berangkat": on the way; the family gets the ETA."""
    refused = check_today(config, visit, now) or await _move(
        session, config, visit, S.ON_THE_WAY, account, now
    )
    if refused:
        return refused
    eta = await travel_eta(session, config, nurse, visit, now)
    local = eta.astimezone(config.clinic.tz).time()
    patient = await session.get(Patient, visit.patient_id)
    first = _first_name(nurse.name)
    told = await _tell_family(
        session,
        visit,
        "eta",
        "nurse.family_eta",
        {
            "nurse_first": first,
            "eta": local,
            "patient_first": _first_name(patient.full_name if patient else None),
        },
        f"eta:{visit.id}:{now.timestamp():.0f}",
    )
    return ActionResult(eta=local, told=told)


async def arrive(
    session: AsyncSession, config: Config, account: Account, visit: Visit, now: datetime
) -> ActionResult:
    """ "Tiba": at the home; service starts."""
    refused = check_today(config, visit, now) or await _move(
        session, config, visit, S.ARRIVED, account, now
    )
    if refused:
        return refused
    visit.started_at = now
    return ActionResult()


def can_complete(visit: Visit) -> bool:
    return visit.status == S.ARRIVED.value


def stale(visit: Visit) -> ActionResult:
    """The button no longer fits the visit's status (someone else moved it)."""
    return ActionResult(
        refusal="nurse.stale_status",
        key_params={"status": f"visit.status.{visit.status}", "reason": "visit.error.not_allowed"},
    )


def check_completable(config: Config, visit: Visit, now: datetime) -> ActionResult | None:
    """ "Selesai" fits on the visit's day, once she has arrived."""
    return check_today(config, visit, now) or (None if can_complete(visit) else stale(visit))


_BEFORE_ARRIVAL = (S.SCHEDULED.value, S.CONFIRMED.value, S.ON_THE_WAY.value)


def check_not_home(config: Config, visit: Visit, now: datetime) -> ActionResult | None:
    """ "Tidak di rumah" fits until she has finished, on the visit's day."""
    if visit.status not in (*_BEFORE_ARRIVAL, S.ARRIVED.value):
        return stale(visit)
    return check_today(config, visit, now)


def check_cannot_come(visit: Visit) -> ActionResult | None:
    """ "Tidak bisa datang" fits until she has arrived, on any day (asking is harmless)."""
    return None if visit.status in _BEFORE_ARRIVAL else stale(visit)


def check_replan(config: Config, visit: Visit, now: datetime) -> ActionResult | None:
    """Carrying out "tidak bisa datang": a visit of a past day is not re-planned."""
    refused = check_cannot_come(visit)
    if refused is None and visit.day < now.astimezone(config.clinic.tz).date():
        return check_today(config, visit, now) or stale(visit)
    return refused


async def complete(
    session: AsyncSession,
    config: Config,
    nurse: Nurse,
    account: Account,
    visit: Visit,
    now: datetime,
    *,
    note: str | None,
    vitals: dict[str, object] | None,
) -> ActionResult:
    """ "Selesai": done, with the note and vitals already checked by the caller; the patient's
    last nurse becomes her (continuity) and the family is asked for feedback."""
    refused = check_today(config, visit, now) or await _move(
        session, config, visit, S.COMPLETED, account, now, note=None
    )
    if refused:
        return refused
    visit.nurse_note = note or None
    visit.vitals = vitals or None
    visit.completed_at = now
    patient = await session.get(Patient, visit.patient_id)
    if patient is not None:
        patient.last_nurse_id = nurse.id
    told = await queue_feedback_request(session, visit, now)
    return ActionResult(told=told)


async def not_home(
    session: AsyncSession,
    config: Config,
    nurse: Nurse,
    account: Account,
    visit: Visit,
    now: datetime,
) -> ActionResult:
    """ "Pasien tidak di rumah": the visit ends; the family hears how to book again and the
    heads get a task to phone them."""
    refused = check_today(config, visit, now) or await _move(
        session, config, visit, S.NOT_HOME, account, now
    )
    if refused:
        return refused
    patient = await session.get(Patient, visit.patient_id)
    first = _first_name(nurse.name)
    told = await _tell_family(
        session,
        visit,
        "not_home",
        "nurse.family_not_home",
        {"nurse_first": first, "code": visit.code},
        f"not-home:{visit.id}",
    )
    session.add(
        StaffTask(
            clinic_id=visit.clinic_id,
            kind="not_home",
            patient_id=visit.patient_id,
            visit_id=visit.id,
            account_id=account.id,
            detail=(
                f"{visit.code}: {nurse.name} found nobody at home"
                f" ({_first_name(patient.full_name if patient else None)})"
            )[:300],
            created_at=now,
        )
    )
    return ActionResult(told=told)


# --- leave days ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LeaveResult:
    saved: tuple[date, ...] = ()
    already: tuple[date, ...] = ()
    skipped: tuple[date, ...] = ()  # not working days
    refusal: str | None = None
    params: dict[str, str] = field(default_factory=dict)


def leave_days(
    rules: BookingRules, first: date, last: date, today: date
) -> tuple[list[date], list[date]] | str:
    """(working days, other days) in first..last, or a refusal locale key."""
    if last < first:
        return "nurse.leave.bad_order"
    if first <= today:
        return "nurse.leave.too_soon"
    if (last - first).days + 1 > LEAVE_MAX_DAYS:
        return "nurse.leave.too_long"
    if (first - today).days > LEAVE_AHEAD_DAYS:
        return "nurse.leave.too_far"
    working: list[date] = []
    other: list[date] = []
    day = first
    while day <= last:
        (working if is_working_day(rules, day) else other).append(day)
        day += timedelta(days=1)
    return working, other


async def declare_leave(
    session: AsyncSession,
    rules: BookingRules,
    nurse: Nurse,
    account: Account,
    first: date,
    last: date,
    now: datetime,
) -> LeaveResult:
    """Declare whole days of leave (pending a head's approval); heads get a staff task."""
    today = now.astimezone(rules.timezone).date()
    days = leave_days(rules, first, last, today)
    if isinstance(days, str):
        return LeaveResult(refusal=days, params={"max": str(LEAVE_MAX_DAYS)})
    working, other = days
    existing = set(
        await session.scalars(
            select(NurseLeave.day).where(
                NurseLeave.nurse_id == nurse.id, NurseLeave.day.in_(working)
            )
        )
    )
    saved = [d for d in working if d not in existing]
    for day in saved:
        session.add(NurseLeave(nurse_id=nurse.id, day=day, kind="leave", approved=False))
    if saved:
        span = saved[0].isoformat() if len(saved) == 1 else f"{saved[0]}..{saved[-1]}"
        session.add(
            StaffTask(
                clinic_id=nurse.clinic_id,
                kind="leave_request",
                account_id=account.id,
                detail=f"{nurse.name}: leave {span} ({len(saved)} days) to approve"[:300],
                created_at=now,
            )
        )
    await session.flush()
    return LeaveResult(saved=tuple(saved), already=tuple(sorted(existing)), skipped=tuple(other))


async def upcoming_leave(session: AsyncSession, nurse: Nurse, today: date) -> Sequence[NurseLeave]:
    return list(
        await session.scalars(
            select(NurseLeave)
            .where(NurseLeave.nurse_id == nurse.id, NurseLeave.day >= today)
            .order_by(NurseLeave.day)
            .limit(30)
        )
    )
