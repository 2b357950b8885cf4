"""The outbox relay against the sandbox: order per chat, pacing, errors, escalation, priority."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from telegram.error import NetworkError, TimedOut

from bot.delivery_policy import AtRisk, Pace, backoff_s, surely_not_sent
from bot.messages import Reply, to_payload
from db.models import Account, OutboxMessage, PatientLink, StaffTask
from db.services import outbox
from homecare.config import Config
from tests.delivery.conftest import StartApp
from tests.delivery.helpers import (
    copies,
    fast_delivery,
    outbox_rows,
    person,
    queue_texts,
    seed_family,
    settled,
    tasks,
    wait_until,
)


async def test_messages_to_one_chat_arrive_once_and_in_order(
    start_app: StartApp, client: Any
) -> None:
    hc = await start_app()
    users = [await client.user(f"u{i}", started=True) for i in range(4)]
    texts = [(u.id, f"{u.name} message {n}") for n in range(3) for u in users]
    ids = await queue_texts(hc, texts)

    async def done() -> bool:
        return await settled(hc.db, ids)

    await wait_until(done)
    for u in users:
        got = [m.plain_text for m in await client.messages(u.id)]
        assert got == [f"{u.name} message {n}" for n in range(3)]
    rows = await outbox_rows(hc.db, ids)
    assert {r.status for r in rows} == {"sent"}
    assert all(r.telegram_message_id for r in rows)


async def test_limits_enforced_by_the_sandbox_are_never_hit(
    start_app: StartApp, client: Any
) -> None:
    """Telegram's limits switched on in the sandbox (per chat 1/s burst 3, 30/s overall): the
    relay's own pacing stays under them, so no 429 at all, and each chat keeps its order."""
    await client.set_limits(per_chat_rate=1.0, per_chat_burst=3, global_rate=30, global_burst=30)
    hc = await start_app()
    users = [await client.user(f"p{i}", started=True) for i in range(30)]
    texts = [(u.id, f"{u.name}#{n}") for n in range(4) for u in users]
    ids = await queue_texts(hc, texts)

    async def done() -> bool:
        return await settled(hc.db, ids)

    await wait_until(done, timeout=60)
    stats = await client.stats()
    send = stats["methods"]["sendMessage"]
    assert send.get("rate_limited", 0) == 0
    assert send["ok"] == len(texts)
    for u in users:
        assert [m.plain_text for m in await client.messages(u.id)] == [
            f"{u.name}#{n}" for n in range(4)
        ]


async def test_the_sandbox_does_answer_429_when_a_sender_ignores_the_limits(
    start_app: StartApp, client: Any, make_config: Callable[..., Config], sandbox: Any
) -> None:
    """The check above means something: the same load without pacing provokes 429s, and the
    relay still delivers everything once, honouring retry_after."""
    await client.set_limits(per_chat_rate=1.0, per_chat_burst=3, global_rate=30, global_burst=30)
    hc = await start_app(fast_delivery(make_config(sandbox), global_rate_per_s=30.0))
    users = [await client.user(f"q{i}", started=True) for i in range(3)]
    texts = [(u.id, f"{u.name}#{n}") for n in range(6) for u in users]
    ids = await queue_texts(hc, texts)

    async def done() -> bool:
        return await settled(hc.db, ids)

    await wait_until(done, timeout=60)
    send = (await client.stats())["methods"]["sendMessage"]
    assert send["rate_limited"] > 0
    assert send["ok"] == len(texts)
    seen = await copies(client, [u.id for u in users])
    assert set(seen.values()) == {1}
    for u in users:
        assert [m.plain_text for m in await client.messages(u.id)] == [
            f"{u.name}#{n}" for n in range(6)
        ]


