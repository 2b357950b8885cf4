"""The heads' staff work: nurses' skills, daily cap, active flag, leave, and reassigning a visit.

Every function takes the head's clinic and loads records through `db.services.access`, so an id
from another clinic (a forged button) finds nothing. Messages to the people concerned are the
caller's: the functions return who is affected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    Account,
    AccountRole,
    Nurse,
    NurseLeave,
    Patient,
    PatientLink,
    Route,
    RouteStop,
    Visit,
)
from db.services import access, audit, console_auth

MIN_CAP, MAX_CAP = 1, 20
LEAVE_KINDS = ("leave", "sick", "training")
LEAVE_DAYS_AHEAD = 60
REASSIGNABLE = frozenset({"scheduled", "confirmed"})
OPEN_ASSIGNED = ("scheduled", "confirmed", "on_the_way", "arrived")


def can_reassign(status: str, day: date, today: date) -> bool:
    """A head may move a visit to another nurse before it starts, from today on."""
    return status in REASSIGNABLE and day >= today


class StaffError(Exception):
    """A refused change; `code` is the locale key's last part (``head.staff_error.<code>``)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def skills_offered(services: Sequence[Any]) -> list[str]:
    """Every skill some service needs, in first-use order (config.services)."""
    out: list[str] = []
    for s in services:
        for skill in s.skills:
            if skill not in out:
                out.append(skill)
    return out


@dataclass(frozen=True)
class NurseSummary:
    nurse_id: int
    name: str
    active: bool
    linked: bool
    skills: tuple[str, ...]
    daily_cap: int
    visits_today: int
    pending_leave: int
    ihs_number: str | None = None  # SATUSEHAT's practitioner number (db/services/nurse_ihs.py)


async def list_nurses(session: AsyncSession, clinic_id: int, today: date) -> list[NurseSummary]:
    nurses = list(
        await session.scalars(
            select(Nurse)
            .where(Nurse.clinic_id == clinic_id)
            .order_by(Nurse.active.desc(), Nurse.name, Nurse.id)
        )
    )
    ids = [n.id for n in nurses] or [0]
    today_counts: dict[int | None, int] = {
        k: n
        for k, n in (
            await session.execute(
                select(Visit.nurse_id, func.count())
                .where(Visit.nurse_id.in_(ids), Visit.day == today)
                .group_by(Visit.nurse_id)
            )
        )
    }
    leave_counts: dict[int, int] = {
        k: n
        for k, n in (
            await session.execute(
                select(NurseLeave.nurse_id, func.count())
                .where(
                    NurseLeave.nurse_id.in_(ids),
                    NurseLeave.approved.is_(False),
                    NurseLeave.day >= today,
                )
                .group_by(NurseLeave.nurse_id)
            )
        )
    }
    return [
        NurseSummary(
            n.id,
            n.name,
            n.active,
            n.account_id is not None,
            tuple(n.skills or ()),
            n.daily_cap,
            today_counts.get(n.id, 0),
            leave_counts.get(n.id, 0),
            n.ihs_number,
        )
        for n in nurses
    ]


async def _nurse(session: AsyncSession, clinic_id: int, nurse_id: int) -> Nurse:
    nurse = await access.head_nurse(session, clinic_id, nurse_id)
    if nurse is None:
        raise StaffError("unknown_nurse")
    return nurse


async def _record(
    session: AsyncSession, clinic_id: int, head: Account, action: str, subject: str, now: datetime
) -> None:
    await audit.append(
        session,
        clinic_id=clinic_id,
        actor_account_id=head.id,
        actor_role="head",
        action=action,
        subject=subject,
        at=now,
    )


async def toggle_skill(
    session: AsyncSession,
    clinic_id: int,
    nurse_id: int,
    skill: str,
    offered: Sequence[str],
    head: Account,
    now: datetime,
) -> Nurse:
    if skill not in offered:
        raise StaffError("unknown_skill")
    nurse = await _nurse(session, clinic_id, nurse_id)
    skills = list(nurse.skills or [])
    if skill in skills:
        skills.remove(skill)
    else:
        skills.append(skill)
    # A new list: the JSON column notices assignment, not mutation.
    nurse.skills = [s for s in offered if s in skills]
    await _record(session, clinic_id, head, audit.NURSE_CHANGED, f"nurse:{nurse.id}:skills", now)
    return nurse


