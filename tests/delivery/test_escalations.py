"""Escalations reach the heads as one digest: unreachable patients, unconfirmed visits, requests
the planner could not place, anything else open — one message per head, never a flood."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from bot.messages import MAX_TEXT
from db.models import StaffTask
from db.services import escalations
from homecare.config import Config
from tests.delivery.conftest import StartApp
from tests.delivery.helpers import (
    VISIT_DAY,
    fast_delivery,
    person,
    seed_family,
    seed_staff,
    seed_visit,
    tasks,
    wita,
)

MONDAY = date(2026, 11, 30)


async def _add(hc: Any, **fields: Any) -> None:
    async with hc.db.transaction() as s:
        s.add(StaffTask(clinic_id=hc.clinic_id, created_at=wita(MONDAY, 9), **fields))


async def test_open_tasks_reach_each_head_as_one_digest(
    start_app: StartApp, client: Any, make_config: Callable[..., Config], sandbox: Any
) -> None:
    hc = await start_app(fast_delivery(make_config(sandbox)))
    staff = await seed_staff(hc, client)
    head_en = await person(hc, client, "head-en", ("head",), language="en")
    ani = await seed_family(hc, client, "ani", phone="+628111")
    budi = await seed_family(hc, client, "budi", phone="+628222", caregivers=1)
    visit = await seed_visit(hc, ani, now=wita(MONDAY, 9), nurse=staff.nurse)
    unplaced = await seed_visit(hc, budi, now=wita(MONDAY, 9), status="unplaced")
    await _add(
        hc,
        kind="unreachable",
        account_id=budi.people[1].account.id,
        patient_id=budi.patient.id,
        detail="Forbidden: bot was blocked by the user",
    )
    await _add(hc, kind="unconfirmed", visit_id=visit.id, patient_id=ani.patient.id)
    await _add(
        hc, kind="visit_unplaced", visit_id=unplaced.id, detail="no nurse with the skill free"
    )
    await _add(hc, kind="nurse_sick", detail="Sri Wahyuni: sick from 09:10, 3 visits to move")

    assert await hc.jobs.digests.send(wita(MONDAY, 9, 30)) == 2
    (digest,) = await staff.head.user.wait_messages(1)
    text = digest.plain_text
    assert text.startswith("📋 Tugas untuk kepala puskesmas — 4 perlu ditindaklanjuti")
    assert "Tidak dapat dihubungi lewat Telegram" in text
    assert "Budi-family0 (keluarga Budi), +628222" in text
    assert "Kunjungan belum dikonfirmasi" in text and "Ani, +628111" in text
    assert "Permintaan yang tidak dapat dijadwalkan" in text
    assert "no nurse with the skill free" in text
    assert "Perawat sakit: Sri Wahyuni: sick from 09:10" in text
    (english,) = await head_en.user.wait_messages(1)
    assert english.plain_text.startswith("📋 Tasks for the clinic heads — 4 need follow-up")
    assert all(t.digested_at is not None for t in await tasks(hc.db))

    # Told once: the next digest has nothing to say, until a new task comes.
    assert await hc.jobs.digests.send(wita(MONDAY, 10)) == 0
    async with hc.db.transaction() as s:  # the same task again: it is still open, not added
        again = await escalations.add_task(
            s, clinic_id=hc.clinic_id, kind="unconfirmed", visit_id=visit.id, now=wita(MONDAY, 10)
        )
    assert again is None
    assert await hc.jobs.digests.send(wita(MONDAY, 10, 30)) == 0
    await _add(hc, kind="nurse_sick", detail="Rina: sick")
    assert await hc.jobs.digests.send(wita(MONDAY, 11)) == 2
    (second,) = await staff.head.user.wait_messages(1)
    assert "— 1 perlu" in second.plain_text and "Rina: sick" in second.plain_text
    await staff.head.user.expect_no_message(0.3)


async def test_a_bad_evening_is_one_message_not_a_flood(
    start_app: StartApp, client: Any, make_config: Callable[..., Config], sandbox: Any
) -> None:
    hc = await start_app(fast_delivery(make_config(sandbox)))
    staff = await seed_staff(hc, client)
    family = await seed_family(hc, client, "citra")
    for i in range(300):
        visit = await seed_visit(
            hc, family, now=wita(MONDAY, 9), day=VISIT_DAY + timedelta(days=i % 5)
        )
        await _add(hc, kind="unconfirmed", visit_id=visit.id, patient_id=family.patient.id)
    assert await hc.jobs.digests.send(wita(MONDAY, 20, 2)) == 1
    (digest,) = await staff.head.user.wait_messages(1)
    await staff.head.user.expect_no_message(0.5)
    assert len(digest.plain_text) <= MAX_TEXT
    assert "— 300 perlu" in digest.plain_text
    assert "tugas lainnya" in digest.plain_text
    assert all(t.digested_at is not None for t in await tasks(hc.db))


async def test_digest_waits_for_working_hours_and_for_a_head(
    start_app: StartApp, client: Any, make_config: Callable[..., Config], sandbox: Any
) -> None:
    hc = await start_app(fast_delivery(make_config(sandbox)))
    await _add(hc, kind="nurse_sick", detail="Rina: sick")
    # No head registered yet: the task stays untold.
    assert await hc.jobs.digests.tick(wita(MONDAY, 9)) == 0
    assert (await tasks(hc.db))[0].digested_at is None
    head = await person(hc, client, "kepala", ("head",))
    sunday = date(2026, 11, 29)
    for moment in (wita(MONDAY, 7, 30), wita(MONDAY, 14), wita(sunday, 10)):
        assert await hc.jobs.digests.tick(moment) == 0, moment
    assert await hc.jobs.digests.tick(wita(MONDAY, 13, 30)) == 1
    (digest,) = await head.user.wait_messages(1)
    assert "Rina: sick" in digest.plain_text


def test_working_hours_are_clinic_local() -> None:
    clinic = Config().clinic
    assert escalations.in_working_hours(clinic, wita(MONDAY, 8))
    assert not escalations.in_working_hours(clinic, wita(MONDAY, 7, 59))
    assert not escalations.in_working_hours(clinic, wita(MONDAY, 14))
    assert escalations.in_working_hours(clinic, wita(date(2026, 12, 5), 9))  # Saturday
    assert not escalations.in_working_hours(clinic, wita(date(2026, 12, 6), 9))  # Sunday
    # 00:30 UTC is 08:30 in Makassar.
    assert escalations.in_working_hours(clinic, datetime.fromisoformat("2026-11-30T00:30+00:00"))


async def test_jobs_run_in_the_clinic_time_zone(
    start_app: StartApp, make_config: Callable[..., Config], sandbox: Any
) -> None:
    hc = await start_app(make_config(sandbox))
    scheduler = hc.jobs.scheduler
    assert str(scheduler.timezone) == "Asia/Makassar"
    deadline = scheduler.get_job("digest:deadline")
    hours = scheduler.get_job("digest:hours")
    assert deadline is not None and hours is not None and scheduler.get_job("reminders:sweep")
    after = wita(MONDAY, 20, 1)
    nxt = deadline.trigger.get_next_fire_time(None, after)
    assert nxt == wita(MONDAY, 20, 2)
    assert hours.trigger.get_next_fire_time(None, wita(MONDAY, 9, 1)) == wita(MONDAY, 9, 30)
