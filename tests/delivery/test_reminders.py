"""Reminders owned by the database, with the clinic's clock moved (time-machine).

Each path of a reminder: created with the visit, moved with a re-plan or a reschedule, cancelled
with a cancellation, late after the bot was down (sent or skipped by the rule), and the evening
question's three outcomes: confirmed, declined, no answer by the deadline.

The visit: Tuesday 1 December 2026, window 08:00–10:00 WITA, nurse expected 08:30. The evening
question is due Monday 17:00, the confirmation deadline Monday 20:00, the before-arrival
reminder Tuesday 07:30.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import event, select, update

from db.models import Account, OutboxMessage, Reminder, Visit
from db.services import my_visits
from db.services.reminders import fire_due, sync_visit_reminders
from db.services.visit_status import change_status
from db.types import utcnow
from scheduler.booking import TimeWindow
from scheduler.visits import Actor, VisitStatus
from tests.delivery.conftest import NOW, StartApp, stop_app
from tests.delivery.helpers import (
    VISIT_DAY,
    Family,
    Staff,
    fresh_visit,
    queue_texts,
    reminders_of,
    seed_family,
    seed_staff,
    seed_visit,
    tasks,
    wait_until,
    wita,
)

MONDAY = date(2026, 11, 30)
EVENING = wita(MONDAY, 17)
DEADLINE = wita(MONDAY, 20)
ARRIVAL = wita(VISIT_DAY, 8, 30)
BEFORE_ARRIVAL = wita(VISIT_DAY, 7, 30)
YES, NO, MOVE = "✅ Ya, ada di rumah", "❌ Tidak", "📅 Jadwal ulang"


async def _setup(
    start_app: StartApp, client: Any, caregivers: int = 1
) -> tuple[Any, Staff, Family, Visit]:
    hc = await start_app()
    staff = await seed_staff(hc, client)
    family = await seed_family(hc, client, "ani", caregivers=caregivers)
    visit = await seed_visit(hc, family, now=NOW, nurse=staff.nurse, arrival=ARRIVAL)
    return hc, staff, family, visit


async def _fire(hc: Any) -> None:
    await hc.jobs.reminders.fire()


def _summary(rows: list[Any]) -> set[tuple[str, str, Any, Any, str]]:
    return {(r.kind, r.recipient_role, r.recipient_account_id, r.due_at, r.status) for r in rows}


async def test_created_with_the_visit_and_sent_at_their_time(
    clock: time_machine.Traveller, start_app: StartApp, client: Any
) -> None:
    hc, _staff, family, visit = await _setup(start_app, client)
    ani, son = family.people
    assert _summary(await reminders_of(hc.db, visit.id)) == {
        ("evening_before_confirm", "patient", ani.account.id, EVENING, "pending"),
        ("evening_before_confirm", "patient", son.account.id, EVENING, "pending"),
        ("confirmation_deadline", "heads", None, DEADLINE, "pending"),
        ("before_arrival", "patient", ani.account.id, BEFORE_ARRIVAL, "pending"),
        ("before_arrival", "patient", son.account.id, BEFORE_ARRIVAL, "pending"),
    }

    # The job follows the rows: its timer points at the first reminder (clinic time zone).
    async def timer_at_evening() -> bool:
        job = hc.jobs.scheduler.get_job("reminders:next")
        return job is not None and job.next_run_time == EVENING

    await wait_until(timer_at_evening)

    await _fire(hc)  # 09:00: nothing is due yet
    await ani.user.expect_no_message(0.3)

    clock.move_to(EVENING + timedelta(seconds=5))
    await _fire(hc)
    for p in (ani, son):
        question = await p.user.wait_message()
        assert "Apakah pasien ada di rumah besok?" in question.plain_text
        assert "Selasa, 1 Desember 2026" in question.plain_text
        assert "08:00–10:00" in question.plain_text
        assert question.button_texts == [YES, NO, MOVE]

    clock.move_to(BEFORE_ARRIVAL + timedelta(seconds=5))
    await _fire(hc)
    for p in (ani, son):
        soon = await p.user.wait_message()
        assert "Sri diperkirakan tiba sekitar pukul 08:30 WITA" in soon.plain_text
    rows = await reminders_of(hc.db, visit.id)
    assert {r.kind: r.status for r in rows if r.recipient_role == "patient"} == {
        "evening_before_confirm": "sent",
        "before_arrival": "sent",
    }
    assert all(r.outbox_id is not None for r in rows if r.recipient_role == "patient")


async def test_moved_with_a_replan_and_with_a_reschedule(
    clock: time_machine.Traveller, start_app: StartApp, client: Any
) -> None:
    hc, staff, family, visit = await _setup(start_app, client, caregivers=0)
    (ani,) = family.people

    # A re-plan moves the nurse's arrival to 09:15: the before-arrival reminder moves with it.
    async with hc.db.transaction() as s:
        v = await s.get(Visit, visit.id)
        assert v is not None
        v.planned_arrival = wita(VISIT_DAY, 9, 15)
        await sync_visit_reminders(s, v, hc.config, NOW)
    before = [r for r in await reminders_of(hc.db, visit.id) if r.kind == "before_arrival"]
    assert [(r.due_at, r.status) for r in before] == [(wita(VISIT_DAY, 8, 15), "pending")]

    # Monday evening the question goes out; the family then moves the visit to Thursday.
    clock.move_to(EVENING + timedelta(seconds=5))
    await _fire(hc)
    old_question = await ani.user.wait_message()
    thursday = date(2026, 12, 3)
    async with hc.db.transaction() as s:
        item = await my_visits.visit_item(
            s, hc.config, ani.account.id, hc.clinic_id, visit.id, utcnow()
        )
        assert item is not None and item.can_reschedule
        result = await my_visits.reschedule_visit(
            s,
            config=hc.config,
            account=ani.account,
            item=item,
            day=thursday,
            window=TimeWindow.parse("10:00-12:00"),
            now=utcnow(),
        )
        assert result.ok, result
    # Back in the planning queue (requested): no reminder is pending any more.
    rows = await reminders_of(hc.db, visit.id)
    assert {r.status for r in rows if r.kind != "evening_before_confirm"} == {"cancelled"}
    # The old question's buttons are stale now.
    press = await ani.user.press(YES, message_id=old_question.message_id)
    answer = await ani.user.callback_answer(press)
    assert answer is not None and "sudah tidak berlaku" in (answer.text or "")
    assert (await fresh_visit(hc.db, visit.id)).status == "requested"

    # Wednesday's planning schedules it for Thursday 10:40: the rows are re-armed for Thursday.
    async with hc.db.transaction() as s:
        v = await s.get(Visit, visit.id)
        assert v is not None
        await change_status(s, v, VisitStatus.SCHEDULED, Actor.SYSTEM, None, "plan", utcnow())
        v.nurse_id = staff.nurse.id
        v.planned_arrival = wita(thursday, 10, 40)
        await sync_visit_reminders(s, v, hc.config, utcnow())
    rows = await reminders_of(hc.db, visit.id)
    assert {(r.kind, r.due_at, r.status) for r in rows} == {
        ("evening_before_confirm", wita(date(2026, 12, 2), 17), "pending"),
        ("confirmation_deadline", wita(date(2026, 12, 2), 20), "pending"),
        ("before_arrival", wita(thursday, 9, 40), "pending"),
    }
    # Tuesday 07:30 (the old time) sends nothing; Wednesday 17:00 sends the new question.
    clock.move_to(BEFORE_ARRIVAL + timedelta(seconds=5))
    await _fire(hc)
    await ani.user.expect_no_message(0.3)
    clock.move_to(wita(date(2026, 12, 2), 17, 0, 5))
    await _fire(hc)
    new_question = await ani.user.wait_message()
    assert "Kamis, 3 Desember 2026" in new_question.plain_text
    assert "10:00–12:00" in new_question.plain_text


async def test_cancelled_with_a_cancellation(
    clock: time_machine.Traveller, start_app: StartApp, client: Any
) -> None:
    hc, _staff, family, visit = await _setup(start_app, client, caregivers=0)
    (ani,) = family.people
    async with hc.db.transaction() as s:
        item = await my_visits.visit_item(s, hc.config, ani.account.id, hc.clinic_id, visit.id, NOW)
        assert item is not None
        result = await my_visits.cancel_visit(
            s, config=hc.config, account=ani.account, item=item, reason="sudah sembuh", now=NOW
        )
        assert result.ok
    assert {r.status for r in await reminders_of(hc.db, visit.id)} == {"cancelled"}
    assert (await fresh_visit(hc.db, visit.id)).status == "cancelled_by_patient"

    # No reminder is pending any more: the job's timer is taken down after the commit.
    async def no_timer() -> bool:
        return hc.jobs.scheduler.get_job("reminders:next") is None

    await wait_until(no_timer)

    # The clinic is told of the cancellation, but no reminder goes out at any time after.
    clock.move_to(EVENING + timedelta(seconds=5))
    await _fire(hc)
    clock.move_to(BEFORE_ARRIVAL + timedelta(seconds=5))
    await _fire(hc)
    await ani.user.expect_no_message(0.5)
    assert {r.status for r in await reminders_of(hc.db, visit.id)} == {"cancelled"}


async def test_late_after_downtime_still_useful_is_sent_at_start(
    clock: time_machine.Traveller, start_app: StartApp, client: Any
) -> None:
    """The bot was down from 09:00 until 19:00: at start, the job rebuilt from the rows fires the
    overdue evening question at once (still before the 20:00 deadline), without any call."""
    hc, _staff, family, visit = await _setup(start_app, client, caregivers=0)
    (ani,) = family.people
    await stop_app(hc)
    clock.move_to(wita(MONDAY, 19))
    await start_app()
    question = await ani.user.wait_message(timeout=15)
    assert question.button_texts == [YES, NO, MOVE]
    rows = {r.kind: r for r in await reminders_of(hc.db, visit.id)}
    assert rows["evening_before_confirm"].status == "sent"
    assert rows["before_arrival"].status == "pending"


async def test_late_after_downtime_no_longer_useful_is_skipped_with_a_reason(
    clock: time_machine.Traveller, start_app: StartApp, client: Any
) -> None:
    """Down until Tuesday 07:45: the evening question is past its deadline (skipped, reason
    recorded) but the heads' deadline check and the before-arrival reminder are still useful."""
    hc, staff, family, visit = await _setup(start_app, client, caregivers=0)
    (ani,) = family.people
    await stop_app(hc)
    clock.move_to(wita(VISIT_DAY, 7, 45))
    hc2 = await start_app()

    async def all_handled() -> bool:
        return all(r.status != "pending" for r in await reminders_of(hc2.db, visit.id))

    await wait_until(all_handled, timeout=15)
    rows = {r.kind: r for r in await reminders_of(hc2.db, visit.id)}
    assert (rows["evening_before_confirm"].status, rows["evening_before_confirm"].skip_reason) == (
        "skipped",
        "after_confirmation_deadline",
    )
    assert rows["before_arrival"].status == "sent"
    assert rows["confirmation_deadline"].status == "sent"
    soon = await ani.user.wait_message()
    assert "08:30" in soon.plain_text
    assert (await fresh_visit(hc2.db, visit.id)).confirmation == "unanswered"

    # Down again until after the nurse was due: nothing left is sent late.
    other = await seed_visit(
        hc2,
        family,
        now=wita(VISIT_DAY, 7, 46),
        day=date(2026, 12, 2),
        nurse=staff.nurse,
        arrival=wita(date(2026, 12, 2), 8, 30),
    )
    await stop_app(hc2)
    clock.move_to(wita(date(2026, 12, 2), 8, 40))
    hc3 = await start_app()

    async def other_handled() -> bool:
        return all(r.status != "pending" for r in await reminders_of(hc3.db, other.id))

    await wait_until(other_handled, timeout=15)
    skipped = {r.kind: r.skip_reason for r in await reminders_of(hc3.db, other.id)}
    assert skipped == {
        "evening_before_confirm": "after_confirmation_deadline",
        "confirmation_deadline": "visit_started",
        "before_arrival": "visit_started",
    }