async def test_retry_after_is_honoured(
    start_app: StartApp, client: Any, make_config: Callable[..., Config], sandbox: Any
) -> None:
    hc = await start_app(fast_delivery(make_config(sandbox)))
    u = await client.user("ria", started=True)
    await client.set_faults([{"kind": "retry_after", "retry_after": 2, "times": 1}])
    loop = asyncio.get_running_loop()
    started = loop.time()
    ids = await queue_texts(hc, [(u.id, "first"), (u.id, "second")])

    async def done() -> bool:
        return await settled(hc.db, ids)

    await wait_until(done)
    assert loop.time() - started >= 2.0
    assert [m.plain_text for m in await client.messages(u.id)] == ["first", "second"]
    first = (await outbox_rows(hc.db, ids))[0]
    assert first.attempts == 2 and first.uncertain == 0


async def test_unreachable_patient_is_undeliverable_and_heads_get_one_phone_task(
    start_app: StartApp, client: Any, make_config: Callable[..., Config], sandbox: Any
) -> None:
    hc = await start_app(fast_delivery(make_config(sandbox)))
    family = await seed_family(hc, client, "ani", caregivers=1)
    patient, caregiver = family.people
    # The son's Telegram never opened a chat with the bot (403 "can't initiate"); the nurse
    # blocked it (403 "blocked").
    son = await person(hc, client, "ani-son", ("caregiver",), started=False)
    async with hc.db.transaction() as s:
        s.add(
            PatientLink(
                account_id=son.account.id, patient_id=family.patient.id, relation="caregiver"
            )
        )
    nurse = await person(hc, client, "nina", ("nurse",))
    await nurse.user.block()
    accounts = {p.account.chat_id: p.account.id for p in (patient, caregiver, son, nurse)}
    ids = await queue_texts(
        hc,
        [
            (son.account.chat_id, "one"),
            (son.account.chat_id, "two"),
            (caregiver.account.chat_id, "to the daughter"),
            (nurse.account.chat_id, "to the nurse"),
        ],
        account_ids=accounts,
    )

    async def done() -> bool:
        return await settled(hc.db, ids)

    await wait_until(done)
    rows = await outbox_rows(hc.db, ids)
    assert [r.status for r in rows] == ["undeliverable", "undeliverable", "sent", "undeliverable"]
    async with hc.db.read() as s:
        marked = await s.scalar(
            select(Account.undeliverable_at).where(Account.id == son.account.id)
        )
    assert marked is not None
    # One task for the family member however many messages bounced; none for staff.
    assert [(t.kind, t.account_id, t.patient_id) for t in await tasks(hc.db)] == [
        ("unreachable", son.account.id, family.patient.id)
    ]


async def test_a_refused_message_fails_alone_and_the_relay_goes_on(
    start_app: StartApp, client: Any, make_config: Callable[..., Config], sandbox: Any
) -> None:
    hc = await start_app(fast_delivery(make_config(sandbox)))
    u = await client.user("budi", started=True)
    ids = await queue_texts(hc, [(u.id, "<b>broken"), (u.id, "fine")])

    async def done() -> bool:
        return await settled(hc.db, ids)

    await wait_until(done)
    rows = await outbox_rows(hc.db, ids)
    assert [r.status for r in rows] == ["failed", "sent"]
    assert rows[0].attempts == 1 and "parse entities" in (rows[0].last_error or "")
    assert [m.plain_text for m in await client.messages(u.id)] == ["fine"]


async def test_a_timeout_after_delivery_gives_exactly_one_duplicate(
    start_app: StartApp, client: Any, make_config: Callable[..., Config], sandbox: Any
) -> None:
    """The explicit policy: an uncertain outcome (the message arrived, the answer did not) is
    resent once: two copies, never none, and the row records the uncertainty."""
    config = fast_delivery(make_config(sandbox))
    import dataclasses

    config = config.replace(telegram=dataclasses.replace(config.telegram, request_timeout_s=0.5))
    hc = await start_app(config)
    u = await client.user("citra", started=True)
    await client.set_faults(
        [{"kind": "stall", "stall_seconds": 1.5, "after_delivery": True, "times": 1}]
    )
    ids = await queue_texts(hc, [(u.id, "arrives twice")])

    async def done() -> bool:
        return await settled(hc.db, ids)

    await wait_until(done)
    (row,) = await outbox_rows(hc.db, ids)
    assert (row.status, row.attempts, row.uncertain) == ("sent", 2, 1)
    assert await copies(client, [u.id]) == {"arrives twice": 1 + 1}


