"""Console benchmark: server time of the web console's pages on a ten-year database.

    python bench/console.py [--years 10] [--visits 200000] [--today 200] [--runs 15]
                            [--database-url URL]

A clinic with 15 nurses, 20,000 patients and `--visits` visits spread over `--years` years
(ending today), `--today` of them today with nurses and planned times, is written straight to
a fresh database. The bot is built by `build_application` with its console on a free port
(the sandbox stands in for Telegram) and a head signs in through a real login link. Each page
is then fetched `--runs` times over loopback HTTP; printed are the median and p95 and, as the
baseline run side by side on the same server, the time of a static file (the stylesheet):
the ratio says how much of a page is our work. Issue 11's targets: < 300 ms per page and < 2 s
for a month's download. Written to bench/results/console.md.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402

from bench.interactive import seed_clinic  # noqa: E402
from bench.report import aligned_table, publish  # noqa: E402
from bot.app import build_application  # noqa: E402
from bot.web.urls import base_url  # noqa: E402
from db.models import Account, Nurse, Patient, Visit  # noqa: E402
from db.services import console_auth  # noqa: E402
from db.session import Database  # noqa: E402
from homecare.config import Config  # noqa: E402
from sandbox.server import SandboxServer  # noqa: E402

TOKEN = "123456:BENCH-console"
STATUSES = ["completed"] * 80 + ["cancelled_by_patient"] * 8 + ["not_home"] * 5 + ["unplaced"] * 7
HEAD_ID = 900_001


async def seed(hc: Any, years: int, visits: int, today_n: int, today: date) -> None:
    await seed_clinic(hc, HEAD_ID, nurses=15)
    kel = hc.config.clinic.service_area
    services = list(hc.config.services)
    rng = random.Random(7)
    async with hc.db.read() as s:
        nurse_ids = list(await s.scalars(select(Nurse.id)))
    async with hc.db.transaction() as s:
        await s.execute(
            insert(Patient),
            [
                {
                    "clinic_id": hc.clinic_id,
                    "full_name": f"Pasien {i}",
                    "kelurahan": kel[i % len(kel)],
                    "birth_date": date(1940 + i % 60, 1 + i % 12, 1 + i % 28),
                    "lat": -5.16 + rng.uniform(-0.02, 0.02),
                    "lon": 119.44 + rng.uniform(-0.02, 0.02),
                    "created_at": datetime.now(UTC),
                }
                for i in range(20_000)
            ],
        )
    first = today - timedelta(days=365 * years)
    span = (today - first).days
    batch: list[dict[str, Any]] = []
    for i in range(visits):
        is_today = i < today_n
        day = today if is_today else first + timedelta(days=rng.randrange(span))
        svc = services[i % len(services)]
        start = dtime(8 + 2 * (i % 3))
        batch.append(
            {
                "clinic_id": hc.clinic_id,
                "code": f"B{i:07d}",
                "patient_id": 1 + rng.randrange(20_000),
                "service_type": svc.code,
                "priority": "routine",
                "day": day,
                "window_start": start,
                "window_end": dtime(start.hour + 2),
                "duration_min": svc.duration_min,
                "capacity_min": 0,
                "status": "scheduled" if is_today else rng.choice(STATUSES),
                "nurse_id": nurse_ids[i % len(nurse_ids)],
                "planned_start": (
                    datetime.combine(day, start, hc.config.clinic.tz).astimezone(UTC)
                    if is_today
                    else None
                ),
                "created_at": datetime.now(UTC),
            }
        )
        if len(batch) == 10_000:
            async with hc.db.transaction() as s:
                await s.execute(insert(Visit), batch)
            batch = []
    if batch:
        async with hc.db.transaction() as s:
            await s.execute(insert(Visit), batch)


async def timed(http: httpx.AsyncClient, url: str, runs: int) -> tuple[float, float, int]:
    took = []
    size = 0
    for _ in range(runs):
        t0 = time.perf_counter()
        answer = await http.get(url)
        took.append(time.perf_counter() - t0)
        if answer.status_code != 200:
            raise SystemExit(f"{url}: HTTP {answer.status_code}")
        size = len(answer.content)
    took.sort()
    return statistics.median(took), took[max(0, int(len(took) * 0.95) - 1)], size


async def main(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.WARNING)
    tmp = Path(tempfile.mkdtemp(prefix="bench-console-"))
    url = args.database_url or f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    sandbox = SandboxServer()
    await sandbox.start()
    cfg = Config()
    config = cfg.replace(
        telegram=dataclasses.replace(cfg.telegram, token=TOKEN, base_url=sandbox.bot_api_base_url),
        database=dataclasses.replace(cfg.database, url=url),
        web=dataclasses.replace(cfg.web, enabled=True, port=0),
    )
    db = Database(url)
    await db.create_all()
    hc = build_application(config, db=db)
    await hc.start()
    try:
        today = datetime.now(config.clinic.tz).date()
        t0 = time.perf_counter()
        await seed(hc, args.years, args.visits, args.today, today)
        print(f"seeded {args.visits} visits in {time.perf_counter() - t0:.1f} s", flush=True)
        async with hc.db.transaction() as s:
            account = await s.scalar(select(Account).where(Account.telegram_user_id == HEAD_ID))
            assert account is not None
            link = await console_auth.create_login_link(
                s, config.web, account, hc.clinic_id, datetime.now(UTC)
            )
        assert link is not None
        async with httpx.AsyncClient(base_url=base_url(hc.config.web), timeout=60) as http:
            await http.post("/masuk", data={"t": link})
            month_start = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
            month_end = today.replace(day=1) - timedelta(days=1)
            month = {"dari": month_start.isoformat(), "sampai": month_end.isoformat()}
            year = {"dari": (today - timedelta(days=365)).isoformat(), "sampai": today.isoformat()}
            pages = [
                ("static file (baseline)", "/static/console.css"),
                (f"board, {args.today} visits today", "/papan"),
                ("log, last month, page 1", "/kunjungan?" + urlencode(month)),
                (
                    "log, last year, completed, page 20",
                    "/kunjungan?" + urlencode({**year, "status": "completed", "hal": "20"}),
                ),
                ("visit detail", "/kunjungan/5000"),
                (
                    "download, last month, CSV",
                    "/kunjungan/unduh?" + urlencode({**month, "format": "csv"}),
                ),
                (
                    "download, last month, XLSX",
                    "/kunjungan/unduh?" + urlencode({**month, "format": "xlsx"}),
                ),
            ]
            rows = []
            base = None
            for name, path in pages:
                runs = args.runs if "download" not in name else max(3, args.runs // 5)
                p50, p95, size = await timed(http, path, runs)
                base = base or p50
                rows.append(
                    [
                        name,
                        f"{p50 * 1000:.0f}",
                        f"{p95 * 1000:.0f}",
                        f"{p50 / base:.0f}×",
                        f"{size // 1024}",
                    ]
                )
    finally:
        await hc.stop()
        await sandbox.stop()
    table = aligned_table(["page", "p50 ms", "p95 ms", "÷ static", "KiB"], rows)
    title = (
        f"Console pages, {args.visits} visits over {args.years} years "
        f"({'PostgreSQL' if args.database_url else 'SQLite'}, {args.runs} runs)"
    )
    publish(title, table, ROOT / "bench" / "results" / "console.md")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--visits", type=int, default=200_000)
    parser.add_argument("--today", type=int, default=200)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--database-url", default=None)
    asyncio.run(main(parser.parse_args()))
