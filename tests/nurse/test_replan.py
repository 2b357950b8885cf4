"""Same-day changes: a nurse reports sick, a visit is cancelled, an urgent visit is added, a
nurse cannot make one visit. Stops already started never move; every stored plan passes the
independent checker."""

from __future__ import annotations

from typing import Any

import time_machine
from sqlalchemy import select

from bot.app import HomecareApp
from bot.i18n import t
from db.models import Account, NurseLeave, PlanRun, RouteStop, StaffTask, Visit
from db.services import planning
from db.services.visit_status import change_status
from db.types import utcnow
from scheduler.visits import Actor, VisitStatus
from tests.nurse.helpers import (
    MONDAY,
    TUESDAY,
    Clinic,
    act,
    add_visit,
    answer_of,
    assert_sound,
    near,
    plan_tuesday,
    routes_of,
    visits,
    wait_for,
    wait_run,
    wita,
)


async def test_a_sick_nurse_hands_over_her_unstarted_visits(
    app: HomecareApp, client: Any, clinic: Clinic, clock: time_machine.Traveller
) -> None:
    await plan_tuesday(app, clock)
    before = await visits(app, clinic.visits)
    siti_route = (await routes_of(app))[clinic.siti_id]
    assert len(siti_route) >= 2, "the story needs Siti to have several visits"
    started = siti_route[0]
    clock.move_to(wita(TUESDAY, 7, 40))
    await act(app, clinic.siti_id, started, "go")
    await clinic.siti.user.mark_read()

    # 07:50, on her way to the first home, she feels ill and says so in the bot.
    clock.move_to(wita(TUESDAY, 7, 50))
    await clinic.siti.user.send("/jadwal")
    overview = await wait_for(clinic.siti.user, "Jadwal hari ini")
    await clinic.siti.user.press(
        "🤒 Saya sakit / tidak bisa bertugas hari ini", message_id=overview.message_id
    )
    ask = await wait_for(clinic.siti.user, "sisa hari ini")
    last = await planning_run_id(app)
    await clinic.siti.user.press("Ya, saya tidak bisa bertugas", message_id=ask.message_id)
    done = await clinic.siti.user.wait_edit(ask)
    assert "Semoga lekas sembuh" in done.plain_text

    run = await wait_run(app, "replan", after_id=last)
    assert_sound(run)
    after = await visits(app, clinic.visits)
    # The stop she had started stays hers, untouched.
    assert after[started].nurse_id == clinic.siti_id and after[started].status == "on_the_way"
    assert after[started].planned_start == before[started].planned_start
    for visit_id in siti_route[1:]:
        moved = after[visit_id]
        assert moved.nurse_id != clinic.siti_id
        if moved.status == "unplaced":
            assert moved.unplaced_reason and moved.nurse_id is None
        else:
            assert moved.status == "scheduled" and moved.nurse_id == clinic.andi_id
    async with app.db.read() as s:
        leave = await s.scalar(select(NurseLeave).where(NurseLeave.nurse_id == clinic.siti_id))
        tasks = list(await s.scalars(select(StaffTask.kind)))
    assert leave is not None and leave.kind == "sick" and leave.day == TUESDAY
    assert "nurse_sick" in tasks
    await wait_for(clinic.head.user, "melapor sakit")
    # Andi already had his morning route: he gets the new one.
    update = await wait_for(clinic.andi.user, "Rute Anda diperbarui")
    assert update.buttons
    # Families whose visit moved hear the new nurse.
    moved_to_andi = [v for v in siti_route[1:] if after[v].nurse_id == clinic.andi_id]
    for visit_id in moved_to_andi:
        family = clinic.families[clinic.visits.index(visit_id)]
        told = await wait_for(family.user, "berubah")
        assert "Andi" in told.plain_text


async def planning_run_id(app: HomecareApp) -> int:
    async with app.db.read() as s:
        return int(await s.scalar(select(PlanRun.id).order_by(PlanRun.id.desc()).limit(1)) or 0)


async def test_a_cancelled_visit_leaves_its_route_and_the_day_is_replanned(
    app: HomecareApp, clinic: Clinic, clock: time_machine.Traveller
) -> None:
    await plan_tuesday(app, clock)
    routes = await routes_of(app)
    clock.move_to(wita(TUESDAY, 7, 0))
    victim = clinic.visits[2]
    last = await planning_run_id(app)
    async with app.db.transaction() as s:
        visit = await s.get(Visit, victim)
        assert visit is not None
        await change_status(
            s,
            visit,
            VisitStatus.CANCELLED_BY_CLINIC,
            Actor.HEAD,
            clinic.head.account_id,
            "banjir",
            utcnow(),
        )
        assert await planning.on_visit_cancelled(s, visit, utcnow())
    run = await wait_run(app, "replan", after_id=last)
    assert_sound(run)
    assert run.reason and "cancelled" in run.reason
    async with app.db.read() as s:
        stops = list(await s.scalars(select(RouteStop.visit_id)))
    assert victim not in stops
    after = await visits(app, clinic.visits)
    kept = [v for v in clinic.visits if v != victim]
    assert all(after[v].status == "scheduled" for v in kept)
    # Nobody lost a visit: every remaining one is still routed.
    assert sorted(stops) == sorted(kept)
    assert sum(len(r) for r in routes.values()) == len(kept) + 1


