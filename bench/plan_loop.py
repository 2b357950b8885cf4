"""Loop benchmark: how long a person waits for /help while a big day is planned.

    python bench/plan_loop.py [--nurses 15] [--visits 180] [--idle-s 8] [--probers 5]
                              [--probe-every-s 0.2] [--days 1] [--gap-s 1]
                              [--database-url URL] [--profile] [--verbose] [--no-settle]
    PLAN_LOOP_TREE=/work/main python bench/plan_loop.py …   # the same harness, another tree

`--probers` users in the sandbox (a child process: Telegram on another machine, limits off),
staggered, each send /help every `--probe-every-s` after the answer to the last one and measure
until the bot's answer arrives. The bot runs in this
process, built by `build_application` as in production, with `--nurses` nurses and `--visits`
requested visits (each patient with a family account, so the plan's write queues their notices)
on each of the next `--days` working days. First `--idle-s` seconds of probes with nothing else
running, then one plan run per day (read → solve in a worker thread → write), one after another
with `--gap-s` between, all while probing (more days: more probes fall in a write).

Printed: the /help wait p50/p95/max when idle, during the solve, during the write (probes
that were waiting at any moment of the write stage: from the solve's end to the commit, rows
read and built before the lock included), sent during the write (sent inside that stage), and
the write stage's own duration. The heap is
settled after start-up as `homecare run` does (`--no-settle`: not).
Written to bench/results/plan_loop.md. With `--profile`, a cProfile of the write stage goes to
bench/results/plan_loop-profile.txt.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import dataclasses
import io
import logging
import math
import multiprocessing as mp
import os
import platform
import pstats
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from datetime import time as dtime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# PLAN_LOOP_TREE=/work/main: the same harness on another checkout's code (the baseline).
TREE = Path(os.environ.get("PLAN_LOOP_TREE") or ROOT).resolve()
sys.path.insert(0, str(TREE))
# Trees before homecare.heap do not settle the heap (an editable install may still find one).
OWN_HEAP = (TREE / "homecare" / "heap.py").exists()

from bench.interactive import seed_clinic  # noqa: E402
from bench.report import aligned_table, publish  # noqa: E402
from bot.app import HomecareApp, build_application  # noqa: E402
from bot.guard import FloodControl  # noqa: E402
from db.models import Account, Patient, PatientLink, Visit  # noqa: E402
from db.services import planning  # noqa: E402
from db.services.booking import load_rules  # noqa: E402
from db.services.planning import run as plan_run  # noqa: E402
from db.services.planning import write as plan_write  # noqa: E402
from db.services.visit_status import record_created  # noqa: E402
from db.session import Database  # noqa: E402
from homecare.config import Config  # noqa: E402
from scheduler.booking import next_working_day  # noqa: E402

TOKEN = "123456789:BENCH-token-for-the-sandbox-000"
RESULTS = ROOT / "bench" / "results" / "plan_loop.md"
PROFILE = ROOT / "bench" / "results" / "plan_loop-profile.txt"
CLINIC = (-5.1587, 119.4465)
WINDOWS = [(8, 10), (10, 12), (12, 14), (8, 14), (8, 12)]


# --- the probe (child process) ----------------------------------------------------------------


async def probe(conn: Connection, every_s: float, n_families: int, probers: int) -> None:
    from sandbox.client import SandboxClient
    from sandbox.server import SandboxServer

    server = SandboxServer()
    await server.start()
    head, _ = server.control.create({"name": "kepala", "started": True})
    families = [
        server.control.create({"name": f"keluarga{i}", "started": True})[0].id
        for i in range(n_families)
    ]
    conn.send({"base_url": server.bot_api_base_url, "head_id": head.id, "families": families})
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, conn.recv)  # "go"
    stop = loop.run_in_executor(None, conn.recv)  # "stop"
    samples: list[tuple[float, float]] = []  # (sent at, wall clock; waited s)

    async def one(index: int) -> None:
        u = await client.user(f"probe{index}", language_code="id", first_name="Probe", started=True)
        await asyncio.sleep(every_s * index / probers)  # staggered: one probe every every_s/N
        while not stop.done():
            sent_wall, t0 = time.time(), time.monotonic()
            await u.send("/help")
            got = await u.wait_messages(1, timeout=60.0)
            samples.append((sent_wall, time.monotonic() - t0 if got else float("inf")))
            await asyncio.sleep(every_s)

    async with SandboxClient(server.url, request_timeout=60.0) as client:
        await asyncio.gather(*(one(i) for i in range(probers)))
    await server.stop()
    conn.send(samples)


def probe_main(conn: Connection, every_s: float, n_families: int, probers: int) -> None:
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(probe(conn, every_s, n_families, probers))


# --- the bot (this process) -------------------------------------------------------------------


async def seed(
    hc: HomecareApp, head_id: int, nurses: int, families: list[int], days: list[date]
) -> None:
    rng = random.Random(1)
    services = [s for s in hc.config.services if s.skills]
    await seed_clinic(hc, head_id, nurses, daily_cap=14)
    async with hc.db.transaction() as s:
        for i, chat in enumerate(families):
            family = Account(
                telegram_user_id=chat,
                chat_id=chat,
                first_name=f"Keluarga {i}",
                language="id",
            )
            r, a = 4000 * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
            patient = Patient(
                clinic_id=hc.clinic_id,
                full_name=f"Pasien {i}",
                phone=f"+62812{i:07d}",
                address=f"Jl. Contoh No. {i}",
                kelurahan="Kassi-Kassi",
                lat=CLINIC[0] + r * math.cos(a) / 111_320,
                lon=CLINIC[1] + r * math.sin(a) / 110_000,
            )
            s.add_all([family, patient])
            await s.flush()
            s.add(PatientLink(account_id=family.id, patient_id=patient.id, relation="caregiver"))
            for d, day in enumerate(days):
                await _visit(s, hc, i, d, day, patient.id, family.id, services)


async def _visit(
    s: Any,
    hc: HomecareApp,
    i: int,
    d: int,
    day: date,
    patient_id: int,
    family_id: int,
    services: Any,
) -> None:
    service = services[i % len(services)]
    start, end = WINDOWS[i % len(WINDOWS)]
    visit = Visit(
        clinic_id=hc.clinic_id,
        code=f"B{d}{i:05d}",
        patient_id=patient_id,
        requested_by_account_id=family_id,
        service_type=service.code,
        complaint="Kontrol",
        priority="routine",
        day=day,
        window_start=dtime(start),
        window_end=dtime(end),
        duration_min=service.duration_min,
        status="requested",
    )
    s.add(visit)
    await s.flush()
    await record_created(s, visit, "patient", family_id, datetime.now(UTC))


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclasses.dataclass
class Phase:
    name: str
    waits: list[float]

    def row(self) -> list[str]:
        w = self.waits
        if not w:
            return [self.name, "0", "-", "-", "-"]
        return [
            self.name,
            str(len(w)),
            f"{statistics.median(w):.3f}",
            f"{pct(w, 0.95):.3f}",
            f"{max(w):.3f}",
        ]


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nurses", type=int, default=15)
    parser.add_argument("--visits", type=int, default=180)
    parser.add_argument("--idle-s", type=float, default=8.0)
    parser.add_argument("--days", type=int, default=1, help="days planned one after another")
    parser.add_argument("--gap-s", type=float, default=1.0, help="probing after each plan")
    parser.add_argument("--probe-every-s", type=float, default=0.2)
    parser.add_argument("--probers", type=int, default=5)
    parser.add_argument("--time-limit-s", type=float, default=5.0)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument(
        "--no-settle", action="store_true", help="skip homecare.heap.settle() after start-up"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(
        target=probe_main, args=(child, args.probe_every_s, args.visits, args.probers), daemon=True
    )
    proc.start()
    loop = asyncio.get_running_loop()
    hello = await loop.run_in_executor(None, parent.recv)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.db"
        db = Database(url)
        await db.create_all()
        cfg = Config()
        cfg = cfg.replace(
            telegram=dataclasses.replace(
                cfg.telegram, token=TOKEN, base_url=hello["base_url"], poll_timeout_s=5
            ),
            database=dataclasses.replace(cfg.database, url=url),
            web=dataclasses.replace(cfg.web, port=0),  # any free port: other benches run too
            planner=dataclasses.replace(cfg.planner, time_limit_s=args.time_limit_s),
        )
        hc = build_application(cfg, db=db)
        # The probe asks 10 times a second, which the bot's anti-flood guard would rightly stop.
        hc.flood = FloodControl(burst=100_000, per_second=1000.0)
        await hc.start()
        now = datetime.now(UTC)
        async with db.read() as s:
            rules = await load_rules(s, cfg, hc.clinic_id, now)
        days = [next_working_day(rules, now.astimezone(cfg.clinic.tz).date())]
        while len(days) < args.days:
            days.append(next_working_day(rules, days[-1]))
        await seed(hc, hello["head_id"], args.nurses, hello["families"], days)

        settled = False
        if not args.no_settle and OWN_HEAP:
            from homecare import heap

            heap.settle()  # as `homecare run` does after the app has started
            settled = True
        stages: dict[str, list[float]] = {"write": [], "apply": []}
        profiler = cProfile.Profile() if args.profile else None
        # The write stage: everything after the solve — the rows read and built before the
        # lock, the wait for it, the transaction and its commit (plan_run._write).
        real_write = plan_run._write

        async def timed_write(*a: Any, **k: Any) -> Any:
            stages["write"].append(time.time())
            if profiler is not None:
                profiler.enable()
            try:
                return await real_write(*a, **k)
            finally:
                if profiler is not None:  # the write and what follows it (relay, reminders)
                    asyncio.get_running_loop().call_later(1.0, profiler.disable)
                stages["write"].append(time.time())

        plan_run._write = timed_write  # type: ignore[assignment]
        # Under the write lock: PlanWrite.apply here; PlanWriter.apply in trees before it.
        writer: Any = vars(plan_write).get("PlanWrite") or vars(plan_write)["PlanWriter"]
        real_apply = writer.apply

        async def timed_apply(self: Any, *a: Any, **k: Any) -> Any:
            stages["apply"].append(time.time())
            try:
                return await real_apply(self, *a, **k)
            finally:
                stages["apply"].append(time.time())

        writer.apply = timed_apply
        parent.send("go")
        await asyncio.sleep(args.idle_s)
        runs: list[tuple[float, float, float, float, float, float]] = []
        outcomes = []
        for day in days:
            began = time.time()
            async with db.transaction() as s:
                run = await planning.enqueue(s, hc.clinic_id, day, "manual", now, reason="bench")
            assert hc.jobs.planning.worker is not None
            outcomes.append(await hc.jobs.planning.worker.run_until_done(run.id, datetime.now(UTC)))
            w0, w1 = stages["write"][-2:]
            a0, a1 = stages["apply"][0], stages["apply"][-1]
            stages["apply"] = []
            runs.append((began, w0, w1, a0, a1, time.time()))
            await asyncio.sleep(args.gap_s)
        parent.send("stop")
        samples = await loop.run_in_executor(None, parent.recv)
        writer.apply = real_apply
        plan_run._write = real_write  # type: ignore[assignment]
        await hc.stop()
        await db.dispose()
    proc.join(timeout=30)

    first = runs[0][0]
    idle = Phase("idle", [w for at, w in samples if at < first])
    solving = Phase(
        "during read + solve",
        [w for at, w in samples if any(r[0] <= at and at + w < r[1] for r in runs)],
    )
    writing = Phase(
        "during the write",
        [w for at, w in samples if any(at < r[2] and at + w > r[1] for r in runs)],
    )
    # The figure: a /help sent while the plan is written (the row above also holds
    # probes sent earlier, during the solve, still waiting when the write began).
    sent = Phase(
        "sent during the write", [w for at, w in samples if any(r[1] <= at < r[2] for r in runs)]
    )
    if args.verbose:
        for _, w0, w1, a0, a1, _ in runs:
            near = [(round(at - w0, 3), round(w, 3)) for at, w in samples if w0 - 1 < at < w1 + 1]
            print(f"write {w1 - w0:.3f} s, under the write lock {a0 - w0:.3f} to {a1 - w0:.3f} s")
            print(f"  probes near it (sent after write start s, waited s): {near}")
    head = ["phase", "probes", "/help wait p50 s", "p95 s", "max s"]
    rows = [p.row() for p in (idle, solving, writing, sent)]
    assigned = "/".join(str(o.assigned if o is not None else 0) for o in outcomes)
    spans = ", ".join(f"{r[2] - r[1]:.2f}" for r in runs)
    locked = ", ".join(f"{r[4] - r[3]:.2f}" for r in runs)
    whole = ", ".join(f"{r[5] - r[0]:.2f}" for r in runs)
    title = (
        f"Loop ({TREE.name}{', heap settled' if settled else ''}): {args.probers} people each "
        f"sending /help every {args.probe_every_s:g} s while {len(days)} day(s) of "
        f"{args.nurses} nurses and {args.visits} visits are planned one after another "
        f"({assigned} assigned, solve limit {args.time_limit_s:g} s); write stage (after the "
        f"solve to the commit) {spans} s, of it under the write lock {locked} s; whole runs "
        f"{whole} s; {'SQLite' if 'sqlite' in url else 'PostgreSQL'}; "
        f"{datetime.now(UTC):%Y-%m-%d}, {platform.machine()}, {mp.cpu_count()} cores."
    )
    publish(title, aligned_table(head, rows), RESULTS)
    if profiler is not None:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(50)
        PROFILE.write_text(out.getvalue(), encoding="utf-8")
        print(f"profile of the write stage: {PROFILE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
