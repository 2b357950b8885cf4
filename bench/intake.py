"""Intake benchmark: homecare's updates/s beside a bare PTB echo bot on the same sandbox.

    python bench/intake.py [--users 400] [--rounds 3] [--latency-ms 0,100]
                           [--database-url URL] [--profile]
                           [--bots echo,concurrent,homecare]

`--users` sandbox users each send one message per round, all at once (the sandbox queues the
whole round before the bot's next getUpdates). The round ends when every user has the bot's
answer. Updates/s of a round = users / (last answer − round queued). Round 1 is first contact
(homecare creates the account), later rounds are known people.

* **echo** — the bare python-telegram-bot echo bot of PTB's examples: ``Application`` with its
  own updater polling, one ``MessageHandler`` that answers with ``reply_text``; PTB's default
  handles one update at a time.
* **echo, concurrent_updates** — the same with ``concurrent_updates(True)``.
* **homecare** — the bot as built by ``build_application``: every update stored in the inbox
  before it is handled, the handler's reply written to the outbox as an intent, the relay
  renders and sends it. The message is ``/help`` (a real command with a real answer).

The sandbox runs in a child process (Telegram on another machine) with its limits *off*, and
homecare's relay is configured with no pacing, so the figure is what the intake can do, not
Telegram's 30 messages/s (bench/interactive.py measures that). `--latency-ms` runs everything
once per network round trip: 0 is loopback (pure CPU: the echo bots store nothing, homecare
commits every update and every message twice), 100 ms is nearer what a bot in Makassar sees of
Telegram's servers. Ratio = homecare / each echo bot per round. Written to
bench/results/intake.md.
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
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, text  # noqa: E402
from telegram import Update  # noqa: E402
from telegram.ext import Application, ContextTypes, MessageHandler, filters  # noqa: E402

from bench.interactive import count_statement  # noqa: E402
from bench.report import aligned_table, publish  # noqa: E402
from bot.app import build_application  # noqa: E402
from db.session import Database  # noqa: E402
from homecare.config import Config  # noqa: E402

TOKEN = "123456789:BENCH-token-for-the-sandbox-000"
CONCURRENT_ECHO = "echo, concurrent_updates"
BOTS = ("echo", CONCURRENT_ECHO, "homecare")
BOT_KEYS = {"echo": "echo", "concurrent": CONCURRENT_ECHO, "homecare": "homecare"}
RESULTS = ROOT / "bench" / "results" / "intake.md"
PROFILE = ROOT / "bench" / "results" / "intake-profile.txt"


# --- the users (child process, with the sandbox) ----------------------------------------------


async def drive(conn: Connection, users: int, rounds: int, message: str, latency_s: float) -> None:
    from sandbox.policy import Fault
    from sandbox.server import SandboxServer

    server = SandboxServer()  # limits off
    await server.start()
    if latency_s > 0:  # the network to Telegram, as bench/interactive.py holds it
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
    records = [
        server.control.create({"name": f"u{i:05d}", "started": True})[0] for i in range(users)
    ]
    conn.send({"base_url": server.bot_api_base_url})
    loop = asyncio.get_running_loop()
    times: list[float] = []
    for r in range(1, rounds + 1):
        await loop.run_in_executor(None, conn.recv)  # the bot is up / the last round drained
        queued = time.monotonic()
        for u in records:
            server.control.send_text(u, message)

        def answered(r: int = r) -> bool:
            for u in records:
                chat = server.world.chat(u.id)
                if chat is None or sum(1 for _ in chat.bot_messages()) < r:
                    return False
            return True

        # Polled, not waited on the notifier: a check per delivered message would cost O(n²).
        while not answered():  # noqa: ASYNC110 - see above
            await asyncio.sleep(0.005)
        times.append(time.monotonic() - queued)
        conn.send({"round": r, "seconds": times[-1]})
    conn.send({"stats": server.stats.to_dict()})
    await loop.run_in_executor(None, conn.recv)  # the bot has stopped
    await server.stop()


def driver_main(conn: Connection, users: int, rounds: int, message: str, latency_s: float) -> None:
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(drive(conn, users, rounds, message, latency_s))


# --- the bots (this process) ------------------------------------------------------------------


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.message.text is not None
    await update.message.reply_text(update.message.text)


class EchoBot:
    def __init__(self, base_url: str, concurrent: bool = False) -> None:
        builder = Application.builder().token(TOKEN).base_url(base_url)
        self.app = builder.concurrent_updates(concurrent).build()
        self.app.add_handler(MessageHandler(filters.TEXT, echo))

    async def start(self) -> None:
        await self.app.initialize()
        await self.app.start()
        assert self.app.updater is not None
        await self.app.updater.start_polling(poll_interval=0.0, timeout=5)

    async def stop(self) -> None:
        assert self.app.updater is not None
        await self.app.updater.stop()
        await self.app.stop()
        await self.app.shutdown()


class HomecareBot:
    def __init__(self, base_url: str, url: str) -> None:
        self.db = Database(url)
        cfg = Config()
        self.cfg = cfg.replace(
            telegram=dataclasses.replace(
                cfg.telegram, token=TOKEN, base_url=base_url, poll_timeout_s=5
            ),
            database=dataclasses.replace(cfg.database, url=url),
            # No web console: it takes a fixed port (another bot on the machine may hold it)
            # and serves nothing during the run.
            web=dataclasses.replace(cfg.web, enabled=False),
            # The sandbox enforces no limit here: measure the intake, not Telegram's 30/s.
            delivery=dataclasses.replace(
                cfg.delivery, global_rate_per_s=1e6, global_burst=10_000, per_chat_burst=100
            ),
        )

    async def start(self) -> None:
        if not self.db.is_sqlite:
            async with self.db.engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
        await self.db.create_all()
        self.hc = build_application(self.cfg, db=self.db)
        await self.hc.start()

    async def stop(self) -> None:
        await self.hc.stop()
        await self.db.dispose()


@dataclasses.dataclass
class Result:
    name: str
    latency_ms: float
    seconds: list[float]
    sent: int

    def rate(self, users: int, r: int) -> float:
        return users / self.seconds[r]


async def one_run(name: str, args: argparse.Namespace, url: str, latency_ms: float) -> Result:
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    message = "/help" if name == "homecare" else "halo, ini pesan dari keluarga"
    proc = ctx.Process(
        target=driver_main,
        args=(child, args.users, args.rounds, message, latency_ms / 1000),
        daemon=True,
    )
    proc.start()
    loop = asyncio.get_running_loop()
    hello = await loop.run_in_executor(None, parent.recv)
    bot: EchoBot | HomecareBot = (
        HomecareBot(hello["base_url"], url)
        if name == "homecare"
        else EchoBot(hello["base_url"], concurrent=name == CONCURRENT_ECHO)
    )
    await bot.start()
    profiler = cProfile.Profile() if args.profile and name == "homecare" else None
    statements: Counter[str] = Counter()
    if profiler is not None and isinstance(bot, HomecareBot):
        event.listen(
            bot.db.engine.sync_engine, "before_cursor_execute", count_statement(statements)
        )
        profiler.enable()
    seconds = []
    for _ in range(args.rounds):
        cpu = time.process_time()
        parent.send("go")
        done = await loop.run_in_executor(None, parent.recv)
        cpu = time.process_time() - cpu
        seconds.append(done["seconds"])
        print(
            f"  round {done['round']}: {args.users / done['seconds']:.0f} updates/s, "
            f"bot CPU {cpu / done['seconds']:.0%} of one core",
            flush=True,
        )
        await asyncio.sleep(0.5)  # let the last round's bookkeeping settle (marks, prunes)
    if profiler is not None:
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(40)
        stats.sort_stats("cumulative").print_stats(60)
        PROFILE.parent.mkdir(parents=True, exist_ok=True)
        PROFILE.write_text(out.getvalue(), encoding="utf-8")
        stats.dump_stats(PROFILE.with_suffix(".prof"))  # for snakeviz / pstats
        print(f"  profile written to {PROFILE.relative_to(ROOT)}", flush=True)
        per = args.users * args.rounds
        print(
            "  SQL statements per update by task and kind: "
            + ", ".join(f"{k} {n / per:.1f}" for k, n in statements.most_common(12)),
            flush=True,
        )
    final = await loop.run_in_executor(None, parent.recv)
    await bot.stop()
    parent.send("stopped")
    proc.join(timeout=30)
    sent = int(final["stats"]["methods"].get("sendMessage", {}).get("ok", 0))
    per = args.users * args.rounds
    print(
        "  Bot API calls per update: "
        + ", ".join(
            f"{m} {c.get('ok', 0) / per:.2f}" for m, c in final["stats"]["methods"].items()
        ),
        flush=True,
    )
    return Result(name, latency_ms, seconds, sent)


def table(results: list[Result], users: int, n: int) -> str:
    rounds = len(results[0].seconds)
    header = [
        "round trip",
        "bot",
        *(f"round {r + 1} updates/s" for r in range(rounds)),
        "later rounds mean",
    ]

    def later_mean(res: Result) -> float:
        later = [res.rate(users, r) for r in range(1, rounds)] or [res.rate(users, 0)]
        return statistics.mean(later)

    rows = []
    for group in (results[k : k + n] for k in range(0, len(results), n)):
        rtt = f"{group[0].latency_ms:g} ms"
        for res in group:
            rows.append(
                [
                    rtt,
                    res.name,
                    *(f"{res.rate(users, r):.0f}" for r in range(rounds)),
                    f"{later_mean(res):.0f}",
                ]
            )
        ours = group[-1]
        if ours.name != "homecare":
            continue
        for base in group[:-1]:
            rows.append(
                [
                    rtt,
                    f"ratio homecare / {base.name}",
                    *(f"{ours.rate(users, r) / base.rate(users, r):.2f}×" for r in range(rounds)),
                    f"{later_mean(ours) / later_mean(base):.2f}×",
                ]
            )
    return aligned_table(header, rows)


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--users", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--profile", action="store_true", help="cProfile homecare's run")
    parser.add_argument(
        "--latency-ms",
        default="0,100",
        help="network round trips to Telegram to run at, comma-separated (0: loopback)",
    )
    parser.add_argument(
        "--bots",
        default=",".join(BOT_KEYS),
        help=f"which bots to run, comma-separated: {', '.join(BOT_KEYS)} (homecare last)",
    )
    args = parser.parse_args(argv)
    keys = [b.strip() for b in args.bots.split(",") if b.strip()]
    unknown = [b for b in keys if b not in BOT_KEYS]
    if unknown:
        parser.error(f"unknown bot(s) {unknown}; choose from {list(BOT_KEYS)}")
    bots = [BOT_KEYS[k] for k in keys]
    logging.basicConfig(level=logging.WARNING)
    results = []
    latencies = [float(x) for x in args.latency_ms.split(",") if x.strip()]
    for latency_ms in latencies:
        for name in bots:
            with tempfile.TemporaryDirectory() as tmp:
                url = args.database_url or f"sqlite+aiosqlite:///{tmp}/intake.db"
                print(
                    f"{name}: {args.users} users × {args.rounds} rounds, "
                    f"round trip {latency_ms:g} ms …",
                    flush=True,
                )
                results.append(await one_run(name, args, url, latency_ms))
    title = (
        f"Intake: {args.users} users send one message each per round, all at once; sandbox "
        f"limits off, homecare's relay unpaced; "
        f"{'SQLite' if not args.database_url else args.database_url.split(':')[0]}; "
        f"{datetime.now(UTC):%Y-%m-%d}, {platform.machine()}, {mp.cpu_count()} cores."
    )
    publish(title, table(results, args.users, len(bots)), RESULTS)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