async def test_an_urgent_same_day_visit_is_inserted_at_least_cost(
    app: HomecareApp, client: Any, clinic: Clinic, clock: time_machine.Traveller
) -> None:
    await plan_tuesday(app, clock)
    # The morning visits are done by 10:00.
    clock.move_to(wita(TUESDAY, 9, 0))
    planned = await visits(app, clinic.visits)
    for nurse_id, order in (await routes_of(app)).items():
        for visit_id in order:
            if planned[visit_id].window_end.hour <= 10:
                await act(app, nurse_id, visit_id, "go", "arr", "done")
    before = await routes_of(app)
    await wait_for(clinic.siti.user, "Rute Anda")
    await wait_for(clinic.andi.user, "Rute Anda")

    clock.move_to(wita(TUESDAY, 10, 0))
    lat, lon = near(200, 200)
    last = await planning_run_id(app)
    async with app.db.transaction() as s:
        from db.models import Patient, PatientLink

        patient = Patient(
            clinic_id=app.clinic_id,
            full_name="Fatma Urgent",
            lat=lat,
            lon=lon,
            address="Jl. Darurat 9",
            kelurahan="Kassi-Kassi",
        )
        s.add(patient)
        await s.flush()
        s.add(
            PatientLink(
                account_id=clinic.families[0].account_id,
                patient_id=patient.id,
                relation="caregiver",
            )
        )
        urgent = await add_visit(
            s,
            app,
            patient.id,
            TUESDAY,
            "wound_care",
            (10, 14),
            "Luka berdarah lagi",
            priority="urgent",
        )
        await planning.queue_urgent_insert(s, urgent, utcnow())
    run = await wait_run(app, "insert", after_id=last)
    assert_sound(run)
    assert run.result is not None and run.result["solver"]["method"] == "insertion"
    [inserted] = (await visits(app, [urgent.id])).values()
    assert inserted.status == "scheduled" and inserted.nurse_id in (clinic.siti_id, clinic.andi_id)
    after = await routes_of(app)
    # Everyone else keeps nurse and order; the urgent visit is slotted in.
    for nurse_id, order in before.items():
        assert [v for v in after[nurse_id] if v != urgent.id] == order
    assert urgent.id in after[inserted.nurse_id]
    who = clinic.siti if inserted.nurse_id == clinic.siti_id else clinic.andi
    update = await wait_for(who.user, "Rute Anda diperbarui")
    assert "MENDESAK" in update.plain_text
    told = await wait_for(clinic.families[0].user, "Jadwal kunjungan")
    assert urgent.code in told.plain_text or "N" in told.plain_text


async def test_a_nurse_who_cannot_come_is_kept_off_that_visit(
    app: HomecareApp, client: Any, clinic: Clinic, clock: time_machine.Traveller
) -> None:
    await plan_tuesday(app, clock)
    andi_route = (await routes_of(app))[clinic.andi_id]
    target = andi_route[-1]
    clock.move_to(wita(TUESDAY, 7, 30))
    await wait_for(clinic.andi.user, "Rute Anda")
    await clinic.andi.user.press_forged(f"nst:{target}")
    card = await wait_for(clinic.andi.user, "Kunjungan")
    await clinic.andi.user.press("⛔ Tidak bisa datang", message_id=card.message_id)
    confirm = await clinic.andi.user.wait_edit(card)
    assert "tidak bisa datang" in confirm.plain_text
    last = await planning_run_id(app)
    press = await clinic.andi.user.press("Ya, tidak bisa datang", message_id=card.message_id)
    assert "dijadwalkan ulang" in await answer_of(client, press)
    run = await wait_run(app, "replan", after_id=last)
    assert_sound(run)
    [after] = (await visits(app, [target])).values()
    assert after.nurse_id != clinic.andi_id
    assert after.status in ("scheduled", "unplaced")
    await wait_for(clinic.head.user, "tidak bisa datang")
    # A later re-plan of the same day still keeps him off it.
    last = run.id
    async with app.db.transaction() as s:
        await planning.enqueue(s, app.clinic_id, TUESDAY, "replan", utcnow(), reason="test")
    again = await wait_run(app, "replan", after_id=last)
    assert_sound(again)
    [still] = (await visits(app, [target])).values()
    assert still.nurse_id != clinic.andi_id