async def change_cap(
    session: AsyncSession, clinic_id: int, nurse_id: int, delta: int, head: Account, now: datetime
) -> Nurse:
    nurse = await _nurse(session, clinic_id, nurse_id)
    cap = nurse.daily_cap + delta
    if not MIN_CAP <= cap <= MAX_CAP:
        raise StaffError("cap_range")
    nurse.daily_cap = cap
    await _record(session, clinic_id, head, audit.NURSE_CHANGED, f"nurse:{nurse.id}:cap", now)
    return nurse


@dataclass(frozen=True)
class ActiveChange:
    nurse: Nurse
    account: Account | None
    open_visits: int  # visits from today on still assigned to her (to reassign)


async def set_active(
    session: AsyncSession,
    clinic_id: int,
    nurse_id: int,
    active: bool,
    head: Account,
    now: datetime,
    today: date,
) -> ActiveChange:
    """(De)activate a nurse. Deactivating also takes the nurse role away, so her menu and
    commands go; her open visits stay assigned until a head reassigns them (counted)."""
    nurse = await _nurse(session, clinic_id, nurse_id)
    account = await session.get(Account, nurse.account_id) if nurse.account_id else None
    nurse.active = active
    if account is not None:
        if active:
            if not any(r.role == "nurse" and r.clinic_id == clinic_id for r in account.roles):
                account.roles.append(AccountRole(clinic_id=clinic_id, role="nurse"))
        else:
            for r in list(account.roles):
                if r.role == "nurse" and r.clinic_id == clinic_id:
                    account.roles.remove(r)
    open_visits = (
        await session.scalar(
            select(func.count())
            .select_from(Visit)
            .where(
                Visit.nurse_id == nurse.id,
                Visit.day >= today,
                Visit.status.in_(OPEN_ASSIGNED),
            )
        )
        or 0
    )
    what = "activated" if active else "deactivated"
    await _record(session, clinic_id, head, audit.NURSE_CHANGED, f"nurse:{nurse.id}:{what}", now)
    await session.flush()
    if account is not None and not console_auth.staff_roles(account, clinic_id):
        # No staff role left here: her console sessions end now (a later reactivation must
        # not bring an old browser session back).
        await console_auth.end_sessions(session, account.id, clinic_id, now)
    return ActiveChange(nurse, account, open_visits)


# --- leave ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeaveLine:
    leave_id: int
    day: date
    kind: str
    approved: bool


async def leave_of(session: AsyncSession, nurse_id: int, today: date) -> list[LeaveLine]:
    rows = await session.scalars(
        select(NurseLeave)
        .where(NurseLeave.nurse_id == nurse_id, NurseLeave.day >= today)
        .order_by(NurseLeave.day)
        .limit(20)
    )
    return [LeaveLine(r.id, r.day, r.kind, r.approved) for r in rows]


@dataclass(frozen=True)
class LeaveChange:
    nurse: Nurse
    account: Account | None
    day: date
    kind: str
    approved: bool
    visits_that_day: int
    # Refusing leave that was approved already takes it back ("removed", not "refused").
    was_approved: bool = False


async def _leave_change(
    session: AsyncSession, nurse: Nurse, leave: NurseLeave, approved: bool
) -> LeaveChange:
    account = await session.get(Account, nurse.account_id) if nurse.account_id else None
    visits = (
        await session.scalar(
            select(func.count())
            .select_from(Visit)
            .where(
                Visit.nurse_id == nurse.id,
                Visit.day == leave.day,
                Visit.status.in_(OPEN_ASSIGNED),
            )
        )
        or 0
    )
    return LeaveChange(nurse, account, leave.day, leave.kind, approved, visits, leave.approved)


async def _clinic_leave(session: AsyncSession, clinic_id: int, leave_id: int) -> NurseLeave:
    leave = await session.scalar(
        select(NurseLeave)
        .join(Nurse, Nurse.id == NurseLeave.nurse_id)
        .where(NurseLeave.id == leave_id, Nurse.clinic_id == clinic_id)
    )
    if leave is None:
        raise StaffError("unknown_leave")
    return leave


