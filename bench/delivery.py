"""Delivery benchmark: 2,000 reminders due in the same minute, through the sandbox's flood limits.

    python bench/delivery.py [--count 2000] [--latency-ms 100] [--database-url URL]
                             [--no-baseline]

The sandbox enforces Telegram's limits (30 messages/s for the bot, burst 30; 1 message/s per
chat, burst 3) and answers 429 with retry_after when a sender exceeds them. Every sendMessage
is held `--latency-ms` before the sandbox handles it (its "stall" fault at probability 1, then
answered), standing in for the network between a puskesmas and Telegram's servers (loopback
answers in about a millisecond, which no real bot sees). The clinic has
`--count` patients, each with a planned visit whose before-arrival reminder falls due a few
seconds after seeding, all in the same minute. The bot — built by `build_application` like in
production, with its reminder job and outbox relay — fires them and delivers them.

Two relays side by side on the same data and the same sandbox limits:

* **naive serial** — the baseline: one row after the other in id order (claim, send, mark, as
  a straightforward relay would), no pacing; on a 429 it sleeps `retry_after` and tries again.
* **homecare** — `bot.delivery.Relay`: lanes per chat, GCRA pacing at `[delivery]
  global_rate_per_s` (29/s by default), concurrent requests.

Printed per relay: messages delivered, 429 answers the relay received, the achieved rate from
the first to the last reminder's `sent_at` (reminders alone, and all messages sent in that span,
replies included, which is what Telegram's limit counts) next to the 30 msg/s limit, the time
from the reminders' due moment to the last delivery, and how long a person's reply (queued once a
second meanwhile, as a turn would) waited from its commit to its delivery. The table is also
written to bench/results/delivery.md.
The database is a temporary SQLite file unless `--database-url` (e.g. PostgreSQL) is given; the
bot and the sandbox share this process (2 cores: each costs the other some CPU).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import platform
import statistics
import sys
import tempfile
import time as _time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, text, update  # noqa: E402
from telegram.error import RetryAfter, TelegramError  # noqa: E402

from bench.report import aligned_table, publish  # noqa: E402
from bot.app import HomecareApp, build_application  # noqa: E402
from bot.delivery_policy import retry_after_s  # noqa: E402
from bot.messages import Reply, to_payload  # noqa: E402
from db.models import (  # noqa: E402
    Account,
    AccountRole,
    Nurse,
    OutboxMessage,
    Patient,
    PatientLink,
    Reminder,
    Visit,
)
from db.services import delivery as store  # noqa: E402
from db.services import outbox  # noqa: E402
from db.services.reminders import sync_visit_reminders  # noqa: E402
from db.session import Database  # noqa: E402
from db.types import utcnow  # noqa: E402
from homecare.config import Config  # noqa: E402
from sandbox.policy import Fault, RateLimits  # noqa: E402
from sandbox.server import SandboxServer  # noqa: E402

TOKEN = "123456789:BENCH-token-for-the-sandbox-000"
LIMIT = 30.0
RESULTS = ROOT / "bench" / "results" / "delivery.md"
LIMITS = RateLimits(
    enabled=True, per_chat_rate=1.0, per_chat_burst=3, global_rate=LIMIT, global_burst=30
)


@dataclasses.dataclass
class Result:
    name: str
    delivered: int
    rate_limited: int
    rate: float  # reminders only
    total_rate: float  # every message in the same span (the replies too): what the limit counts
    first_to_last_s: float
    due_to_last_s: float
    reply_median_s: float
    reply_max_s: float


async def ask_while_busy(hc: HomecareApp, chat_id: int, done: asyncio.Event) -> None:
    """A person's reply queued every second while the reminders go out (as a turn would)."""
    n = 0
    while not done.is_set():
        async with hc.db.transaction() as s:
            row = await outbox.queue(
                s,
                chat_id=chat_id,
                method="sendMessage",
                payload=to_payload(chat_id, Reply(f"jawaban {n}")),
                kind="reply",
            )
        assert row is not None
        hc.relay.wake([row.id])
        n += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), timeout=1.0)


NAIVE_429 = [0]


