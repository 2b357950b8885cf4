"""A nurse's day as she sees it, and the morning digest that brings it to her.

`load_nurse_day` reads one nurse's visits for a day (in route order, with what she needs at the
door: patient first name and age, address with landmark, service, the one-line complaint, the
position for the map). Only this nurse's own visits are read; callers pass the nurse of the
person asking, so an address reaches no one else.

`queue_route_digests` sends each nurse with visits on the day one message (stops in order with
time, the Google Maps link(s) for the whole route) and the route picture (PNG drawn offline), once
per nurse and day (outbox `dedupe_key`), so a job that runs twice sends nothing twice. The same
function sends an updated route after a same-day re-plan (keyed by the plan run).

Both are intents (templates "nurse.route_digest" and "nurse.route_map" in bot/templates/nurse.py)
carrying the day as plain values (`day_params`, read back with `nurse_day_from`): the text is
written and the picture drawn when the relay sends them, in the nurse's language of that moment.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from html import escape
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Account, Nurse, NurseLeave, Patient, Route, Visit
from db.services import nurse_audit, outbox
from db.services.planning import PLANNABLE, STARTED, digest_key, patient_positions
from db.session import Database
from homecare.config import Config
from scheduler.planner.model import GeoPoint

COMPLAINT_MAX = 120
# A digest longer than one Telegram message (4096 characters) is sent in parts, each with whole
# stops. The split is made here, when queueing, from the typed text's length (escaped) plus a
# generous allowance per stop for the labels, time and service name of any language.
PART_BUDGET = 3400
STOP_ALLOWANCE = 250
SHOWN = sorted(PLANNABLE | STARTED)


@dataclass(frozen=True)
class StopView:
    visit_id: int
    seq: int
    code: str
    status: str
    service_type: str
    priority: str
    start: time | None  # planned start of service, clinic-local
    end: time | None
    window: tuple[time, time]
    patient_first_name: str
    age: int | None
    address: str
    rt_rw: str
    kelurahan: str
    landmark: str
    phone: str
    complaint: str
    lat: float
    lon: float
    approximate: bool


@dataclass(frozen=True)
class NurseDay:
    nurse_id: int
    nurse_name: str
    day: date
    stops: tuple[StopView, ...]
    planned: bool  # the day has been planned (routes exist for the clinic)
    away: bool  # whole day of leave
    leave_kind: str | None
    shift: tuple[time, time] | None
    travel_min: int
    distance_km: float
    clinic: GeoPoint

    @property
    def open_stops(self) -> tuple[StopView, ...]:
        return tuple(s for s in self.stops if s.status in ("scheduled", "confirmed"))


def age_on(birth: date | None, day: date) -> int | None:
    if birth is None:
        return None
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def one_line(text: str | None, limit: int = COMPLAINT_MAX) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


async def load_nurse_day(
    session: AsyncSession, config: Config, nurse: Nurse, day: date
) -> NurseDay:
    """The nurse's own visits for `day`, in route order (then planned time)."""
    tz = config.clinic.tz
    rows = list(
        await session.execute(
            select(Visit, Patient)
            .join(Patient, Patient.id == Visit.patient_id)
            .where(
                Visit.nurse_id == nurse.id,
                Visit.day == day,
                Visit.clinic_id == nurse.clinic_id,
                Visit.status.in_(SHOWN),
            )
        )
    )
    route = await session.scalar(select(Route).where(Route.nurse_id == nurse.id, Route.day == day))
    planned_day = (
        await session.scalar(
            select(Route.id).where(Route.clinic_id == nurse.clinic_id, Route.day == day).limit(1)
        )
    ) is not None
    order = {s.visit_id: s.seq for s in route.stops} if route is not None else {}
    positions = await patient_positions(session, config, nurse.clinic_id, [p for _, p in rows])
    far = datetime.max.time()

    def key(pair: tuple[Visit, Patient]) -> tuple[int, time, int]:
        v = pair[0]
        start = v.planned_start.astimezone(tz).time() if v.planned_start else far
        return order.get(v.id, 10_000), start, v.id

    stops = []
    for seq, (v, p) in enumerate(sorted(rows, key=key), start=1):
        lat, lon, approximate = positions[p.id]
        stops.append(
            StopView(
                visit_id=v.id,
                seq=seq,
                code=v.code,
                status=v.status,
                service_type=v.service_type,
                priority=v.priority,
                start=v.planned_start.astimezone(tz).time() if v.planned_start else None,
                end=v.planned_end.astimezone(tz).time() if v.planned_end else None,
                window=(v.window_start, v.window_end),
                patient_first_name=(p.full_name or "").split()[0] if p.full_name else "",
                age=age_on(p.birth_date, day),
                address=p.address or "",
                rt_rw=p.rt_rw or "",
                kelurahan=p.kelurahan or "",
                landmark=p.landmark or "",
                phone=p.phone or "",
                complaint=one_line(v.complaint),
                lat=lat,
                lon=lon,
                approximate=approximate,
            )
        )
    leave = await session.scalar(
        select(NurseLeave).where(NurseLeave.nurse_id == nurse.id, NurseLeave.day == day)
    )
    away = leave is not None and (leave.available_from is None or leave.available_until is None)
    shift: tuple[time, time] | None = (nurse.shift_start, nurse.shift_end)
    if leave is not None:
        if away:
            shift = None
        elif leave.available_from is not None and leave.available_until is not None:
            shift = (
                max(nurse.shift_start, leave.available_from),
                min(nurse.shift_end, leave.available_until),
            )
    return NurseDay(
        nurse_id=nurse.id,
        nurse_name=nurse.name,
        day=day,
        stops=tuple(stops),
        planned=planned_day,
        away=away,
        leave_kind=leave.kind if leave is not None else None,
        shift=shift,
        travel_min=round(route.travel_s / 60) if route is not None else 0,
        distance_km=round(route.distance_m / 1000, 1) if route is not None else 0.0,
        clinic=GeoPoint(config.clinic.location.lat, config.clinic.location.lon),
    )