async def test_a_reply_overtakes_a_backlog_of_reminders(start_app: StartApp, client: Any) -> None:
    """2,000 reminders would take over a minute; a person waiting for an answer must not wait
    behind them: the reply takes the next free slot."""
    hc = await start_app()
    users = [await client.user(f"r{i}", started=True) for i in range(150)]
    bulk = await queue_texts(hc, [(u.id, f"reminder {u.name}") for u in users])
    await asyncio.sleep(0.5)  # the backlog is being sent
    asker = await client.user("asker", started=True)
    (reply,) = await queue_texts(hc, [(asker.id, "your answer")], kind="reply")

    async def answered() -> bool:
        return (await outbox_rows(hc.db, [reply]))[0].status == "sent"

    await wait_until(answered, timeout=10)
    rows = await outbox_rows(hc.db, bulk)
    waiting = sum(1 for r in rows if r.status == "pending")
    # At 29/s, 150 reminders take about 5 s; the reply went out within the first ~1 s.
    assert waiting > 100


def test_surely_not_sent_tells_apart_what_may_have_arrived() -> None:
    def wrapped(exc: Exception, cls: type[NetworkError] = NetworkError) -> NetworkError:
        err = cls("x")
        err.__cause__ = exc
        return err

    request = httpx.Request("POST", "http://t")
    assert surely_not_sent(wrapped(httpx.ConnectError("refused", request=request)))
    assert surely_not_sent(wrapped(httpx.ConnectTimeout("slow", request=request), TimedOut))
    assert surely_not_sent(wrapped(httpx.PoolTimeout("busy", request=request), TimedOut))
    assert surely_not_sent(NetworkError("Internal Server Error (500)"))  # Telegram answered
    assert not surely_not_sent(wrapped(httpx.ReadTimeout("late", request=request), TimedOut))
    assert not surely_not_sent(wrapped(httpx.RemoteProtocolError("dropped", request=request)))
    assert not surely_not_sent(wrapped(httpx.ReadError("reset", request=request)))


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    rng = random.Random(1)
    waits = [backoff_s(n, 60.0, rng) for n in range(1, 12)]
    for n, w in enumerate(waits, start=1):
        top = min(60.0, 2.0 ** (n - 1))
        assert top / 2 <= w <= top
    assert max(waits) <= 60.0


def test_pace_allows_a_burst_then_the_rate() -> None:
    pace = Pace(1.0, burst=2)
    now = 100.0
    times = []
    for _ in range(5):
        now += pace.delay(now)
        pace.consume(now)
        times.append(now)
    assert times == [100.0, 100.0, 101.0, 102.0, 103.0]


@pytest.mark.parametrize("kind", ["server_error", "bad_gateway", "reset"])
async def test_server_and_network_errors_are_retried(
    kind: str,
    start_app: StartApp,
    client: Any,
    make_config: Callable[..., Config],
    sandbox: Any,
) -> None:
    hc = await start_app(fast_delivery(make_config(sandbox)))
    u = await client.user("dewi", started=True)
    await client.set_faults([{"kind": kind, "times": 2}])
    ids = await queue_texts(hc, [(u.id, "eventually")])

    async def done() -> bool:
        return await settled(hc.db, ids)

    await wait_until(done, timeout=20)
    (row,) = await outbox_rows(hc.db, ids)
    assert (row.status, row.attempts) == ("sent", 3)
    # A reset may hide a delivery (uncertain); a 5xx answer proves none happened.
    assert row.uncertain == (2 if kind == "reset" else 0)
    assert [m.plain_text for m in await client.messages(u.id)] == ["eventually"]


