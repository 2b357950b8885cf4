"""Helpers for the backup and restore tests (import as `tests.ops.helpers`).

The CLI runs as a child process, as an operator runs it beside the bot, while this process
keeps writing bookings through the real services (db.services.booking.book_visit).
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from db.models import Account, Nurse, Patient, PatientLink
from db.services import audit, outbox
from db.services.accounts import ensure_clinic
from db.services.booking import book_visit
from db.session import Database
from homecare.config import Config
from scheduler.booking import TimeWindow
from tests.patient.helpers import NOW
from tests.support import PG_URL

# The horizon seen from NOW (Monday 9 Nov 2026): seven working days from Tuesday.
DAYS = [date(2026, 11, d) for d in (10, 11, 12, 13, 14, 16, 17)]
WINDOWS = [TimeWindow(time(8), time(10)), TimeWindow(time(10), time(12))]
PATIENTS = 80
PAUSE_S = 0.01


# --- databases -----------------------------------------------------------------------------------


@asynccontextmanager
async def restore_target(tmp_path: Path) -> AsyncIterator[str]:
    """The URL of a second, empty database beside the test's: a new SQLite file, or a new
    database on the test's PostgreSQL server (dropped afterwards)."""
    if not PG_URL:
        yield f"sqlite+aiosqlite:///{tmp_path}/restored.db"
        return
    name = f"hc_restore_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(PG_URL, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


def _dump(connection: Connection) -> dict[str, list[tuple[Any, ...]]]:
    tables: dict[str, list[tuple[Any, ...]]] = {}
    insp = inspect(connection)
    for name in sorted(insp.get_table_names()):
        pk = insp.get_pk_constraint(name)["constrained_columns"] or ["version_num"]
        order = ", ".join(f'"{c}"' for c in pk)
        rows = connection.execute(text(f'SELECT * FROM "{name}" ORDER BY {order}'))
        tables[name] = [tuple(r) for r in rows]
    return tables


async def dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (alembic_version included), in primary-key order."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_dump)
    finally:
        await engine.dispose()


def counts(tables: dict[str, list[tuple[Any, ...]]]) -> dict[str, int]:
    return {name: len(rows) for name, rows in tables.items()}


# --- the CLI as a child process ------------------------------------------------------------------


def write_config(path: Path, database_url: str) -> Path:
    path.write_text(f'[database]\nurl = "{database_url}"\n', encoding="utf-8")
    return path


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


async def homecare(config: Path, *args: str, passphrase: str | None = None) -> Run:
    """`homecare --config CONFIG ARGS…` in a child process (no HOMECARE_* from this one)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOMECARE_")}
    if passphrase is not None:
        env["HOMECARE_BACKUP_PASSPHRASE"] = passphrase
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "homecare.cli",
        "--config",
        str(config),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return Run(proc.returncode, out.decode(), err.decode())


# --- a clinic, and bookings written in a loop ----------------------------------------------------


async def seed_clinic(db: Database, config: Config) -> tuple[int, list[tuple[int, int]]]:
    """A clinic, ten nurses (07:00–16:00) and 80 registered patients: room for hundreds of
    bookings over the horizon."""
    skills = sorted({s for svc in config.services for s in svc.skills})
    async with db.transaction() as session:
        c = config.clinic
        clinic_id = await ensure_clinic(session, c.code, c.name, c.timezone)
        for i in range(10):
            session.add(
                Nurse(
                    clinic_id=clinic_id,
                    name=f"Perawat {i}",
                    skills=skills,
                    shift_start=time(7),
                    shift_end=time(16),
                    active=True,
                )
            )
        pairs = []
        for i in range(PATIENTS):
            account = Account(telegram_user_id=700_000 + i, chat_id=700_000 + i, first_name=f"K{i}")
            patient = Patient(
                clinic_id=clinic_id, full_name=f"Pasien Cadangan {i}", kelurahan="Tidung"
            )
            session.add_all([account, patient])
            await session.flush()
            session.add(PatientLink(account_id=account.id, patient_id=patient.id, relation="self"))
            pairs.append((account.id, patient.id))
    return clinic_id, pairs


@dataclass
class Writer:
    """Books visits one after another (each booking with its message to the family and a
    head's audited view of it, in the same transaction) until stopped; `committed` counts the
    bookings that committed."""

    db: Database
    config: Config
    clinic_id: int
    pairs: list[tuple[int, int]]
    committed: int = 0
    attempts: int = 0
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def book(self, n: int) -> None:
        account_id, patient_id = self.pairs[n % len(self.pairs)]
        day = DAYS[(n // len(self.pairs)) % len(DAYS)]
        service = self.config.services[n % len(self.config.services)]
        async with self.db.transaction() as session:
            outcome = await book_visit(
                session,
                config=self.config,
                clinic_id=self.clinic_id,
                account_id=account_id,
                patient_id=patient_id,
                service=service,
                complaint=f"keluhan {n}",
                day=day,
                window=WINDOWS[n % len(WINDOWS)],
                now=NOW,
            )
            if outcome.visit is None:
                return
            # The message the family gets with it (the relay is not running: it stays queued).
            await outbox.tell(
                session,
                chat_id=700_000 + n % len(self.pairs),
                template="patient.conversation_expired",
                clinic_id=self.clinic_id,
                account_id=account_id,
                dedupe_key=f"backup-test:{outcome.visit.id}",
            )
            await audit.append(
                session,
                clinic_id=self.clinic_id,
                actor_account_id=None,
                actor_role="head",
                action=audit.VIEW_VISIT,
                subject=f"visit:{outcome.visit.id}",
            )
        self.committed += 1

    async def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            await self.book(n)
            n += 1
            self.attempts = n
            # About a family's pace at a busy moment; the clinic's room lasts the whole test.
            await asyncio.sleep(PAUSE_S)

    async def until(self, committed: int, timeout_s: float = 60.0) -> None:
        """Wait until `committed` bookings are in (fails if the writing stopped or ran dry)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while self.committed < committed:
            assert loop.time() < deadline, f"only {self.committed}/{self.attempts} booked"
            await asyncio.sleep(0.01)