async def naive_relay(hc: HomecareApp, stop: asyncio.Event) -> None:
    """The baseline: serial, in id order, no pacing; sleeps retry_after on a 429."""
    bot = hc.application.bot
    while not stop.is_set():
        async with hc.db.read() as s:
            ids = list(
                await s.scalars(
                    select(OutboxMessage.id)
                    .where(OutboxMessage.status == "pending")
                    .order_by(OutboxMessage.id)
                )
            )
        if not ids:
            await asyncio.sleep(0.05)
            continue
        for row_id in ids:
            async with hc.db.transaction() as s:
                claimed = await store.claim(s, row_id, utcnow())
            if claimed is None:
                continue
            while True:
                try:
                    result = await bot.do_api_request(claimed.method, api_kwargs=claimed.payload)
                    break
                except RetryAfter as exc:
                    NAIVE_429[0] += 1
                    await asyncio.sleep(retry_after_s(exc))
                except TelegramError:
                    await asyncio.sleep(1.0)
            async with hc.db.transaction() as s:
                message_id = result.get("message_id") if isinstance(result, dict) else None
                await store.mark_sent(s, row_id, message_id, utcnow())


async def seed(hc: HomecareApp, server: SandboxServer, count: int, due: datetime) -> None:
    """`count` patients, each with a scheduled visit whose before-arrival reminder is `due`."""
    tz = hc.config.clinic.tz
    arrival = due + timedelta(minutes=hc.config.schedule.reminder_before_arrival_min)
    local = arrival.astimezone(tz)
    start_hour = min(local.hour, 22)
    window = (local.time().replace(hour=start_hour, minute=0, second=0, microsecond=0),)
    window_end = window[0].replace(hour=start_hour + 1)
    nurse_user, _ = server.control.create({"name": "bench-nurse", "started": True})
    async with hc.db.transaction() as s:
        nurse_account = Account(
            telegram_user_id=nurse_user.id,
            chat_id=nurse_user.id,
            first_name="Sri",
            roles=[AccountRole(clinic_id=hc.clinic_id, role="nurse")],
        )
        s.add(nurse_account)
        await s.flush()
        nurse = Nurse(clinic_id=hc.clinic_id, account_id=nurse_account.id, name="Sri Wahyuni")
        s.add(nurse)
        await s.flush()
        for i in range(count):
            user, _ = server.control.create({"name": f"pasien{i:05d}", "started": True})
            account = Account(
                telegram_user_id=user.id,
                chat_id=user.id,
                first_name=user.first_name,
                roles=[AccountRole(clinic_id=hc.clinic_id, role="patient")],
            )
            patient = Patient(clinic_id=hc.clinic_id, full_name=f"Pasien {i}", phone="+62811")
            s.add_all([account, patient])
            await s.flush()
            s.add(PatientLink(account_id=account.id, patient_id=patient.id, relation="self"))
            visit = Visit(
                clinic_id=hc.clinic_id,
                code=f"B{i:06d}",
                patient_id=patient.id,
                service_type="chronic_check",
                day=local.date(),
                window_start=window[0],
                window_end=window_end,
                duration_min=30,
                # Confirmed by the family: the before-arrival reminder is the only one left.
                status="confirmed",
                confirmation="yes",
                nurse_id=nurse.id,
                planned_arrival=arrival,
            )
            s.add(visit)
            await s.flush()
            await sync_visit_reminders(s, visit, hc.config, utcnow())