async def decide_leave(
    session: AsyncSession,
    clinic_id: int,
    leave_id: int,
    approve: bool,
    head: Account,
    now: datetime,
    today: date | None = None,
) -> LeaveChange:
    """Approve declared leave, or refuse it (the row is removed: the nurse works that day).
    With `today`, a day already past is left as it was (leave_day_range)."""
    leave = await _clinic_leave(session, clinic_id, leave_id)
    if today is not None and leave.day < today:
        raise StaffError("leave_day_range")
    nurse = await _nurse(session, clinic_id, leave.nurse_id)
    change = await _leave_change(session, nurse, leave, approve)
    if approve:
        leave.approved = True
    else:
        await session.execute(delete(NurseLeave).where(NurseLeave.id == leave.id))
    what = "leave_approved" if approve else "leave_refused"
    if not approve and change.was_approved:
        what = "leave_removed"
    await _record(session, clinic_id, head, audit.NURSE_CHANGED, f"nurse:{nurse.id}:{what}", now)
    await session.flush()
    await _replan_day(session, clinic_id, change.day, now, f"nurse {nurse.id} {what}")
    return change


def check_leave(day: date, kind: str, today: date) -> None:
    """The rule for leave a head records: a known kind, today up to LEAVE_DAYS_AHEAD ahead."""
    if kind not in LEAVE_KINDS:
        raise StaffError("unknown_leave_kind")
    if day < today or day > today + timedelta(days=LEAVE_DAYS_AHEAD):
        raise StaffError("leave_day_range")


async def record_leave(
    session: AsyncSession,
    clinic_id: int,
    nurse_id: int,
    day: date,
    kind: str,
    head: Account,
    now: datetime,
    today: date,
) -> LeaveChange:
    """Leave a head records (approved at once); an existing row that day is overwritten."""
    check_leave(day, kind, today)
    nurse = await _nurse(session, clinic_id, nurse_id)
    leave = await session.scalar(
        select(NurseLeave).where(NurseLeave.nurse_id == nurse.id, NurseLeave.day == day)
    )
    if leave is None:
        leave = NurseLeave(nurse_id=nurse.id, day=day, kind=kind, approved=True, created_at=now)
        session.add(leave)
    else:
        leave.kind = kind
        leave.approved = True
        leave.available_from = None
        leave.available_until = None
    await session.flush()
    await _record(session, clinic_id, head, audit.NURSE_CHANGED, f"nurse:{nurse.id}:leave", now)
    await _replan_day(session, clinic_id, day, now, f"nurse {nurse.id} leave recorded")
    return await _leave_change(session, nurse, leave, True)


async def _replan_day(
    session: AsyncSession, clinic_id: int, day: date, now: datetime, reason: str
) -> bool:
    """A planned day whose staffing changed is re-planned (her stops go to others)."""
    from db.services.planning import replan_if_planned  # heavy module: load on use

    return await replan_if_planned(session, clinic_id, day, now, reason)


# --- reassigning a visit -------------------------------------------------------------------------


@dataclass(frozen=True)
class Reassigned:
    visit: Visit
    patient: Patient
    old_nurse: Nurse | None
    old_account: Account | None
    new_nurse: Nurse
    new_account: Account | None
    family: tuple[Account, ...]  # accounts linked to the patient (self or caregiver)
    replanned: bool


def can_serve(nurse: Nurse, needed: Sequence[str]) -> bool:
    return set(needed) <= set(nurse.skills or ())


async def candidates(
    session: AsyncSession, clinic_id: int, visit: Visit, needed: Sequence[str]
) -> list[tuple[Nurse, bool]]:
    """Active nurses of the clinic other than the visit's, each with whether she has the skills
    and is not on whole-day leave that day."""
    nurses = list(
        await session.scalars(
            select(Nurse)
            .where(Nurse.clinic_id == clinic_id, Nurse.active.is_(True))
            .order_by(Nurse.name, Nurse.id)
        )
    )
    away = set(
        await session.scalars(
            select(NurseLeave.nurse_id).where(
                NurseLeave.day == visit.day,
                NurseLeave.approved.is_(True),
                NurseLeave.available_from.is_(None),
            )
        )
    )
    return [
        (n, can_serve(n, needed) and n.id not in away) for n in nurses if n.id != visit.nurse_id
    ]


