"""The planning jobs: when they run, that they skip days without home visits, that they run once,
that a restarted process catches up; and the heads' /rencana (plan now, in the background)."""

from __future__ import annotations

import os
from datetime import date, timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from bot.app import HomecareApp
from bot.jobs import PlanningJobs
from db.models import OutboxMessage, PlanRun, Visit
from db.services import planning
from db.services.visit_status import change_status
from db.types import utcnow
from scheduler.visits import Actor, VisitStatus
from tests.nurse.helpers import (
    MONDAY,
    TUESDAY,
    Clinic,
    assert_sound,
    routes_of,
    visits,
    wait_for,
    wita,
)

SATURDAY = MONDAY + timedelta(days=5)


async def test_jobs_run_at_clinic_time_and_late_runs_are_not_dropped(app: HomecareApp) -> None:
    scheduler = app.jobs.scheduler
    nightly = scheduler.get_job(PlanningJobs.NIGHTLY)
    routes = scheduler.get_job(PlanningJobs.ROUTES)
    assert nightly is not None and routes is not None
    for job in (nightly, routes):
        assert str(job.trigger.timezone) == "Asia/Makassar"
        assert job.misfire_grace_time is None and job.coalesce is True
    # The clock stands at Monday 17:00 WITA.
    assert nightly.next_run_time == wita(MONDAY, 18)
    assert routes.next_run_time == wita(TUESDAY, 6, 30)


async def _runs(app: HomecareApp) -> list[PlanRun]:
    async with app.db.read() as s:
        return list(await s.scalars(select(PlanRun).order_by(PlanRun.id)))


async def test_no_plan_for_a_day_without_home_visits(
    app: HomecareApp, clinic: Clinic, clock: time_machine.Traveller
) -> None:
    clock.move_to(wita(SATURDAY, 18))  # tomorrow is Sunday
    assert await app.jobs.planning.nightly() == []
    clock.move_to(wita(SATURDAY + timedelta(days=1), 6, 30))
    assert await app.jobs.planning.morning_routes() == 0
    assert [r for r in await _runs(app) if r.day > TUESDAY] == []


async def test_a_restarted_process_catches_up_on_the_day(
    app: HomecareApp, client: Any, clinic: Clinic, clock: time_machine.Traveller
) -> None:
    # Down from Monday afternoon until Tuesday 07:00: no plan, no routes. At start it plans the
    # day and sends the routes at once.
    clock.move_to(wita(TUESDAY, 7, 0))
    await app.jobs.planning.catch_up(utcnow())
    [run] = [r for r in await _runs(app) if r.day == TUESDAY]
    assert_sound(run)
    await wait_for(clinic.siti.user, "Rute Anda")
    await wait_for(clinic.andi.user, "Rute Anda")
    # A second start the same morning does nothing more.
    await app.jobs.planning.catch_up(utcnow())
    assert len([r for r in await _runs(app) if r.day == TUESDAY]) == 1
    async with app.db.read() as s:
        digests = list(
            await s.scalars(select(OutboxMessage.id).where(OutboxMessage.kind == "route_digest"))
        )
    assert len(digests) == 2


async def test_heads_plan_now_and_get_the_result(
    app: HomecareApp, client: Any, clinic: Clinic, clock: time_machine.Traveller
) -> None:
    clock.move_to(wita(MONDAY, 10))
    head = clinic.head.user
    await head.send("/rencana")
    queued = await wait_for(head, "sedang dibuat")
    assert "Selasa, 13 April 2027" in queued.plain_text
    report = await wait_for(head, "Rencana Selasa, 13 April 2027 selesai")
    assert "5 dari 5 kunjungan terjadwal" in report.plain_text
    [run] = await _runs(app)
    assert run.kind == "manual" and run.requested_by_account_id == clinic.head.account_id
    assert_sound(run)
    for family in clinic.families:
        await wait_for(family.user, "Jadwal kunjungan")

    for text, answer in [
        ("/rencana 18/04", "bukan hari kerja"),
        ("/rencana 31/02", "tidak dikenali"),
        ("/rencana 01/04/2027", "sudah lewat"),
    ]:
        await head.send(text)
        await wait_for(head, answer)
    # Nurses cannot.
    await clinic.siti.user.send("/rencana")
    await wait_for(clinic.siti.user, "tidak memiliki akses")
    assert len(await _runs(app)) == 1


async def test_a_change_while_solving_is_not_overwritten(
    app: HomecareApp, clinic: Clinic, clock: time_machine.Traveller, monkeypatch: Any
) -> None:
    """Read, solve, write: the write re-checks the day; a visit cancelled meanwhile makes the
    planner read and solve again instead of writing a stale plan."""
    clock.move_to(wita(MONDAY, 18))
    real = planning.solve_day
    victim = clinic.visits[0]
    calls: list[int] = []

    async def solve_then_someone_cancels(*args: Any, **kwargs: Any) -> Any:
        solved = await real(*args, **kwargs)
        calls.append(1)
        if len(calls) == 1:
            async with app.db.transaction() as s:
                visit = await s.get(Visit, victim)
                assert visit is not None
                await change_status(
                    s, visit, VisitStatus.CANCELLED_BY_PATIENT, Actor.PATIENT, None, "x", utcnow()
                )
        return solved

    monkeypatch.setattr(planning.run, "solve_day", solve_then_someone_cancels)
    [outcome] = await app.jobs.planning.nightly()
    assert outcome.status == "done" and outcome.attempts == 2 and len(calls) == 2
    assert outcome.assigned == 4
    routed = [v for order in (await routes_of(app)).values() for v in order]
    assert victim not in routed and len(routed) == 4
    [cancelled] = (await visits(app, [victim])).values()
    assert cancelled.status == "cancelled_by_patient" and cancelled.nurse_id is None
    [run] = await _runs(app)
    assert_sound(run)


async def test_the_solver_runs_off_the_event_loop(
    app: HomecareApp, clinic: Clinic, clock: time_machine.Traveller, monkeypatch: Any
) -> None:
    """In a child process: PyVRP holds the GIL, so a thread would still stall the loop."""
    clock.move_to(wita(MONDAY, 18))
    ran: list[tuple[Any, int]] = []
    real = planning.solve.off_loop

    async def recording(fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        ran.append((fn, await real(os.getpid)))  # the child's pid, asked the same way
        return await real(fn, *args, **kwargs)

    monkeypatch.setattr(planning.solve, "off_loop", recording)
    [outcome] = await app.jobs.planning.nightly()
    assert outcome.status == "done"
    assert [fn for fn, _ in ran] == [planning.solve.solve]
    assert all(pid != os.getpid() for _, pid in ran)


@pytest.mark.parametrize("day", [date(2027, 4, 11)])
async def test_a_past_day_is_not_planned(
    app: HomecareApp, clinic: Clinic, clock: time_machine.Traveller, day: date
) -> None:
    async with app.db.transaction() as s:
        run = await planning.enqueue(s, app.clinic_id, day, "manual", utcnow())
    assert app.jobs.planning.worker is not None
    outcome = await app.jobs.planning.worker.run_until_done(run.id)
    assert outcome is not None and outcome.status == "failed" and outcome.error == "day_over"