async def test_confirm(clock: time_machine.Traveller, start_app: StartApp, client: Any) -> None:
    hc, staff, family, visit = await _setup(start_app, client)
    ani, son = family.people
    clock.move_to(EVENING + timedelta(seconds=5))
    await _fire(hc)
    question = await son.user.wait_message()
    await ani.user.wait_message()
    await son.user.press(YES)
    thanks = await son.user.wait_message()
    assert "sudah dikonfirmasi" in thanks.plain_text
    edited = await son.user.wait_edit(question)
    assert edited.buttons == [] and "Dijawab: ada di rumah" in edited.plain_text
    v = await fresh_visit(hc.db, visit.id)
    assert (v.status, v.confirmation) == ("confirmed", "yes")
    rows = {(r.kind, r.recipient_account_id): r.status for r in await reminders_of(hc.db, visit.id)}
    assert rows[("confirmation_deadline", None)] == "cancelled"
    assert rows[("before_arrival", ani.account.id)] == "pending"

    # The deadline passes quietly: nobody needs to phone.
    clock.move_to(DEADLINE + timedelta(seconds=5))
    await _fire(hc)
    assert await tasks(hc.db) == []
    await staff.nurse_person.user.expect_no_message(0.3)


async def test_decline(clock: time_machine.Traveller, start_app: StartApp, client: Any) -> None:
    hc, staff, family, visit = await _setup(start_app, client, caregivers=0)
    (ani,) = family.people
    clock.move_to(EVENING + timedelta(seconds=5))
    await _fire(hc)
    await ani.user.wait_message()

    # "Tidak" asks once more; "Kembali" changes nothing.
    await ani.user.press(NO)
    ask = await ani.user.wait_message()
    assert "dibatalkan" in ask.plain_text
    await ani.user.press("Kembali", message_id=ask.message_id)
    kept = await ani.user.wait_edit(ask)
    assert "tidak dibatalkan" in kept.plain_text and kept.buttons == []
    assert (await fresh_visit(hc.db, visit.id)).status == "scheduled"

    await ani.user.press(NO)
    ask = await ani.user.wait_message()
    await ani.user.press("Ya, batalkan kunjungan", message_id=ask.message_id)
    done = await ani.user.wait_edit(ask)
    assert "dibatalkan" in done.plain_text and done.buttons == []
    v = await fresh_visit(hc.db, visit.id)
    assert (v.status, v.confirmation) == ("cancelled_by_patient", "no")
    assert {
        r.status for r in await reminders_of(hc.db, visit.id) if r.kind != "evening_before_confirm"
    } == {"cancelled"}
    # The nurse and the heads learn it.
    nurse_note = await staff.nurse_person.user.wait_message()
    head_note = await staff.head.user.wait_message()
    for note in (nurse_note, head_note):
        assert "Ani" in note.plain_text and visit.code in note.plain_text.replace("-", "")


