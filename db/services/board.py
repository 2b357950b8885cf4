"""Today's board for the clinic heads: per nurse the day's visits, late and missed ones flagged,
and the requests that still need a person (unconfirmed, not placed).

`flag_for` is the pure rule; `load` reads one day of one clinic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Nurse, NurseLeave, Patient, Visit

# A nurse who has not set off this long after the planned start is late.
LATE_AFTER = timedelta(minutes=15)
NOT_STARTED = frozenset({"scheduled", "confirmed"})
ACTIVE_TODAY = frozenset(
    {"scheduled", "confirmed", "on_the_way", "arrived", "completed", "not_home", "referred"}
)
MAX_LISTED = 15


def flag_for(
    status: str,
    day: date,
    window_end: time,
    planned_start: datetime | None,
    window_start: time,
    now: datetime,
    tz: ZoneInfo,
) -> str | None:
    """ "missed" when the window has passed with no one at the door, "late" when the nurse has not
    set off (or not arrived) past the planned start, else None."""
    end = datetime.combine(day, window_end, tz)
    start = planned_start or datetime.combine(day, window_start, tz)
    if status in NOT_STARTED:
        if now > end:
            return "missed"
        if now > start + LATE_AFTER:
            return "late"
    elif status == "on_the_way" and now > end:
        return "late"
    return None


@dataclass(frozen=True)
class BoardVisit:
    visit_id: int
    code: str
    day: date
    window_start: time
    window_end: time
    planned_start: datetime | None  # clinic-local
    status: str
    flag: str | None
    patient_first_name: str
    kelurahan: str
    service_type: str
    priority: str


@dataclass(frozen=True)
class BoardNurse:
    nurse_id: int
    name: str
    on_leave: bool
    visits: tuple[BoardVisit, ...]

    @property
    def done(self) -> int:
        return sum(1 for v in self.visits if v.status == "completed")


@dataclass(frozen=True)
class Board:
    day: date
    at: datetime  # clinic-local time the board was made
    nurses: tuple[BoardNurse, ...]
    unassigned: tuple[BoardVisit, ...]  # planned statuses without a nurse (needs a hand)
    unconfirmed: tuple[BoardVisit, ...]
    unplaced: tuple[BoardVisit, ...]
    unconfirmed_total: int
    unplaced_total: int

    @property
    def late(self) -> int:
        return sum(1 for n in self.nurses for v in n.visits if v.flag == "late")

    @property
    def missed(self) -> int:
        return sum(1 for n in self.nurses for v in n.visits if v.flag == "missed")


def _first_name(full: str | None) -> str:
    return (full or "").split(" ")[0] or "—"


def _board_visit(v: Visit, p: Patient, now: datetime, tz: ZoneInfo) -> BoardVisit:
    planned = v.planned_start.astimezone(tz) if v.planned_start else None
    return BoardVisit(
        visit_id=v.id,
        code=v.code,
        day=v.day,
        window_start=v.window_start,
        window_end=v.window_end,
        planned_start=planned,
        status=v.status,
        flag=flag_for(v.status, v.day, v.window_end, planned, v.window_start, now, tz),
        patient_first_name=_first_name(p.full_name),
        kelurahan=p.kelurahan or "—",
        service_type=v.service_type,
        priority=v.priority,
    )


def _order(v: BoardVisit) -> tuple[time, int]:
    return (v.planned_start.time() if v.planned_start else v.window_start, v.visit_id)


async def load(session: AsyncSession, clinic_id: int, now: datetime, tz: ZoneInfo) -> Board:
    local = now.astimezone(tz)
    today = local.date()
    tomorrow = today + timedelta(days=1)
    rows = list(
        await session.execute(
            select(Visit, Patient)
            .join(Patient, Patient.id == Visit.patient_id)
            .where(Visit.clinic_id == clinic_id, Visit.day == today)
        )
    )
    by_nurse: dict[int, list[BoardVisit]] = {}
    unassigned: list[BoardVisit] = []
    for v, p in rows:
        if v.status not in ACTIVE_TODAY:
            continue
        bv = _board_visit(v, p, now, tz)
        if v.nurse_id is None:
            unassigned.append(bv)
        else:
            by_nurse.setdefault(v.nurse_id, []).append(bv)
    nurses = list(
        await session.scalars(
            select(Nurse).where(Nurse.clinic_id == clinic_id).order_by(Nurse.name, Nurse.id)
        )
    )
    on_leave = set(
        await session.scalars(
            select(NurseLeave.nurse_id).where(
                NurseLeave.day == today,
                NurseLeave.approved.is_(True),
                NurseLeave.available_from.is_(None),
                NurseLeave.nurse_id.in_([n.id for n in nurses] or [0]),
            )
        )
    )
    board_nurses = tuple(
        BoardNurse(
            n.id,
            n.name,
            n.id in on_leave,
            tuple(sorted(by_nurse.get(n.id, []), key=_order)),
        )
        for n in nurses
        if n.active or n.id in by_nurse
    )

    pending = list(
        await session.execute(
            select(Visit, Patient)
            .join(Patient, Patient.id == Visit.patient_id)
            .where(
                Visit.clinic_id == clinic_id,
                ((Visit.status == "scheduled") & (Visit.day >= today) & (Visit.day <= tomorrow))
                | ((Visit.status == "unplaced") & (Visit.day >= today - timedelta(days=7))),
            )
            .order_by(Visit.day, Visit.window_start, Visit.id)
        )
    )
    unconfirmed = [
        _board_visit(v, p, now, tz)
        for v, p in pending
        if v.status == "scheduled" and v.confirmation != "yes"
    ]
    unplaced = [_board_visit(v, p, now, tz) for v, p in pending if v.status == "unplaced"]
    return Board(
        day=today,
        at=local,
        nurses=board_nurses,
        unassigned=tuple(sorted(unassigned, key=_order)),
        unconfirmed=tuple(unconfirmed[:MAX_LISTED]),
        unplaced=tuple(unplaced[:MAX_LISTED]),
        unconfirmed_total=len(unconfirmed),
        unplaced_total=len(unplaced),
    )
