"""A staffed clinic for the nurse's tests: a head, two nurses and five families on the sandbox,
with visit requests for the next working day; plus small helpers to wait for the worker and to
check stored plans with the independent checker."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.app import HomecareApp
from db.models import Account, AccountRole, Nurse, Patient, PatientLink, PlanRun, Visit
from db.services.visit_status import record_created
from scheduler.planner.checker import check_plan
from scheduler.planner.io import parse_plan_request, plan_from_json

WITA = ZoneInfo("Asia/Makassar")
MONDAY = date(2027, 4, 12)  # Monday to Saturday of this week are working days
TUESDAY = MONDAY + timedelta(days=1)
START = datetime(2027, 4, 12, 17, 0, tzinfo=WITA)
CLINIC = (-5.1587, 119.4465)


def wita(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), WITA)


def near(north_m: float, east_m: float) -> tuple[float, float]:
    lat = CLINIC[0] + north_m / 111_320.0
    lon = CLINIC[1] + east_m / (111_320.0 * math.cos(math.radians(CLINIC[0])))
    return lat, lon


@dataclass
class Person:
    user: Any  # sandbox.client.SandboxUser
    account_id: int


@dataclass
class Clinic:
    head: Person
    siti: Person
    andi: Person
    siti_id: int
    andi_id: int
    families: list[Person] = field(default_factory=list)
    patients: list[int] = field(default_factory=list)
    visits: list[int] = field(default_factory=list)


async def _person(app: HomecareApp, client: Any, name: str, role: str, first: str) -> Person:
    user = await client.user(name, language_code="id", first_name=first, started=True)
    async with app.db.transaction() as s:
        account = Account(
            telegram_user_id=user.id,
            chat_id=user.id,
            first_name=first,
            language="id",
            language_chosen=True,
            roles=[AccountRole(clinic_id=app.clinic_id, role=role)],
        )
        s.add(account)
        await s.flush()
        return Person(user, account.id)


async def _nurse(app: HomecareApp, person: Person, name: str, skills: list[str]) -> int:
    async with app.db.transaction() as s:
        n = Nurse(
            clinic_id=app.clinic_id,
            account_id=person.account_id,
            name=name,
            skills=skills,
            daily_cap=6,
            shift_start=time(8),
            shift_end=time(14),
            active=True,
        )
        s.add(n)
        await s.flush()
        return n.id


# (name, birth, north_m, east_m, service, window, complaint)
FAMILIES = [
    (
        "Ani Lestari",
        date(1958, 3, 2),
        600,
        300,
        "wound_care",
        (8, 10),
        "Luka di kaki kiri belum kering",
    ),
    ("Baso Daeng", date(1949, 7, 20), -500, 700, "chronic_check", (8, 10), "Tekanan darah tinggi"),
    ("Cici Amir", date(1990, 1, 5), 900, -400, "injection", (10, 12), "Suntik rutin"),
    ("Dg. Nai", date(1940, 11, 11), -800, -600, "wound_care", (10, 12), "Luka tekan"),
    ("Eka Putri", date(1965, 6, 30), 300, 1200, "chronic_check", (12, 14), "Cek gula darah"),
]


async def seed_clinic(app: HomecareApp, client: Any, day: date = TUESDAY) -> Clinic:
    head = await _person(app, client, "kepala", "head", "Budi")
    siti = await _person(app, client, "siti", "nurse", "Siti")
    andi = await _person(app, client, "andi", "nurse", "Andi")
    clinic = Clinic(
        head=head,
        siti=siti,
        andi=andi,
        siti_id=await _nurse(app, siti, "Siti Rahmawati", ["wound", "chronic", "injection"]),
        andi_id=await _nurse(app, andi, "Andi Saputra", ["wound", "chronic", "injection"]),
    )
    for i, (name, birth, north, east, service, window, complaint) in enumerate(FAMILIES, 1):
        family = await _person(app, client, f"keluarga{i}", "caregiver", f"Keluarga{i}")
        clinic.families.append(family)
        lat, lon = near(north, east)
        async with app.db.transaction() as s:
            p = Patient(
                clinic_id=app.clinic_id,
                full_name=name,
                birth_date=birth,
                phone=f"+6281200000{i:03d}",
                address=f"Jl. Contoh No. {i}",
                kelurahan="Kassi-Kassi",
                rt_rw="002/003",
                landmark=f"dekat masjid {i}",
                lat=lat,
                lon=lon,
            )
            s.add(p)
            await s.flush()
            s.add(PatientLink(account_id=family.account_id, patient_id=p.id, relation="caregiver"))
            clinic.patients.append(p.id)
            visit = await add_visit(
                s, app, p.id, day, service, window, complaint, family.account_id
            )
            clinic.visits.append(visit.id)
    return clinic


_codes = iter(range(1, 10**6))


async def add_visit(
    s: Any,
    app: HomecareApp,
    patient_id: int,
    day: date,
    service: str,
    window: tuple[int, int],
    complaint: str | None = None,
    account_id: int | None = None,
    priority: str = "routine",
) -> Visit:
    svc = app.config.service(service)
    assert svc is not None
    v = Visit(
        clinic_id=app.clinic_id,
        code=f"N{next(_codes):05d}",
        patient_id=patient_id,
        requested_by_account_id=account_id,
        service_type=service,
        complaint=complaint,
        priority=priority,
        day=day,
        window_start=time(window[0]),
        window_end=time(window[1]),
        duration_min=svc.duration_min,
        status="requested",
    )
    s.add(v)
    await s.flush()
    await record_created(s, v, "patient", account_id, wita(day - timedelta(days=2), 9))
    return v


async def visits(app: HomecareApp, ids: list[int]) -> dict[int, Visit]:
    async with app.db.read() as s:
        return {v.id: v for v in await s.scalars(select(Visit).where(Visit.id.in_(ids)))}


async def wait_run(app: HomecareApp, kind: str, after_id: int = 0, within: float = 20.0) -> PlanRun:
    """The first finished plan run of `kind` with id > `after_id` (the worker runs it)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        async with app.db.read() as s:
            run = await s.scalar(
                select(PlanRun)
                .where(PlanRun.kind == kind, PlanRun.id > after_id)
                .where(PlanRun.status.in_(["done", "failed"]))
                .order_by(PlanRun.id)
                .limit(1)
            )
        if run is not None:
            return run
        if loop.time() > deadline:
            raise AssertionError(f"no finished {kind} plan run within {within}s")
        await asyncio.sleep(0.05)