async def test_no_answer_by_the_deadline(
    clock: time_machine.Traveller, start_app: StartApp, client: Any
) -> None:
    hc, staff, family, visit = await _setup(start_app, client)
    clock.move_to(EVENING + timedelta(seconds=5))
    await _fire(hc)
    for p in family.people:
        await p.user.wait_message()
    clock.move_to(DEADLINE + timedelta(seconds=5))
    await _fire(hc)
    v = await fresh_visit(hc.db, visit.id)
    assert (v.status, v.confirmation) == ("scheduled", "unanswered")
    [task] = await tasks(hc.db)
    assert (task.kind, task.visit_id, task.digested_at is not None) == (
        "unconfirmed",
        visit.id,
        True,
    )
    nurse_note = await staff.nurse_person.user.wait_message()
    assert "Belum dikonfirmasi" in nurse_note.plain_text
    assert "+6281234567890" in nurse_note.plain_text
    digest = await staff.head.user.wait_message()
    assert "Kunjungan belum dikonfirmasi" in digest.plain_text
    assert "Ani, +6281234567890" in digest.plain_text

    # A late "yes" (before the visit) closes the heads' task and reassures the nurse.
    ani = family.people[0]
    await ani.user.press(YES)
    await ani.user.wait_message()  # thanks
    [task] = await tasks(hc.db)
    assert task.resolved_at is not None
    late = await staff.nurse_person.user.wait_message()
    assert "sekarang sudah dikonfirmasi" in late.plain_text


