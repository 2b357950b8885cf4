"""Staff invites: the CLI makes the first head, heads invite nurses; single use, 24 h, hashed."""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from bot.app import HomecareApp
from bot.i18n import t
from db.models import Account, AuditEntry, Clinic, Invite, Nurse
from db.services import invites
from db.session import Database
from tests.head.conftest import Person, run_cli, wait_menu
from tests.head.factory import account

SHIFT = (time(8), time(14))


@pytest.fixture
def clock() -> Iterator[None]:
    """Real time here: the CLI (another process) dates its invites by the real clock."""
    yield None


NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


async def _clinic(db: Database) -> int:
    async with db.transaction() as s:
        c = Clinic(code="kk", name="KK", timezone="Asia/Makassar")
        s.add(c)
        await s.flush()
        return c.id


async def _new(db: Database, cid: int, role: str = "nurse", now: datetime = NOW) -> str:
    async with db.transaction() as s:
        new = await invites.create(s, clinic_id=cid, role=role, name="Siti Aminah", now=now)
    return new.code


async def _accept(db: Database, cid: int, code: str, who: int, now: datetime = NOW) -> Any:
    async with db.transaction() as s:
        acc = await s.scalar(select(Account).where(Account.telegram_user_id == who))
        if acc is None:
            acc = await account(s, who, f"user{who}")
        return await invites.accept(s, clinic_id=cid, code=code, account=acc, now=now, shift=SHIFT)


async def test_code_is_128_bits_and_only_its_hash_is_stored(database: Database) -> None:
    cid = await _clinic(database)
    code = await _new(database, cid)
    assert len(code) == 22 and re.fullmatch(r"[A-Za-z0-9_-]+", code)  # token_urlsafe(16)
    async with database.read() as s:
        row = await s.scalar(select(Invite))
    assert row is not None
    assert row.code_hash == hashlib.sha256(code.encode()).hexdigest()
    assert code not in (row.code_hash, row.name)
    assert row.expires_at - row.created_at == timedelta(hours=24)
    assert row.role == "nurse" and row.clinic_id == cid