async def test_a_visit_nobody_can_do_is_offered_another_day(
    app: HomecareApp, client: Any, clinic: Clinic, clock: time_machine.Traveller
) -> None:
    from db.models import Patient, PatientLink

    family = clinic.families[1]
    async with app.db.transaction() as s:
        lat, lon = near(-300, -300)
        patient = Patient(clinic_id=app.clinic_id, full_name="Hasna Paliatif", lat=lat, lon=lon)
        s.add(patient)
        await s.flush()
        s.add(
            PatientLink(account_id=family.account_id, patient_id=patient.id, relation="caregiver")
        )
        visit = await add_visit(s, app, patient.id, TUESDAY, "palliative", (8, 14), "Nyeri")
    clock.move_to(wita(MONDAY, 18))
    [outcome] = await app.jobs.planning.nightly()
    assert (visit.id, "no_nurse_with_skills") in outcome.unplaced
    async with app.db.read() as s:
        run = await s.get(PlanRun, outcome.run_id)
        task = await s.scalar(select(StaffTask).where(StaffTask.visit_id == visit.id))
    assert run is not None
    assert_sound(run)
    assert (
        task is not None
        and task.kind == "visit_unplaced"
        and "no_nurse_with_skills" in (task.detail or "")
    )
    [unplaced] = (await visits(app, [visit.id])).values()
    assert unplaced.status == "unplaced" and unplaced.unplaced_reason == "no_nurse_with_skills"
    assert unplaced.nurse_id is None
    sorry = await wait_for(family.user, "belum dapat dijadwalkan")
    assert "tidak ada perawat dengan keahlian" in sorry.plain_text
    # The family journey's button moves this very visit to another day; here it rightly finds
    # none (no nurse has the skill on any day) and says so.
    assert sorry.button_texts == [t("id", "patient.visits.other_day")]
    await family.user.press(t("id", "patient.visits.other_day"), message_id=sorry.message_id)
    await wait_for(family.user, t("id", "patient.visits.no_days")[:30])


async def test_a_family_cancelling_or_moving_a_planned_visit_replans_the_day(
    app: HomecareApp, clinic: Clinic, clock: time_machine.Traveller
) -> None:
    """The family's own cancel and reschedule (not only the clinic's) take the stop off its route
    and re-plan the day it left."""
    from datetime import timedelta

    from db.services import my_visits
    from scheduler.booking import TimeWindow

    clock.move_to(wita(MONDAY, 18))
    [outcome] = await app.jobs.planning.nightly()
    assert outcome.status == "done"
    clock.move_to(wita(MONDAY, 18, 30))  # the family may still change a Tuesday visit tonight
    now = utcnow()
    movable = []
    async with app.db.read() as s:
        for family, visit_id in zip(clinic.families, clinic.visits, strict=True):
            item = await my_visits.visit_item(
                s, app.config, family.account_id, app.clinic_id, visit_id, now
            )
            if item is not None and item.can_cancel and item.can_reschedule:
                movable.append((family, visit_id))
    assert len(movable) >= 2, "fixture: at least two visits must still be changeable"

    (f1, cancelled), (f2, moved) = movable[:2]
    last = await planning_run_id(app)
    async with app.db.transaction() as s:
        item = await my_visits.visit_item(
            s, app.config, f1.account_id, app.clinic_id, cancelled, now
        )
        assert item is not None
        result = await my_visits.cancel_visit(
            s,
            config=app.config,
            account=await s.get(Account, f1.account_id),
            item=item,
            reason="sudah sembuh",
            now=now,
        )
        assert result.refusal is None, result
    run = await wait_run(app, "replan", after_id=last)
    assert_sound(run)
    async with app.db.read() as s:
        assert cancelled not in set(await s.scalars(select(RouteStop.visit_id)))

    last = run.id
    async with app.db.transaction() as s:
        item = await my_visits.visit_item(s, app.config, f2.account_id, app.clinic_id, moved, now)
        assert item is not None
        result = await my_visits.reschedule_visit(
            s,
            config=app.config,
            account=await s.get(Account, f2.account_id),
            item=item,
            day=TUESDAY + timedelta(days=1),
            window=TimeWindow.parse("10:00-12:00"),
            now=now,
        )
        assert result.refusal is None, result
    run = await wait_run(app, "replan", after_id=last)
    assert_sound(run)
    async with app.db.read() as s:
        assert moved not in set(await s.scalars(select(RouteStop.visit_id)))
        assert (await s.get(Visit, moved)).status == "requested"  # type: ignore[union-attr]


async def test_leave_recorded_for_a_planned_day_replans_it(
    app: HomecareApp, clinic: Clinic, clock: time_machine.Traveller
) -> None:
    from db.services import staff

    clock.move_to(wita(MONDAY, 18))
    [outcome] = await app.jobs.planning.nightly()
    assert outcome.status == "done"
    assert (await routes_of(app)).get(clinic.siti_id), "fixture: Siti has visits on Tuesday"
    clock.move_to(wita(MONDAY, 19))
    last = await planning_run_id(app)
    async with app.db.transaction() as s:
        head = await s.get(Account, clinic.head.account_id)
        assert head is not None
        await staff.record_leave(
            s, app.clinic_id, clinic.siti_id, TUESDAY, "sick", head, utcnow(), MONDAY
        )
    run = await wait_run(app, "replan", after_id=last)
    assert_sound(run)
    assert not (await routes_of(app)).get(clinic.siti_id)