@pytest.mark.parametrize(
    ("language", "expected", "wrong"),
    [
        ("id", "belum sempat ditanya", "belum menjawab"),
        ("en", "has not been asked", "did not answer"),
    ],
)
async def test_planned_after_the_deadline_the_nurse_is_not_told_the_family_did_not_answer(
    clock: time_machine.Traveller,
    start_app: StartApp,
    client: Any,
    language: str,
    expected: str,
    wrong: str,
) -> None:
    """A visit placed at 20:30 was never asked about: the heads still get their task (someone
    must phone), but the nurse's note says the family was not asked, not that it did not answer."""
    hc = await start_app()
    staff = await seed_staff(hc, client)
    async with hc.db.transaction() as s:
        await s.execute(
            update(Account)
            .where(Account.id == staff.nurse_person.account.id)
            .values(language=language, language_chosen=True)
        )
    family = await seed_family(hc, client, "ani")
    late = DEADLINE + timedelta(minutes=30)
    clock.move_to(late)
    visit = await seed_visit(hc, family, now=late, nurse=staff.nurse, arrival=ARRIVAL)
    assert {r.kind for r in await reminders_of(hc.db, visit.id)} == {
        "confirmation_deadline",
        "before_arrival",
    }
    await _fire(hc)
    v = await fresh_visit(hc.db, visit.id)
    assert (v.status, v.confirmation) == ("scheduled", "unanswered")
    assert [t.visit_id for t in await tasks(hc.db)] == [visit.id]
    note = (await staff.nurse_person.user.wait_message()).plain_text
    assert expected in note and wrong not in note, note
    assert "+6281234567890" in note