# --- the digest --------------------------------------------------------------------------------


def day_params(nurse_day: NurseDay) -> dict[str, Any]:
    """The day as intent parameters (plain values; see db/intents.py)."""
    return dataclasses.asdict(nurse_day)


def nurse_day_from(p: Mapping[str, Any]) -> NurseDay:
    """`day_params` read back (lists become the tuples the dataclasses hold)."""
    stops = tuple(StopView(**{**s, "window": tuple(s["window"])}) for s in p["stops"])
    shift = p["shift"]
    return NurseDay(
        **{
            **p,
            "stops": stops,
            "shift": tuple(shift) if shift is not None else None,
            "clinic": GeoPoint(**p["clinic"]),
        }
    )


def digest_parts(nurse_day: NurseDay) -> list[int]:
    """How many stops each message of the digest holds (see PART_BUDGET); one part normally."""
    parts: list[int] = []
    size = count = 0
    for s in nurse_day.stops:
        typed = (s.patient_first_name, s.address, s.rt_rw, s.kelurahan, s.landmark, s.complaint)
        cost = STOP_ALLOWANCE + sum(len(escape(t)) for t in typed)
        if count and size + cost > PART_BUDGET:
            parts.append(count)
            size = count = 0
        size += cost
        count += 1
    return [*parts, count]


async def queue_route_digests(
    db: Database,
    config: Config,
    clinic_id: int,
    day: date,
    now: datetime,
    *,
    nurse_ids: Iterable[int] | None = None,
    update_of_run: int | None = None,
) -> int:
    """Queue each nurse's route for `day` (text + picture); returns how many nurses got one.

    Without `update_of_run` this is the morning digest: once per nurse and day. With it, the
    route changed by that plan run is sent again ("route updated"), once per run and nurse.
    """
    wanted = set(nurse_ids) if nurse_ids is not None else None
    prepared: list[tuple[NurseDay, int, int]] = []
    async with db.read() as session:
        nurses = list(
            await session.scalars(
                select(Nurse).where(Nurse.clinic_id == clinic_id).order_by(Nurse.id)
            )
        )
        for nurse in nurses:
            if wanted is not None and nurse.id not in wanted:
                continue
            if nurse.account_id is None:
                continue
            account = await session.get(Account, nurse.account_id)
            if account is None or account.deleted_at is not None:
                continue
            nurse_day = await load_nurse_day(session, config, nurse, day)
            if not nurse_day.stops and update_of_run is None:
                continue
            prepared.append((nurse_day, account.id, account.chat_id))
    if not prepared:
        return 0
    kind = "update" if update_of_run is not None else "digest"
    sent = 0
    async with db.transaction() as session:
        for nurse_day, account_id, chat_id in prepared:
            base = (
                f"route-update:{update_of_run}:{nurse_day.nurse_id}"
                if update_of_run is not None
                else digest_key(nurse_day.nurse_id, day)
            )
            queued = await _queue_nurse(
                session, clinic_id, nurse_day, kind, account_id, chat_id, base
            )
            sent += queued
            if queued and nurse_day.stops:  # the digest shows her the day's patients
                seen = [s.visit_id for s in nurse_day.stops]
                await nurse_audit.route_viewed(session, clinic_id, account_id, seen, now)
    return sent


async def _queue_nurse(
    session: AsyncSession,
    clinic_id: int,
    nurse_day: NurseDay,
    kind: str,
    account_id: int,
    chat_id: int,
    base: str,
) -> int:
    params = day_params(nurse_day)
    parts = digest_parts(nurse_day)
    first = None
    for i in range(len(parts)):
        row = await outbox.tell(
            session,
            chat_id=chat_id,
            template="nurse.route_digest",
            params={"day": params, "kind": kind, "part": i, "parts": parts},
            kind="route_digest",
            clinic_id=clinic_id,
            account_id=account_id,
            dedupe_key=base if i == 0 else f"{base}:{i}",
        )
        first = first if first is not None else row
    if first is None:
        return 0  # queued before: the job ran twice
    if nurse_day.stops:
        await outbox.tell(
            session,
            chat_id=chat_id,
            template="nurse.route_map",
            params={"day": params},
            kind="route_map",
            method="sendPhoto",
            clinic_id=clinic_id,
            account_id=account_id,
            dedupe_key=f"{base}:map",
        )
    return 1


def stops_of(nurse_day: NurseDay, ids: Sequence[int]) -> list[StopView]:
    wanted = set(ids)
    return [s for s in nurse_day.stops if s.visit_id in wanted]