async def one_run(
    name: str,
    count: int,
    url: str,
    relay: Callable[..., Coroutine[Any, Any, None]] | None,
    latency_s: float,
) -> Result:
    server = SandboxServer(limits=LIMITS)
    await server.start()
    if latency_s > 0:
        server.faults.configure(
            [Fault(kind="stall", stall_seconds=latency_s, stall_then="answer", probability=1.0)]
        )
    db = Database(url)
    if not db.is_sqlite:
        async with db.engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    await db.create_all()
    cfg = Config()
    cfg = cfg.replace(
        telegram=dataclasses.replace(
            cfg.telegram, token=TOKEN, base_url=server.bot_api_base_url, poll_timeout_s=5
        ),
        database=dataclasses.replace(cfg.database, url=url),
        web=dataclasses.replace(cfg.web, port=0),  # the console on any free port
    )
    hc = build_application(cfg, db=db)
    stop = asyncio.Event()
    if relay is not None:
        hc.relay.run_forever = lambda: relay(hc, stop)  # type: ignore[method-assign]
    await hc.start()
    # Seeded for an hour from now, then all moved to the same moment two seconds ahead (the
    # job is told, as after any change), so seeding time does not count.
    await seed(hc, server, count, utcnow() + timedelta(hours=1))
    due = utcnow() + timedelta(seconds=2)
    async with db.transaction() as s:
        await s.execute(update(Reminder).where(Reminder.status == "pending").values(due_at=due))
    hc.jobs.reminders_changed()
    asker, _ = server.control.create({"name": "asker", "started": True})
    finished = asyncio.Event()
    asking = asyncio.create_task(ask_while_busy(hc, asker.id, finished))
    wanted = count
    while True:
        async with db.read() as s:
            sent = await s.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status == "sent", OutboxMessage.kind.like("reminder_%"))
            )
        if sent == wanted:
            break
        await asyncio.sleep(0.2)
    async with db.read() as s:
        first, last = (
            await s.execute(
                select(func.min(OutboxMessage.sent_at), func.max(OutboxMessage.sent_at)).where(
                    OutboxMessage.kind.like("reminder_%")
                )
            )
        ).one()
    async with db.read() as s:
        delivered = await s.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status == "sent", OutboxMessage.kind.like("reminder_%"))
        )
    limited = NAIVE_429[0] if relay is not None else hc.relay.stats["rate_limited"]
    finished.set()
    await asking
    while True:  # the last replies
        async with db.read() as s:
            waits = [
                (sent - created).total_seconds()
                for sent, created in await s.execute(
                    select(OutboxMessage.sent_at, OutboxMessage.created_at).where(
                        OutboxMessage.kind == "reply"
                    )
                )
                if sent is not None
            ]
            unsent = await s.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.kind == "reply", OutboxMessage.status != "sent")
            )
        if not unsent:
            break
        await asyncio.sleep(0.2)
    stop.set()
    await hc.stop()
    await server.stop()
    assert first is not None and last is not None
    span = (last - first).total_seconds()
    async with db.read() as s:
        replies_between = int(
            await s.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(
                    OutboxMessage.kind == "reply",
                    OutboxMessage.sent_at > first,
                    OutboxMessage.sent_at <= last,
                )
            )
            or 0
        )
    return Result(
        name=name,
        delivered=int(delivered or 0),
        rate_limited=int(limited),
        rate=(wanted - 1) / span if span > 0 else float("inf"),
        total_rate=(wanted - 1 + replies_between) / span if span > 0 else float("inf"),
        first_to_last_s=span,
        due_to_last_s=(last - due).total_seconds(),
        reply_median_s=statistics.median(waits),
        reply_max_s=max(waits),
    )


def table(results: list[Result]) -> str:
    header = [
        "relay",
        "delivered",
        "429 answers",
        "reminders/s",
        "all msg/s",
        f"of the {LIMIT:.0f}/s limit",
        "first→last s",
        "due→last s",
        "reply wait median / max s",
    ]
    rows = [
        [
            r.name,
            str(r.delivered),
            str(r.rate_limited),
            f"{r.rate:.1f}",
            f"{r.total_rate:.1f}",
            f"{r.total_rate / LIMIT:.2f}",
            f"{r.first_to_last_s:.1f}",
            f"{r.due_to_last_s:.1f}",
            f"{r.reply_median_s:.2f} / {r.reply_max_s:.2f}",
        ]
        for r in results
    ]
    if len(results) == 2:
        base, ours = results
        rows.append(
            [
                "ratio homecare / naive",
                "",
                "",
                f"{ours.rate / base.rate:.2f}×",
                f"{ours.total_rate / base.total_rate:.2f}×",
                "",
                f"{ours.first_to_last_s / base.first_to_last_s:.2f}×",
                f"{ours.due_to_last_s / base.due_to_last_s:.2f}×",
                f"{ours.reply_median_s / base.reply_median_s:.3f}×",
            ]
        )
    return aligned_table(header, rows)


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    runs: list[tuple[str, Callable[..., Coroutine[Any, Any, None]] | None]] = []
    if not args.no_baseline:
        runs.append(("naive serial", naive_relay))
    runs.append(("homecare relay", None))
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, relay) in enumerate(runs):
            url = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench-{i}.db"
            print(f"{name}: {args.count} reminders …", flush=True)
            started = _time.monotonic()
            results.append(await one_run(name, args.count, url, relay, args.latency_ms / 1000))
            print(f"  done in {_time.monotonic() - started:.0f} s", flush=True)
    cfg = Config().delivery
    title = (
        f"Delivery: {args.count} reminders due in the same minute, sandbox limits "
        f"{LIMIT:.0f} msg/s (burst 30) and 1 msg/s per chat (burst 3), "
        f"{args.latency_ms:g} ms per request; homecare pacing "
        f"{cfg.global_rate_per_s:g}/s, concurrency {cfg.concurrency}; "
        f"{'SQLite' if not args.database_url else args.database_url.split(':')[0]}; "
        f"{datetime.now(UTC):%Y-%m-%d}, {platform.machine()}"
    )
    publish(title, table(results), RESULTS)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
