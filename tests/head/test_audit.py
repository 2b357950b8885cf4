"""The audit log: appended in the work's transaction, hash-chained, tamper-evident, concurrent-safe;
`homecare audit verify` and /audit."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, update

from bot.app import HomecareApp
from bot.i18n import t
from db.models import AuditEntry, Clinic
from db.services import audit
from db.session import Database
from tests.head.conftest import Person, run_cli


async def _clinic(db: Database) -> int:
    async with db.transaction() as s:
        c = Clinic(code="kk", name="KK", timezone="Asia/Makassar")
        s.add(c)
        await s.flush()
        return c.id


async def _append_n(db: Database, clinic_id: int, n: int) -> None:
    for i in range(n):
        async with db.transaction() as s:
            await audit.append(
                s,
                clinic_id=clinic_id,
                actor_account_id=100 + i,
                actor_role="head",
                action=audit.VIEW_VISIT,
                subject=f"visit:{i}",
            )


async def test_chain_links_each_entry_to_the_previous(database: Database) -> None:
    cid = await _clinic(database)
    await _append_n(database, cid, 5)
    async with database.read() as s:
        rows = list(await s.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        result = await audit.verify(s)
    assert rows[0].prev_hash == audit.GENESIS
    assert [r.prev_hash for r in rows[1:]] == [r.hash for r in rows[:-1]]
    assert result.ok and result.entries == 5 and result.head == rows[-1].hash
    # No health data: the entry is who/what/when only.
    assert rows[2].subject == "visit:2" and rows[2].action == "view_visit"


async def test_edited_entry_is_named(database: Database) -> None:
    cid = await _clinic(database)
    await _append_n(database, cid, 6)
    async with database.read() as s:
        ids = list(await s.scalars(select(AuditEntry.id).order_by(AuditEntry.id)))
    async with database.transaction() as s:
        await s.execute(
            update(AuditEntry).where(AuditEntry.id == ids[3]).values(subject="visit:999")
        )
    async with database.read() as s:
        result = await audit.verify(s)
    assert not result.ok and result.bad_id == ids[3]
    assert "contents" in result.problem


async def test_edited_entry_with_recomputed_hash_breaks_the_next_link(database: Database) -> None:
    """A careful forger recomputes the edited row's hash: the following row no longer links."""
    cid = await _clinic(database)
    await _append_n(database, cid, 4)
    async with database.transaction() as s:
        rows = list(await s.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        rows[1].actor_account_id = 7
        rows[1].hash = audit.row_hash(rows[1])
    async with database.read() as s:
        result = await audit.verify(s)
    assert not result.ok and result.bad_id == rows[2].id


async def test_deleted_entry_is_detected_at_the_next(database: Database) -> None:
    cid = await _clinic(database)
    await _append_n(database, cid, 5)
    async with database.read() as s:
        ids = list(await s.scalars(select(AuditEntry.id).order_by(AuditEntry.id)))
    async with database.transaction() as s:
        await s.execute(delete(AuditEntry).where(AuditEntry.id == ids[1]))
    async with database.read() as s:
        result = await audit.verify(s)
    assert not result.ok and result.bad_id == ids[2]
    assert "deleted" in result.problem


async def test_concurrent_appends_keep_one_chain(database: Database) -> None:
    """Writers racing from separate transactions each chain onto a distinct predecessor."""
    cid = await _clinic(database)

    async def one(i: int) -> None:
        async with database.transaction() as s:
            await audit.append(
                s,
                clinic_id=cid,
                actor_account_id=i,
                actor_role="head",
                action=audit.EXPORT,
                subject=f"export:{i}",
            )
            await asyncio.sleep(0.005)  # widen the window between reading the head and writing

    await asyncio.gather(*(one(i) for i in range(20)))
    async with database.read() as s:
        result = await audit.verify(s)
        prevs = list(await s.scalars(select(AuditEntry.prev_hash)))
    assert result.ok and result.entries == 20
    assert len(set(prevs)) == 20  # no two entries share a predecessor


async def test_entry_rolls_back_with_its_transaction(database: Database) -> None:
    cid = await _clinic(database)
    try:
        async with database.transaction() as s:
            await audit.append(
                s, clinic_id=cid, actor_account_id=1, actor_role="head", action="x", subject="y"
            )
            raise RuntimeError("the work failed")
    except RuntimeError:
        pass
    async with database.read() as s:
        assert await s.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_hash_is_stable_for_the_same_fields() -> None:
    at = datetime(2026, 11, 28, 1, 2, 3, tzinfo=UTC)
    kwargs: dict[str, Any] = dict(
        clinic_id=1, at=at, actor_account_id=2, actor_role="head", action="export", subject="s"
    )
    assert audit.entry_hash(audit.GENESIS, **kwargs) == audit.entry_hash(audit.GENESIS, **kwargs)
    assert audit.entry_hash(audit.GENESIS, **kwargs) != audit.entry_hash(
        audit.GENESIS, **{**kwargs, "subject": "t"}
    )


async def test_cli_audit_verify_ok_then_tampered(
    database: Database, write_config: Callable[..., Path]
) -> None:
    cid = await _clinic(database)
    await _append_n(database, cid, 3)
    config = write_config(with_token=False)
    ok = await asyncio.to_thread(run_cli, config, "audit", "verify")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("ok 3 entries")

    async with database.read() as s:
        ids = list(await s.scalars(select(AuditEntry.id).order_by(AuditEntry.id)))
    async with database.transaction() as s:
        await s.execute(update(AuditEntry).where(AuditEntry.id == ids[1]).values(actor_role="x"))
    bad = await asyncio.to_thread(run_cli, config, "audit", "verify")
    assert bad.returncode == 1
    assert f"entry id {ids[1]}" in bad.stdout

    async with database.transaction() as s:  # restore, then delete the first entry instead
        await s.execute(update(AuditEntry).where(AuditEntry.id == ids[1]).values(actor_role="head"))
        await s.execute(delete(AuditEntry).where(AuditEntry.id == ids[0]))
    gone = await asyncio.to_thread(run_cli, config, "audit", "verify")
    assert gone.returncode == 1
    assert f"entry id {ids[1]}" in gone.stdout


async def test_audit_command_shows_recent_entries_to_heads_only(
    app: HomecareApp, head: Person, make_person: Callable[..., Any]
) -> None:
    async with app.db.transaction() as s:
        await audit.append(
            s,
            clinic_id=app.clinic_id,
            actor_account_id=head.account.id,
            actor_role="head",
            action=audit.VIEW_VISIT,
            subject="visit:41",
        )
    await head.user.send("/audit")
    reply = await head.user.wait_message()
    assert t("id", "head.audit_title") in reply.text
    assert "✅" in reply.text and "1 entri" in reply.text
    assert "kepala" in reply.text and "<code>visit:41</code>" in reply.text

    nurse: Person = await make_person("siti", "nurse")
    await nurse.user.send("/audit")
    refused = await nurse.user.wait_message()
    assert refused.text == t("id", "common.not_allowed")
