"""Interactive benchmark: N new families book a home visit at once, with Telegram's limits enforced.

    python bench/interactive.py [--families 100] [--think-s 1.0] [--latency-ms 0]
                                [--database-url URL] [--no-baseline] [--seed 1]

Each family is a new sandbox user who goes through the whole conversation a family has today,
from /start to a confirmed request (12 actions since issue 10, 24 before: "agree — for myself",
name, phone shared from the reply keyboard, NIK, one typed address, location shared, the
service, the one danger-sign question, the complaint, the earliest slot and the confirm). After each
action the family waits for the bot's answer (the next question), thinks `--think-s`, and goes
on. All families start within the first think time (seeded jitter), so they book "at once".

The sandbox enforces Telegram's limits (30 messages/s for the bot, burst 30; 1 message/s per
chat, burst 3) and answers 429 when they are exceeded. It runs in a child process with the
families' driver, standing in for Telegram and its users on another machine; the bot runs in
this process, built by `build_application` as in production, with a clinic of `--nurses`
nurses so that capacity never runs out. `--latency-ms` holds every Bot API call that long in
the sandbox (the network to Telegram; loopback answers in about a millisecond).

Two runs side by side on the same machine, each on a fresh database and sandbox:

* **first release** — its pacing: every Bot API call (keyboard edits, chat actions, menus)
  took a slot of the bot-wide 29/s pacer, and the intake worker answered each button's
  callback query itself before it took the next update;
* **homecare** — now: only new messages are paced (the limit Telegram has), edits go at once,
  callback queries are answered beside the intake worker.

Printed per run: bookings confirmed, bookings per minute (first action to last confirmation),
the step time a person waits (from the action to the bot's next question) p50/p95/max, the
button's answer time p50/p95 (until the spinner stops), 429 answers from the sandbox, and
messages/s the bot sent while the families booked. Written to bench/results/interactive.md.

A bound to keep in mind when reading it: every step of today's conversation sends the family
a new message, so N families with think time T cannot take steps faster than 30 messages/s
allows: the step time is at least N / 30 - T seconds (100 families, 1 s: 2.3 s) whatever the
relay does. Only a conversation with fewer new messages per step (edits in place, fewer steps)
gets below that.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import dataclasses
import io
import logging
import multiprocessing as mp
import platform
import pstats
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from datetime import time as dtime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, func, select, text  # noqa: E402

from bench.report import aligned_table, publish  # noqa: E402
from bot.app import HomecareApp, build_application  # noqa: E402
from bot.delivery import Relay  # noqa: E402
from bot.delivery_policy import Item  # noqa: E402
from bot.turn import Turn  # noqa: E402
from db.models import Account, AccountRole, Nurse, Visit  # noqa: E402
from db.session import Database  # noqa: E402
from homecare.config import Config  # noqa: E402

TOKEN = "123456789:BENCH-token-for-the-sandbox-000"
LIMIT = 30.0
RESULTS = ROOT / "bench" / "results" / "interactive.md"
PROFILE = ROOT / "bench" / "results" / "interactive-profile.txt"
# 73 Sulawesi Selatan, 71 Makassar, district 10, born 17-08-1950 (a man), serial 0001.
NIK = "7371101708500001"


# --- the first release's pacing, replayed ---------------------------------------------------


class FirstReleaseRelay(Relay):
    """The relay as first released: every call waited for the bot-wide pacer."""

    def _paced(self, item: Item) -> bool:
        return True


def answer_inline(hc: HomecareApp) -> Callable[[Turn], Awaitable[None]]:
    """The first release's after-commit step: the intake worker answers the button itself."""

    async def after_commit(turn: Turn) -> None:
        if turn.outbox_ids:
            hc.relay.wake(turn.outbox_ids)
        if turn.callback_answer is not None:
            a = turn.callback_answer
            try:
                await hc.application.bot.answer_callback_query(
                    a.query_id, text=a.text, show_alert=a.alert
                )
            except Exception as exc:
                logging.getLogger(__name__).info("answerCallbackQuery failed: %s", exc)

    return after_commit


# --- the families (child process, with the sandbox) ------------------------------------------