async def reassign(
    session: AsyncSession,
    clinic_id: int,
    visit_id: int,
    nurse_id: int,
    needed: Sequence[str],
    head: Account,
    now: datetime,
    today: date,
) -> Reassigned:
    """Give a planned, not yet started visit to another nurse of the clinic.

    The visit keeps its planned times; its route stop moves to the new nurse's route for that
    day (created when she had none) and both routes are renumbered in time order. Then a
    re-plan of that day is queued (`db.services.planning.replan_after_reassign`), which re-times
    the rest of both nurses' day after the commit.
    """
    visit = await access.head_visit(session, clinic_id, visit_id)
    if visit is None:
        raise StaffError("unknown_visit")
    if not can_reassign(visit.status, visit.day, today):
        raise StaffError("not_reassignable")
    new = await _nurse(session, clinic_id, nurse_id)
    if not new.active:
        raise StaffError("nurse_inactive")
    if new.id == visit.nurse_id:
        raise StaffError("same_nurse")
    choices = dict((n.id, ok) for n, ok in await candidates(session, clinic_id, visit, needed))
    if not choices.get(new.id, False):
        raise StaffError("nurse_cannot_serve")
    old = await session.get(Nurse, visit.nurse_id) if visit.nurse_id else None
    visit.nurse_id = new.id
    visit.updated_at = now
    await _move_stop(session, clinic_id, visit, new.id, now)
    replanned = await _replan(session, clinic_id, visit, now)
    await _record(
        session, clinic_id, head, audit.VISIT_REASSIGNED, f"visit:{visit.id}:nurse:{new.id}", now
    )
    patient = await session.get(Patient, visit.patient_id)
    assert patient is not None
    family = tuple(
        await session.scalars(
            select(Account)
            .join(PatientLink, PatientLink.account_id == Account.id)
            .where(
                PatientLink.patient_id == patient.id,
                PatientLink.revoked_at.is_(None),
                Account.deleted_at.is_(None),
            )
        )
    )
    return Reassigned(
        visit=visit,
        patient=patient,
        old_nurse=old,
        old_account=await session.get(Account, old.account_id) if old and old.account_id else None,
        new_nurse=new,
        new_account=await session.get(Account, new.account_id) if new.account_id else None,
        family=family,
        replanned=replanned,
    )


async def _move_stop(
    session: AsyncSession, clinic_id: int, visit: Visit, nurse_id: int, now: datetime
) -> None:
    stop = await session.scalar(select(RouteStop).where(RouteStop.visit_id == visit.id))
    if stop is None:
        return
    old_route = await session.get(Route, stop.route_id)
    route = await session.scalar(
        select(Route).where(Route.nurse_id == nurse_id, Route.day == visit.day)
    )
    if route is None:
        route = Route(clinic_id=clinic_id, nurse_id=nurse_id, day=visit.day, updated_at=now)
        session.add(route)
        await session.flush()
    arrive, start, end = stop.arrive, stop.start, stop.end
    await session.delete(stop)
    await session.flush()
    session.add(
        RouteStop(
            route_id=route.id, visit_id=visit.id, seq=10_000, arrive=arrive, start=start, end=end
        )
    )
    await session.flush()
    for r in (old_route, route):
        if r is None:
            continue
        r.updated_at = now
        stops = list(
            await session.scalars(
                select(RouteStop).where(RouteStop.route_id == r.id).order_by(RouteStop.start)
            )
        )
        # Two passes keep (route_id, seq) unique while renumbering.
        for i, s in enumerate(stops):
            s.seq = 20_000 + i
        await session.flush()
        for i, s in enumerate(stops):
            s.seq = i + 1
        await session.flush()


async def _replan(session: AsyncSession, clinic_id: int, visit: Visit, now: datetime) -> bool:
    """Queue the planning service's re-plan of the visit's day (runs after the commit)."""
    from db.services.planning import replan_after_reassign  # heavy module: load on use

    await replan_after_reassign(session, clinic_id=clinic_id, day=visit.day, now=now)
    return True