async def test_a_row_left_sending_by_a_crash_is_sent_again_at_start(
    start_app: StartApp,
    client: Any,
    database: Any,
    make_config: Callable[..., Config],
    sandbox: Any,
) -> None:
    """A row found in `sending` at start may or may not have arrived: it is sent again once and
    counted uncertain (the relay's recovery; the crash tests do this with real crashes)."""
    u = await client.user("eka", started=True)
    async with database.transaction() as s:
        s.add(
            OutboxMessage(
                chat_id=u.id,
                method="sendMessage",
                payload={"chat_id": u.id, "text": "left in sending"},
                kind="reminder_test",
                status="sending",
                attempts=1,
            )
        )
    hc = await start_app(fast_delivery(make_config(sandbox)))

    async def done() -> bool:
        async with hc.db.read() as s:
            row = await s.scalar(select(OutboxMessage).where(OutboxMessage.chat_id == u.id))
        return row is not None and row.status == "sent"

    await wait_until(done)
    async with hc.db.read() as s:
        row = await s.scalar(select(OutboxMessage).where(OutboxMessage.chat_id == u.id))
        assert row is not None and (row.attempts, row.uncertain) == (2, 1)
        assert await s.scalar(select(StaffTask.id)) is None
    assert [m.plain_text for m in await client.messages(u.id)] == ["left in sending"]


async def test_a_backlog_larger_than_memory_is_loaded_as_room_frees(
    start_app: StartApp, client: Any, make_config: Callable[..., Config], sandbox: Any
) -> None:
    hc = await start_app(fast_delivery(make_config(sandbox)))
    hc.relay.max_in_memory = 15
    users = [await client.user(f"m{i}", started=True) for i in range(60)]
    ids = []
    async with hc.db.transaction() as s:  # committed without announcing the ids: scans find them
        for u in users:
            row = await outbox.queue(
                s,
                chat_id=u.id,
                method="sendMessage",
                payload=to_payload(u.id, Reply(f"{u.name} hi")),
                kind="reminder_test",
            )
            assert row is not None
            ids.append(row.id)
    hc.relay.wake()
    peak = 0

    async def done() -> bool:
        nonlocal peak
        peak = max(peak, hc.relay.backlog)
        return await settled(hc.db, ids)

    await wait_until(done, timeout=30, every=0.01)
    assert 0 < peak <= 15
    assert {r.status for r in await outbox_rows(hc.db, ids)} == {"sent"}
    assert sum((await copies(client, [u.id for u in users])).values()) == 60


async def test_an_edit_is_not_paced_behind_a_backlog_of_messages(
    start_app: StartApp, client: Any
) -> None:
    """Telegram limits new messages, not edits: a keyboard edit queued after 150 reminders (and
    with no reply's priority) goes out while the reminders still wait for the 29/s pacer."""
    hc = await start_app()
    asker = await client.user("asker", started=True)
    (first,) = await queue_texts(hc, [(asker.id, "question")], kind="reply")

    async def asked() -> bool:
        return (await outbox_rows(hc.db, [first]))[0].status == "sent"

    await wait_until(asked, timeout=10)
    message_id = (await outbox_rows(hc.db, [first]))[0].telegram_message_id
    users = [await client.user(f"e{i}", started=True) for i in range(150)]
    bulk = await queue_texts(hc, [(u.id, f"reminder {u.name}") for u in users])
    async with hc.db.transaction() as s:
        row = await outbox.queue(
            s,
            chat_id=asker.id,
            method="editMessageReplyMarkup",
            payload={"chat_id": asker.id, "message_id": message_id, "reply_markup": None},
            kind="reminder_test",
            clinic_id=hc.clinic_id,
        )
        assert row is not None
        edit = row.id
    hc.relay.wake([edit])

    async def edited() -> bool:
        return (await outbox_rows(hc.db, [edit]))[0].status == "sent"

    await wait_until(edited, timeout=10)
    rows = await outbox_rows(hc.db, bulk)
    # At 29/s the reminders take about 5 s; the edit did not wait for them.
    assert sum(1 for r in rows if r.status == "pending") > 100