async def test_nurse_invite_grants_role_and_creates_the_nurse(database: Database) -> None:
    cid = await _clinic(database)
    code = await _new(database, cid)
    accepted = await _accept(database, cid, code, 501)
    assert accepted.role == "nurse" and accepted.nurse_id is not None
    async with database.read() as s:
        nurse = await s.get(Nurse, accepted.nurse_id)
        acc = await s.scalar(select(Account).where(Account.telegram_user_id == 501))
        audit_actions = list(await s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert nurse is not None and acc is not None
    assert (nurse.name, nurse.skills, nurse.daily_cap) == ("Siti Aminah", [], 8)
    assert (nurse.shift_start, nurse.shift_end, nurse.account_id) == (*SHIFT, acc.id)
    assert {r.role for r in acc.roles} == {"nurse"}
    assert audit_actions == ["invite_created", "invite_used"]


async def test_second_use_is_refused(database: Database) -> None:
    cid = await _clinic(database)
    code = await _new(database, cid)
    await _accept(database, cid, code, 501)
    with pytest.raises(invites.InviteRefused) as refused:
        await _accept(database, cid, code, 502)
    assert refused.value.reason is invites.Refusal.USED
    async with database.read() as s:
        other = await s.scalar(select(Account).where(Account.telegram_user_id == 502))
        nurses = await s.scalar(select(func.count()).select_from(Nurse))
    assert other is None or other.roles == []  # the refused transaction changed nothing
    assert nurses == 1


async def test_expired_and_unknown_and_other_clinic_are_refused(database: Database) -> None:
    cid = await _clinic(database)
    code = await _new(database, cid)
    with pytest.raises(invites.InviteRefused) as late:
        await _accept(database, cid, code, 501, now=NOW + timedelta(hours=24))
    assert late.value.reason is invites.Refusal.EXPIRED
    with pytest.raises(invites.InviteRefused) as unknown:
        await _accept(database, cid, "x" * 22, 501)
    assert unknown.value.reason is invites.Refusal.UNKNOWN
    async with database.transaction() as s:
        other = Clinic(code="other", name="Other", timezone="Asia/Makassar")
        s.add(other)
        await s.flush()
        other_id = other.id
    with pytest.raises(invites.InviteRefused) as elsewhere:
        await _accept(database, other_id, code, 501)
    assert elsewhere.value.reason is invites.Refusal.UNKNOWN
    # Still usable in its own clinic within the 24 h.
    assert (await _accept(database, cid, code, 501, now=NOW + timedelta(hours=23))).role == "nurse"


async def test_simultaneous_uses_only_one_succeeds(database: Database) -> None:
    cid = await _clinic(database)
    code = await _new(database, cid, role="head")
    async with database.transaction() as s:
        for uid in range(600, 606):
            await account(s, uid, f"u{uid}")

    async def use(uid: int) -> str:
        try:
            await _accept(database, cid, code, uid)
            return "ok"
        except invites.InviteRefused as exc:
            return exc.reason.value

    results = await asyncio.gather(*(use(uid) for uid in range(600, 606)))
    assert sorted(results) == ["invite_used"] * 5 + ["ok"]
    async with database.read() as s:
        heads = await s.scalar(
            select(func.count()).select_from(Account).where(Account.roles.any(role="head"))
        )
    assert heads == 1


async def test_first_head_from_the_cli_then_a_nurse_by_invite_link(
    app: HomecareApp,
    client: Any,
    sandbox: Any,
    write_config: Callable[..., Path],
    make_person: Callable[..., Any],
) -> None:
    """`homecare invite --role head` → deep link → /start inv_… → head; the head invites a nurse
    with /undang_perawat (asked for the name) → the nurse joins → a second use is refused."""
    done = await asyncio.to_thread(
        run_cli, write_config(), "invite", "--role", "head", "--name", "dr. Budi Santoso"
    )
    assert done.returncode == 0, done.stderr
    bot_name = sandbox.identity.username
    link = re.search(rf"https://t\.me/{bot_name}\?start=(inv_[\w-]+)", done.stdout)
    code = re.search(r"^code: ([\w-]{22})$", done.stdout, re.M)
    assert link and code and link.group(1) == f"inv_{code.group(1)}"

    budi = await client.user("budi")
    await budi.send(f"/start {link.group(1)}")
    welcome = await budi.wait_message()
    assert "dr. Budi Santoso" in welcome.text and "kepala puskesmas" in welcome.text
    menu = await wait_menu(client, budi.id, {"hari_ini", "staf", "undang_perawat"})
    assert {"hari_ini", "staf", "undang_perawat"} <= menu

    await budi.send("/undang_perawat")
    ask = await budi.wait_message()
    assert ask.force_reply and ask.text == t("id", "head.invite_ask_name")
    await budi.send("Siti Rahmawati", reply_to=ask.message_id)
    created = await budi.wait_message()
    nurse_link = re.search(rf"https://t\.me/{bot_name}\?start=(inv_[\w-]+)", created.text)
    assert nurse_link and "Siti Rahmawati" in created.text

    siti = await client.user("siti")
    await siti.send(f"/start {nurse_link.group(1)}")
    joined = await siti.wait_message()
    assert "perawat" in joined.text and "Siti Rahmawati" in joined.text
    siti_menu = await wait_menu(client, siti.id, {"jadwal", "besok", "cuti"})
    assert {"jadwal", "besok", "cuti"} <= siti_menu and "staf" not in siti_menu
    told = await budi.wait_message()
    assert told.text == t("id", "head.invite_joined", name="Siti Rahmawati", role="perawat")

    eve = await client.user("eve")
    await eve.send(f"/start {nurse_link.group(1)}")
    refused = await eve.wait_message()
    assert refused.text == t("id", "head.invite_used", phone=app.config.clinic.phone)
    async with app.db.read() as s:
        nurses = list(await s.scalars(select(Nurse)))
        eve_acc = await s.scalar(select(Account).where(Account.telegram_user_id == eve.id))
    assert [n.name for n in nurses] == ["Siti Rahmawati"]
    assert eve_acc is not None and eve_acc.roles == []


async def test_invite_by_command_argument_and_expired_link(
    app: HomecareApp, client: Any, head: Person
) -> None:
    await head.user.send("/undang_perawat Andi Saputra")
    created = await head.user.wait_message()
    payload = re.search(r"\?start=(inv_[\w-]+)", created.text)
    assert payload and "Andi Saputra" in created.text
    async with app.db.transaction() as s:
        await s.execute(update(Invite).values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    andi = await client.user("andi")
    await andi.send(f"/start {payload.group(1)}")
    refused = await andi.wait_message()
    assert refused.text == t("id", "head.invite_expired", phone=app.config.clinic.phone)


async def test_patients_and_nurses_cannot_invite(
    app: HomecareApp, make_person: Callable[..., Any]
) -> None:
    for person in (await make_person("ani", "patient"), await make_person("rina", "nurse")):
        await person.user.send("/undang_perawat Siapa Saja")
        refused = await person.user.wait_message()
        assert refused.text == t("id", "common.not_allowed")
    async with app.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(Invite)) == 0
