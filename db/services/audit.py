"""The audit log: who looked at which patient's details and who exported what, hash-chained.

Each entry records who (account id and role), what (an action and a subject such as
``visit:123``), and when — never health data: no names, no complaints, no vitals. Entries are only
ever appended. Each row's hash is SHA-256 over the previous row's hash and the row's canonical
fields, so editing a row breaks its own hash and deleting one breaks the next row's link;
`verify` walks the chain and names the first bad row.

Appends are serialised so two writers cannot both chain onto the same previous row: on SQLite the
write transaction already holds the database's write lock (BEGIN IMMEDIATE); on PostgreSQL the
append takes a transaction-scoped advisory lock first. Call `append` inside a write transaction
(`Database.transaction()` or a bot turn) — the entry commits or rolls back with the work it records.

Deleting the newest rows leaves a shorter chain that is still consistent; `head()` gives the
latest hash so it can be noted elsewhere (heads see it under /audit) and compared later.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AuditEntry
from db.types import utcnow

GENESIS = "0" * 64
# Any constant: the key of the PostgreSQL advisory lock that serialises appends.
_PG_LOCK_KEY = 0x686F6D6563617265  # "homecare"

# What is audited (the `action` column). Subjects name records by id only.
VIEW_VISIT = "view_visit"
VIEW_PATIENT = "view_patient"
EXPORT = "export"
INVITE_CREATED = "invite_created"
INVITE_USED = "invite_used"
NURSE_CHANGED = "nurse_changed"
VISIT_REASSIGNED = "visit_reassigned"
REPORT = "report"
NURSE_STOP = "nurse_stop"  # a nurse opened a stop card (the patient's details)
NURSE_ROUTE = "nurse_route"  # a nurse was shown a day's route (names and services)


def entry_hash(
    prev_hash: str,
    *,
    clinic_id: int | None,
    at: datetime,
    actor_account_id: int | None,
    actor_role: str,
    action: str,
    subject: str,
) -> str:
    """SHA-256 (hex) over the previous hash and the canonical JSON of the entry's fields.

    Time is whole seconds in UTC, so every database driver gives back the same text.
    """
    canonical = json.dumps(
        {
            "clinic_id": clinic_id,
            "at": at.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "actor_account_id": actor_account_id,
            "actor_role": actor_role,
            "action": action,
            "subject": subject,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def row_hash(row: AuditEntry) -> str:
    return entry_hash(
        row.prev_hash,
        clinic_id=row.clinic_id,
        at=row.at,
        actor_account_id=row.actor_account_id,
        actor_role=row.actor_role,
        action=row.action,
        subject=row.subject,
    )


async def _lock(session: AsyncSession) -> None:
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})


async def append(
    session: AsyncSession,
    *,
    clinic_id: int | None,
    actor_account_id: int | None,
    actor_role: str,
    action: str,
    subject: str,
    at: datetime | None = None,
) -> AuditEntry:
    """Append one entry to the chain in the caller's write transaction.

    `subject` names records by kind and id (``visit:42``, ``export:2026-11-01..2026-11-30:csv``);
    never put names or health data in it.
    """
    if len(subject) > 120 or len(action) > 40:
        raise ValueError("audit subject/action too long")
    await _lock(session)
    prev = await session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1))
    prev_hash = prev or GENESIS
    when = (at or utcnow()).replace(microsecond=0)
    row = AuditEntry(
        clinic_id=clinic_id,
        at=when,
        actor_account_id=actor_account_id,
        actor_role=actor_role[:16],
        action=action,
        subject=subject,
        prev_hash=prev_hash,
    )
    row.hash = row_hash(row)
    session.add(row)
    await session.flush()
    return row


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    bad_id: int | None = None
    problem: str = ""
    head: str = GENESIS

    def message(self) -> str:
        if self.ok:
            return f"ok {self.entries} entries (head {self.head[:16]})"
        return f"audit chain broken at entry id {self.bad_id}: {self.problem}"


_BROKEN_LINK = (
    "its previous-hash does not match the entry before it "
    "(an entry before it was deleted, inserted or edited)"
)
_BROKEN_HASH = "its contents do not match its hash (the entry was edited)"


def _problem(row: AuditEntry, prev: str) -> str | None:
    if row.prev_hash != prev:
        return _BROKEN_LINK
    if row_hash(row) != row.hash:
        return _BROKEN_HASH
    return None


def verify_rows(rows: Sequence[AuditEntry]) -> Verification:
    """Check a chain given in id order (pure; `verify` loads the rows)."""
    prev = GENESIS
    for n, row in enumerate(rows, start=1):
        problem = _problem(row, prev)
        if problem:
            return Verification(False, n, row.id, problem)
        prev = row.hash
    return Verification(True, len(rows), head=prev)


async def verify(session: AsyncSession, batch: int = 5000) -> Verification:
    """Walk the whole chain in id order, in batches (a long log need not fit in memory)."""
    prev = GENESIS
    count = 0
    last_id = 0
    while True:
        rows = list(
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.id > last_id)
                .order_by(AuditEntry.id)
                .limit(batch)
            )
        )
        if not rows:
            return Verification(True, count, head=prev)
        for row in rows:
            count += 1
            problem = _problem(row, prev)
            if problem:
                return Verification(False, count, row.id, problem)
            prev = row.hash
        last_id = rows[-1].id


async def recent(session: AsyncSession, clinic_id: int, limit: int = 20) -> list[AuditEntry]:
    return list(
        await session.scalars(
            select(AuditEntry)
            .where(AuditEntry.clinic_id == clinic_id)
            .order_by(AuditEntry.id.desc())
            .limit(limit)
        )
    )


async def count_and_head(session: AsyncSession) -> tuple[int, str]:
    n = await session.scalar(select(func.count()).select_from(AuditEntry)) or 0
    head = await session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1))
    return n, head or GENESIS