def test_a_message_waits_for_the_one_in_flight_unless_the_network_is_slower_than_the_pace() -> None:
    risk = AtRisk(interval=0.1)
    assert risk.room(5.0) == 0.0  # nothing in flight
    risk.starts["a"] = 5.0
    assert risk.room(5.5) == pytest.approx(0.5)  # alone: until it is marked (or stuck, 1 s)
    risk.answered("a", 5.02)  # answered in 20 ms: under the interval
    assert risk.room(5.03) == pytest.approx(0.97)  # still at risk until it is marked
    del risk.starts["a"]  # marked
    assert risk.typical == pytest.approx(0.02)
    risk.starts["b"] = 6.0
    assert risk.room(6.2) == pytest.approx(0.8)
    risk.answered("b", 6.9)  # a slow network: 0.2 × 0.9 + 0.8 × 0.02 = 0.196 s > 0.1 s
    del risk.starts["b"]
    assert risk.typical == pytest.approx(0.196)
    risk.starts["c"] = 7.0
    assert risk.room(7.05) == pytest.approx(0.025)  # the next after 3/4 of an interval
    risk.starts["d"] = 7.075  # the newest counts
    assert risk.room(7.1) == pytest.approx(0.05)
    del risk.starts["c"], risk.starts["d"]
    assert risk.room(7.4) == 0.0


async def _peak_at_risk(hc: Any) -> list[int]:
    seen: list[int] = []

    async def hook(stage: str, row_id: int) -> None:
        if stage == "claimed":
            seen.append(hc.relay.messages_at_risk)

    hc.relay.hook = hook
    return seen


async def test_a_burst_goes_out_one_message_at_a_time_so_a_crash_repeats_at_most_one(
    start_app: StartApp, client: Any, make_config: Callable[..., Config], sandbox: Any
) -> None:
    """The pacer allows a burst of 10, yet a message sent and not yet marked would be sent again
    after a crash: while Telegram answers within the pacing interval, one is in flight at a time
    (the relay could have 8 in flight)."""
    config = make_config(sandbox)
    config = config.replace(
        delivery=dataclasses.replace(config.delivery, global_rate_per_s=4.0, global_burst=10)
    )
    hc = await start_app(config)
    users = [await client.user(f"b{i}", started=True) for i in range(10)]
    seen = await _peak_at_risk(hc)
    ids = await queue_texts(hc, [(u.id, f"burst {u.name}") for u in users])

    async def done() -> bool:
        return await settled(hc.db, ids)

    await wait_until(done, timeout=30)
    assert len(seen) >= 10 and max(seen) == 1, seen


async def test_with_a_slow_network_as_many_messages_fly_as_the_rate_needs(
    start_app: StartApp, client: Any, make_config: Callable[..., Config], sandbox: Any
) -> None:
    """Each request held 0.3 s at 10 messages/s: one at a time would give 3/s; once the relay has
    seen the round trip exceed the interval (0.1 s) it starts the next one 3/4 of an interval
    (75 ms) after the newest, so about 4 are in flight."""
    config = make_config(sandbox)
    config = config.replace(
        delivery=dataclasses.replace(config.delivery, global_rate_per_s=10.0, global_burst=10)
    )
    hc = await start_app(config)
    users = [await client.user(f"s{i}", started=True) for i in range(12)]
    await client.set_faults(
        [{"kind": "stall", "stall_seconds": 0.3, "stall_then": "answer", "probability": 1.0}]
    )
    seen = await _peak_at_risk(hc)
    ids = await queue_texts(hc, [(u.id, f"slow {u.name}") for u in users])

    async def done() -> bool:
        return await settled(hc.db, ids)

    await wait_until(done, timeout=30)
    assert len(seen) >= 12 and 2 <= max(seen) <= 5, seen
