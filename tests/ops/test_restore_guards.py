"""What `homecare restore` refuses, and encrypted backups: a running bot (a real `homecare run`
on the sandbox), a wrong or missing passphrase (target unchanged), missing PostgreSQL tools.
On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from db import backup, migrate, run_lock
from db.models import Patient
from db.session import Database
from homecare import backup_crypto
from homecare.config import Config
from homecare.errors import BackupError
from tests.botproc import BotProcess
from tests.botproc import write_config as bot_config
from tests.ops.helpers import dump, homecare, restore_target, seed_clinic, write_config

PASSPHRASE = "kunci cadangan puskesmas 2026"


@pytest.fixture
async def source(empty_database: Database, make_config: Callable[..., Config]) -> Database:
    await migrate.upgrade(empty_database.engine)
    await seed_clinic(empty_database, make_config())
    return empty_database


async def _add_patient(url: str) -> None:
    db = Database(url)
    try:
        async with db.transaction() as session:
            session.add(Patient(clinic_id=1, full_name="Baru", kelurahan="Tidung"))
    finally:
        await db.dispose()


def _names_readable(path: Path) -> bool:
    """The patients' names as anyone with the file reads them: SQLite pages hold them as text;
    a pg_dump archive is compressed, so ask pg_restore for its data."""
    data = path.read_bytes()
    if not data.startswith(backup.PGDUMP_MAGIC):
        return b"Pasien Cadangan" in data
    done = subprocess.run(
        ["pg_restore", "--data-only", "-f", "-", str(path)], capture_output=True, check=False
    )
    return done.returncode == 0 and b"Pasien Cadangan" in done.stdout


async def _answered(user: Any, timeout_s: float = 60.0) -> None:
    for _ in range(int(timeout_s * 10)):
        if await user.messages():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the bot did not answer")


@pytest.mark.slow
async def test_refuses_while_the_bot_runs_and_a_killed_bot_leaves_no_lock(
    source: Database, sandbox: Any, client: Any, tmp_path: Path
) -> None:
    src = write_config(tmp_path / "source.toml", source.url)
    assert (await homecare(src, "backup", "--to", str(tmp_path / "b"))).code == 0
    async with restore_target(tmp_path) as target:
        cfg = write_config(tmp_path / "target.toml", target)
        assert (await homecare(cfg, "restore", "--from", str(tmp_path / "b"))).code == 0
        bot = BotProcess(
            bot_config(
                tmp_path / "bot.toml", base_url=sandbox.bot_api_base_url, database_url=target
            ),
            tmp_path / "bot.log",
        )
        await bot.start()
        try:
            ani = await client.user("ani")
            await ani.send("/start")
            await _answered(ani)  # the bot is up and working on this database
            await _add_patient(target)
            patients = (await dump(target))["patients"]
            refused = await homecare(cfg, "restore", "--from", str(tmp_path / "b"))
            assert refused.code == 1, refused.text
            assert "a `homecare run` is using this database" in refused.err
            assert (await dump(target))["patients"] == patients  # nothing replaced
            # Told to, it goes on under the running bot, and says so.
            forced = await homecare(cfg, "restore", "--from", str(tmp_path / "b"), "--force")
            assert forced.code == 0, forced.text
            assert "warning: a `homecare run` is using this database (--force)" in forced.out
        finally:
            await bot.kill()  # SIGKILL: no clean-up runs, the lock must go anyway
        after_kill = await homecare(cfg, "restore", "--from", str(tmp_path / "b"), "--force")
        assert after_kill.code == 0, after_kill.text
        assert "warning" not in after_kill.out
        assert await dump(target) == await dump(source.url)


@pytest.mark.slow
async def test_the_bot_does_not_start_while_a_restore_holds_the_database(
    source: Database, sandbox: Any, tmp_path: Path
) -> None:
    lock = await run_lock.acquire(source.url, exclusive=True)
    assert lock is not None
    try:
        log = tmp_path / "bot.log"
        bot = BotProcess(
            bot_config(
                tmp_path / "bot.toml", base_url=sandbox.bot_api_base_url, database_url=source.url
            ),
            log,
        )
        await bot.start()
        assert bot.proc is not None
        assert await asyncio.wait_for(bot.proc.wait(), 60) == 1
        assert "a `homecare restore` is replacing this database" in log.read_text()
    finally:
        await lock.release()
    # Once released, a bot takes the shared lock and a restore cannot.
    shared = await run_lock.acquire(source.url, exclusive=False)
    assert shared is not None
    async with run_lock.held(source.url, exclusive=True) as free:
        assert not free
    await shared.release()


async def test_encrypted_round_trip_and_a_wrong_passphrase_changes_nothing(
    source: Database, tmp_path: Path
) -> None:
    src = write_config(tmp_path / "source.toml", source.url)
    folder = tmp_path / "backups"
    plain = await homecare(src, "backup", "--to", str(folder / "plain"))
    assert plain.code == 0
    secret = await homecare(
        src, "backup", "--to", str(folder / "enc"), "--encrypt", passphrase=PASSPHRASE
    )
    assert secret.code == 0, secret.text
    assert "encrypted" in secret.out
    assert sorted(p.name for p in folder.iterdir()) == ["enc", "plain"]  # no copy left behind
    assert (folder / "enc").stat().st_mode & 0o077 == 0
    data = (folder / "enc").read_bytes()
    assert backup_crypto.is_encrypted(data)
    # Names can be read from the plain backup, not from this one.
    assert _names_readable(folder / "plain")
    assert not _names_readable(folder / "enc")
    assert b"Pasien Cadangan" not in data

    async with restore_target(tmp_path) as target:
        cfg = write_config(tmp_path / "target.toml", target)
        assert (await homecare(cfg, "restore", "--from", str(folder / "plain"))).code == 0
        await _add_patient(target)
        changed = await dump(target)

        wrong = await homecare(
            cfg,
            "restore",
            "--from",
            str(folder / "enc"),
            "--force",
            passphrase="not the passphrase",
        )
        assert wrong.code == 1
        assert "wrong passphrase" in wrong.err
        missing = await homecare(cfg, "restore", "--from", str(folder / "enc"), "--force")
        assert missing.code == 1 and "HOMECARE_BACKUP_PASSPHRASE" in missing.err
        assert await dump(target) == changed

        right = await homecare(
            cfg, "restore", "--from", str(folder / "enc"), "--force", passphrase=PASSPHRASE
        )
        assert right.code == 0, right.text
        assert await dump(target) == await dump(source.url)


async def test_encrypt_needs_a_passphrase_of_some_length(source: Database, tmp_path: Path) -> None:
    src = write_config(tmp_path / "source.toml", source.url)
    none = await homecare(src, "backup", "--to", str(tmp_path / "x"), "--encrypt")
    assert none.code == 1 and "HOMECARE_BACKUP_PASSPHRASE" in none.err
    short = await homecare(
        src, "backup", "--to", str(tmp_path / "x"), "--encrypt", passphrase="pendek"
    )
    assert short.code == 1 and "at least 12 characters" in short.err
    assert not (tmp_path / "x").exists()


def test_a_changed_byte_or_a_cut_file_does_not_decrypt() -> None:
    blob = backup_crypto.encrypt(b"isi cadangan" * 100, PASSPHRASE)
    assert backup_crypto.decrypt(blob, PASSPHRASE) == b"isi cadangan" * 100
    flipped = bytearray(blob)
    flipped[-20] ^= 1
    for bad in (bytes(flipped), blob[:-10], blob[: len(backup_crypto.MAGIC) + 5]):
        with pytest.raises(BackupError):
            backup_crypto.decrypt(bad, PASSPHRASE)


async def test_missing_postgresql_tools_are_named(
    source: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools-here"))
    with pytest.raises(BackupError, match=r"`pg_dump` is not installed.*postgresql-client"):
        backup.pg_tool("pg_dump")
    if source.is_sqlite:
        return  # SQLite needs no outside tool
    src = write_config(tmp_path / "source.toml", source.url)
    run = await homecare(src, "backup", "--to", str(tmp_path / "x"))
    assert run.code == 1 and "`pg_dump` is not installed" in run.err, run.text