async def test_forged_and_foreign_buttons_change_nothing(
    clock: time_machine.Traveller, start_app: StartApp, client: Any
) -> None:
    hc, _staff, family, visit = await _setup(start_app, client, caregivers=0)
    stranger = await seed_family(hc, client, "budi")
    clock.move_to(EVENING + timedelta(seconds=5))
    await _fire(hc)
    await family.people[0].user.wait_message()
    # A forged press needs a message to hang on: the stranger got one of their own.
    await queue_texts(hc, [(stranger.people[0].account.chat_id, "Halo Budi")])
    await stranger.people[0].user.wait_message()
    day = VISIT_DAY.toordinal()
    cases = [
        (stranger.people[0].user, f"cf:{visit.id}:{day}:y", "bukan untuk Anda"),
        (stranger.people[0].user, f"cf:{visit.id}:{day}:x", "bukan untuk Anda"),
        (family.people[0].user, f"cf:{visit.id}:{day + 1}:y", "sudah tidak berlaku"),
        (family.people[0].user, f"cf:{visit.id}:{day}:z", "Tombol ini sudah tidak berlaku"),
        (family.people[0].user, f"cf:{visit.id}:-1:y", "Tombol ini sudah tidak berlaku"),
        (family.people[0].user, "cf:99999:1:y", "bukan untuk Anda"),
        (family.people[0].user, "cf:" + "9" * 40 + ":1:y", "Tombol ini sudah tidak berlaku"),
    ]
    for user, data, expected in cases:
        press = await user.press_forged(data)
        answer = await user.callback_answer(press)
        assert answer is not None and expected in (answer.text or ""), (data, answer)
    v = await fresh_visit(hc.db, visit.id)
    assert (v.status, v.confirmation) == ("scheduled", None)


async def test_reschedule_button_opens_the_day_choice(
    clock: time_machine.Traveller, start_app: StartApp, client: Any
) -> None:
    hc, _staff, family, visit = await _setup(start_app, client, caregivers=0)
    (ani,) = family.people
    clock.move_to(EVENING + timedelta(seconds=5))
    await _fire(hc)
    await ani.user.wait_message()
    await ani.user.press(MOVE)
    choice = await ani.user.wait_message()
    # The family's reschedule flow (/kunjungan_saya) at its day step: one button per open day.
    assert "Pindahkan kunjungan" in choice.plain_text
    days = [b for b in choice.buttons if (b.callback_data or "").split(":")[2:3] == ["d"]]
    assert len(days) >= 2, choice.button_rows()
    assert (await fresh_visit(hc.db, visit.id)).status == "scheduled"  # nothing moved yet


async def test_deadline_rows_of_a_batch_cost_no_query_each(
    clock: time_machine.Traveller, start_app: StartApp, client: Any
) -> None:
    """A batch of deadline rows holds the write lock (a person's update waits for it): they are
    handled with the batch's queries, not several per row, and still flag, task and tell each
    visit's nurse once."""
    hc, staff, family, first = await _setup(start_app, client)
    others = [
        await seed_visit(hc, family, now=NOW, nurse=staff.nurse, arrival=ARRIVAL, window=w)
        for w in ((10, 12), (12, 14))
    ]
    hc.jobs.scheduler.pause()  # the test fires the rows itself, batch by batch
    clock.move_to(DEADLINE + timedelta(seconds=5))
    selects: list[str] = []

    def count(_c: Any, _cur: Any, statement: str, *_a: Any) -> None:
        if statement.startswith("SELECT"):  # writes are flushed together; reads are awaited
            selects.append(statement)

    async def fire(limit: int) -> int:
        selects.clear()
        async with hc.db.transaction() as s:
            conn = (await s.connection()).sync_connection
            assert conn is not None
            event.listen(conn, "before_cursor_execute", count)
            try:
                fired = await fire_due(s, hc.config, utcnow(), limit=limit)
            finally:
                event.remove(conn, "before_cursor_execute", count)
        assert fired.unanswered == (1 if limit == 1 else 2)
        return len(selects)

    async with hc.db.transaction() as s:  # only the deadline rows are due now
        await s.execute(
            update(Reminder)
            .where(Reminder.kind != "confirmation_deadline")
            .values(status="cancelled")
        )
    one, two = await fire(1), await fire(10)
    assert one == two, (one, two)
    for v in (first, *others):
        assert (await fresh_visit(hc.db, v.id)).confirmation == "unanswered"
    assert sorted(t.visit_id for t in await tasks(hc.db)) == sorted(v.id for v in (first, *others))
    async with hc.db.read() as s:
        notes = list(
            await s.scalars(
                select(OutboxMessage.dedupe_key).where(OutboxMessage.kind == "nurse_unconfirmed")
            )
        )
    assert len(notes) == len(set(notes)) == 3