def assert_sound(run: PlanRun) -> None:
    """The stored request and plan pass the independent feasibility checker."""
    assert run.status == "done", run.error
    assert run.request is not None and run.result is not None
    request = parse_plan_request(run.request)
    plan = plan_from_json(run.result)
    problems = check_plan(request, plan)
    assert problems == [], [str(p) for p in problems]


async def wait_for(user: Any, needle: str, *, most: int = 6) -> Any:
    """The next bot message to `user` containing `needle`, skipping up to `most` others (the
    family also gets reminders, which belong to another part of the bot)."""
    seen = []
    for _ in range(most + 1):
        message = await user.wait_message()
        if needle in message.plain_text:
            return message
        seen.append(message.plain_text[:60])
    raise AssertionError(f"no message with {needle!r} to {user.name}; got {seen}")


async def answer_of(client: Any, press: Any, within: float = 10.0) -> str:
    """The text of the bot's answer to a button press (waits for it)."""
    data = await client.request(
        "GET",
        "/control/callback_answers",
        params={"callback_query_id": press.callback_query_id, "timeout": within},
        wait=within,
    )
    if data["timed_out"]:
        answers = await client.request("GET", "/control/callback_answers", params={})
        updates = await client.request("GET", "/control/updates")
        raise AssertionError(f"no answer to {press!r}; answers {answers}; pending {updates}")
    return str(data["answer"].get("text") or "")


async def plan_tuesday(app: HomecareApp, clock: Any) -> Any:
    """Monday 18:00: the nightly plan for Tuesday; Tuesday 06:30: the nurses' routes."""
    clock.move_to(wita(MONDAY, 18))
    [outcome] = await app.jobs.planning.nightly()
    assert outcome.status == "done" and outcome.assigned == len(FAMILIES), outcome
    clock.move_to(wita(TUESDAY, 6, 30))
    assert await app.jobs.planning.morning_routes() >= 1
    return outcome


async def act(app: HomecareApp, nurse_id: int, visit_id: int, *steps: str) -> None:
    """Press status buttons through the services (set-up for re-plan stories)."""
    from db.services import nurse_visits
    from db.types import utcnow

    async with app.db.transaction() as s:
        nurse = await s.get(Nurse, nurse_id)
        visit = await s.get(Visit, visit_id)
        assert nurse is not None and visit is not None and nurse.account_id is not None
        account = await s.get(Account, nurse.account_id)
        assert account is not None
        now = utcnow()
        for step in steps:
            if step == "go":
                result = await nurse_visits.depart(s, app.config, nurse, account, visit, now)
            elif step == "arr":
                result = await nurse_visits.arrive(s, app.config, account, visit, now)
            else:
                result = await nurse_visits.complete(
                    s, app.config, nurse, account, visit, now, note="ok", vitals=None
                )
            assert result.ok, result


async def routes_of(app: HomecareApp) -> dict[int, list[int]]:
    """Each nurse's stops (visit ids) in order, as stored."""
    from db.models import Route

    async with app.db.read() as s:
        return {
            r.nurse_id: [stop.visit_id for stop in r.stops]
            for r in await s.scalars(select(Route).order_by(Route.nurse_id))
        }