def letters(n: int) -> str:
    """A name part from a number (names take letters only): 0 → "Aa", 27 → "Bb"."""
    return chr(65 + n % 26) + chr(97 + (n // 26) % 26) + "nto"


class StepFailed(Exception):
    pass


@dataclasses.dataclass
class FamilyRecord:
    steps: list[float] = dataclasses.field(default_factory=list)
    names: list[str] = dataclasses.field(default_factory=list)
    answers: list[float] = dataclasses.field(default_factory=list)
    started: float = 0.0
    confirmed: float | None = None
    failed: str | None = None


async def family(client: Any, index: int, think_s: float, jitter_s: float) -> FamilyRecord:
    from sandbox.views import CallbackPress

    rec = FamilyRecord()
    u = await client.user(f"keluarga{index:04d}", language_code="id", first_name=f"Kel{index}")
    watchers: list[asyncio.Task[None]] = []

    async def watch(press: CallbackPress, t0: float) -> None:
        if await u.callback_answer(press, timeout=120.0) is not None:
            rec.answers.append(time.monotonic() - t0)

    async def step(name: str, action: Callable[[], Awaitable[Any]], count: int = 1) -> Any:
        t0 = time.monotonic()
        result = await action()
        if isinstance(result, CallbackPress):
            watchers.append(asyncio.create_task(watch(result, t0)))
        messages = await u.wait_messages(count, timeout=180.0)
        if len(messages) < count:
            raise StepFailed(f"{name}: no answer")
        rec.steps.append(time.monotonic() - t0)
        rec.names.append(name)
        await asyncio.sleep(think_s)
        return messages[-1]

    m: Any = None
    await asyncio.sleep(jitter_s)
    rec.started = time.monotonic()
    try:
        m = await step("start", lambda: u.send("/start"))
        m = await step("consent", lambda: u.press(m.buttons[0].text, message_id=m.message_id))
        m = await step("name", lambda: u.send(f"Daeng {letters(index)}"))
        m = await step("phone", lambda: u.press_reply(m.reply_buttons[0].text))
        m = await step("nik", lambda: u.send(NIK))
        m = await step(
            "address",
            lambda: u.send(f"Jl. Tamalate I No. {index}, RT 3/5, Karunrung, depan masjid"),
        )
        m = await step(
            "location",
            lambda: u.press_reply(m.reply_buttons[0].text, latitude=-5.1601, longitude=119.448),
            count=2,
        )
        m = await step("service", lambda: u.press("Perawatan luka", message_id=m.message_id))
        m = await step("danger", lambda: u.press(m.buttons[1].text, message_id=m.message_id))
        m = await step("complaint", lambda: u.send("Luka di kaki belum kering"))
        m = await step("slot", lambda: u.press(m.buttons[0].text, message_id=m.message_id))
        m = await step("confirm", lambda: u.press(m.buttons[0].text, message_id=m.message_id))
        rec.confirmed = time.monotonic()
    except (StepFailed, StopIteration, IndexError) as exc:
        last = f"{m.plain_text[:80]!r} {m.button_texts}" if m is not None else "-"
        rec.failed = f"after {len(rec.steps)} steps: {type(exc).__name__}: {exc}; last: {last}"
    await asyncio.gather(*watchers, return_exceptions=True)
    return rec


async def drive(conn: Connection, families: int, think_s: float, latency_s: float, seed: int):
    from sandbox.client import SandboxClient
    from sandbox.policy import Fault, RateLimits
    from sandbox.server import SandboxServer

    limits = RateLimits(
        enabled=True, per_chat_rate=1.0, per_chat_burst=3, global_rate=LIMIT, global_burst=30
    )
    server = SandboxServer(limits=limits)
    await server.start()
    if latency_s > 0:
        server.faults.configure(
            [
                Fault(
                    kind="stall",
                    methods=frozenset({"*"}),
                    stall_seconds=latency_s,
                    stall_then="answer",
                    probability=1.0,
                )
            ]
        )
    head, _ = server.control.create({"name": "kepala", "started": True})
    conn.send({"base_url": server.bot_api_base_url, "head_id": head.id})
    # The bot is up and the clinic staffed (waited for off the loop: the sandbox serves meanwhile).
    await asyncio.get_running_loop().run_in_executor(None, conn.recv)
    rng = random.Random(seed)
    async with SandboxClient(server.url, request_timeout=300.0) as client:
        await client.reset_stats()
        began = time.monotonic()
        records = await asyncio.gather(
            *(family(client, i, think_s, rng.uniform(0, think_s)) for i in range(families))
        )
        ended = time.monotonic()
        stats = await client.stats()
    await server.stop()
    conn.send(
        {
            "records": [dataclasses.asdict(r) for r in records],
            "began": began,
            "ended": ended,
            "stats": stats,
        }
    )


def driver_main(conn: Connection, families: int, think_s: float, latency_s: float, seed: int):
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(drive(conn, families, think_s, latency_s, seed))


# --- the bot (this process) --------------------------------------------------------------


def count_statement(counter: Counter[str]) -> Callable[..., None]:
    """A SQLAlchemy event hook counting statements by the asyncio task that ran them."""

    def hook(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        task = asyncio.current_task()
        name = task.get_name() if task is not None else "-"
        name = re.sub(r"\d+$", "N", name)
        counter[f"{name}:{statement.split(None, 1)[0].upper()}"] += 1

    return hook


async def seed_clinic(hc: HomecareApp, head_id: int, nurses: int, daily_cap: int = 8) -> None:
    """The head's account and `nurses` nurses with every skill, 08:00–16:00."""
    skills = sorted({s for svc in hc.config.services for s in svc.skills})
    async with hc.db.transaction() as s:
        head = Account(telegram_user_id=head_id, chat_id=head_id, first_name="Budi", language="id")
        s.add(head)
        await s.flush()
        s.add(AccountRole(account_id=head.id, clinic_id=hc.clinic_id, role="head"))
        for i in range(nurses):
            s.add(
                Nurse(
                    clinic_id=hc.clinic_id,
                    name=f"Perawat {i + 1}",
                    skills=skills,
                    daily_cap=daily_cap,
                    shift_start=dtime(8),
                    shift_end=dtime(16),
                    active=True,
                )
            )


@dataclasses.dataclass
class Result:
    name: str
    families: int
    confirmed: int
    failed: int
    bookings_per_min: float
    step_p50: float
    step_p95: float
    step_max: float
    answer_p50: float
    answer_p95: float
    rate_limited: int
    messages_per_s: float
    visits_in_db: int


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def one_run(
    name: str, args: argparse.Namespace, url: str, old_pacing: bool, inline_answers: bool
) -> Result:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(
        target=driver_main,
        args=(child, args.families, args.think_s, args.latency_ms / 1000, args.seed),
        daemon=True,
    )
    proc.start()
    loop = asyncio.get_running_loop()
    hello = await loop.run_in_executor(None, parent.recv)
    db = Database(url)
    if not db.is_sqlite:
        async with db.engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
    await db.create_all()
    cfg = Config()
    cfg = cfg.replace(
        telegram=dataclasses.replace(
            cfg.telegram, token=TOKEN, base_url=hello["base_url"], poll_timeout_s=5
        ),
        database=dataclasses.replace(cfg.database, url=url),
        web=dataclasses.replace(cfg.web, port=0),  # the console on any free port
    )
    hc = build_application(cfg, db=db)
    if old_pacing:
        hc.relay = FirstReleaseRelay(hc)
    if inline_answers:
        hc.intake.on_committed = answer_inline(hc)
    await hc.start()
    await seed_clinic(hc, hello["head_id"], args.nurses)
    profiler = cProfile.Profile() if args.profile else None
    statements: Counter[str] = Counter()
    if profiler is not None:
        event.listen(db.engine.sync_engine, "before_cursor_execute", count_statement(statements))
        profiler.enable()
    parent.send("go")
    done = await loop.run_in_executor(None, parent.recv)
    if profiler is not None:
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(40)
        stats.sort_stats("cumulative").print_stats(60)
        PROFILE.write_text(out.getvalue(), encoding="utf-8")
        profiler.dump_stats(PROFILE.with_suffix(".prof"))
        print(f"  profile of the bot written to {PROFILE.relative_to(ROOT)}", flush=True)
        print(
            "  SQL statements by task and kind: "
            + ", ".join(f"{k} {n}" for k, n in statements.most_common(12)),
            flush=True,
        )
    await hc.stop()
    async with db.read() as s:
        visits = int(await s.scalar(select(func.count()).select_from(Visit)) or 0)
    await db.dispose()
    proc.join(timeout=30)
    records = [FamilyRecord(**r) for r in done["records"]]
    confirmed = [r for r in records if r.confirmed is not None]
    steps = [x for r in records for x in r.steps]
    answers = [x for r in records for x in r.answers]
    span = (max(r.confirmed for r in confirmed) - done["began"]) if confirmed else float("nan")
    totals = done["stats"]["totals"]
    sent = sum(
        c.get("ok", 0)
        for m, c in done["stats"]["methods"].items()
        if m.lower().startswith("send") or m.lower() in ("copymessage", "forwardmessage")
    )
    by_step: dict[str, list[float]] = {}
    for r in records:
        for step_name, took in zip(r.names, r.steps, strict=True):
            by_step.setdefault(step_name, []).append(took)
    slowest = sorted(by_step.items(), key=lambda kv: -pct(kv[1], 0.95))[:5]
    print(
        "  slowest steps (p95 s): " + ", ".join(f"{k} {pct(v, 0.95):.2f}" for k, v in slowest),
        flush=True,
    )
    calls = {m: c.get("ok", 0) for m, c in done["stats"]["methods"].items()}
    per = max(1, len(confirmed))
    print(
        "  Bot API calls per booking: "
        + ", ".join(f"{m} {n / per:.1f}" for m, n in sorted(calls.items(), key=lambda kv: -kv[1])),
        flush=True,
    )
    for r in records:
        if r.failed:
            print(f"  a family stopped: {r.failed}", flush=True)
    return Result(
        name=name,
        families=len(records),
        confirmed=len(confirmed),
        failed=sum(1 for r in records if r.failed),
        bookings_per_min=len(confirmed) / span * 60 if confirmed else 0.0,
        step_p50=statistics.median(steps) if steps else float("nan"),
        step_p95=pct(steps, 0.95),
        step_max=max(steps) if steps else float("nan"),
        answer_p50=statistics.median(answers) if answers else float("nan"),
        answer_p95=pct(answers, 0.95),
        rate_limited=int(totals.get("rate_limited", 0)),
        messages_per_s=sent / (done["ended"] - done["began"]),
        visits_in_db=visits,
    )


def table(results: list[Result]) -> str:
    header = [
        "pacing",
        "confirmed",
        "bookings/min",
        "step p50 s",
        "step p95 s",
        "step max s",
        "button answer p50 / p95 s",
        "429 answers",
        "msg/s sent",
    ]
    rows = [
        [
            r.name,
            f"{r.confirmed}/{r.families} ({r.visits_in_db} visits)",
            f"{r.bookings_per_min:.1f}",
            f"{r.step_p50:.2f}",
            f"{r.step_p95:.2f}",
            f"{r.step_max:.2f}",
            f"{r.answer_p50:.2f} / {r.answer_p95:.2f}",
            str(r.rate_limited),
            f"{r.messages_per_s:.1f}",
        ]
        for r in results
    ]
    if len(results) >= 2:
        base, ours = results[0], results[-1]
        rows.append(
            [
                "ratio homecare / first release",
                "",
                f"{ours.bookings_per_min / base.bookings_per_min:.2f}×",
                f"{ours.step_p50 / base.step_p50:.2f}×",
                f"{ours.step_p95 / base.step_p95:.2f}×",
                f"{ours.step_max / base.step_max:.2f}×",
                f"{ours.answer_p95 / base.answer_p95:.2f}× (p95)",
                "",
                "",
            ]
        )
    return aligned_table(header, rows)


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--families", type=int, default=100)
    parser.add_argument("--think-s", type=float, default=1.0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--nurses", type=int, default=20)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="cProfile the bot's process")
    parser.add_argument(
        "--ablation",
        action="store_true",
        help="also run today's pacing with buttons answered by the intake worker (as before)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    runs = [] if args.no_baseline else [("first release", True, True)]
    if args.ablation:
        runs.append(("new pacing, inline answers", False, True))
    runs.append(("homecare", False, False))
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, old_pacing, inline_answers) in enumerate(runs):
            url = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench-{i}.db"
            print(f"{name}: {args.families} families booking …", flush=True)
            started = time.monotonic()
            results.append(await one_run(name, args, url, old_pacing, inline_answers))
            print(f"  done in {time.monotonic() - started:.0f} s", flush=True)
    bound = max(0.0, args.families / LIMIT - args.think_s)
    title = (
        f"Interactive: {args.families} new families booking at once (12 actions each, think "
        f"time {args.think_s:g} s), sandbox limits {LIMIT:.0f} msg/s (burst 30) and 1 msg/s per "
        f"chat (burst 3), {args.latency_ms:g} ms per call; "
        f"{'SQLite' if not args.database_url else args.database_url.split(':')[0]}; "
        f"{datetime.now(UTC):%Y-%m-%d}, {platform.machine()}, {mp.cpu_count()} cores. "
        f"Lower bound of the step time at {LIMIT:.0f} msg/s with one new message per step: "
        f"{bound:.1f} s."
    )
    publish(title, table(results), RESULTS)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
