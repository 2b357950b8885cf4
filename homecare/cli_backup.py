"""`homecare backup` and `homecare restore`: the whole database to one file and back.

    homecare backup --to backups/homecare-2026-12-07.db [--encrypt]
    homecare restore --from backups/homecare-2026-12-07.db [--force]

The database is the one in the configuration ([database] url or HOMECARE_DATABASE_URL), as
for every other subcommand. How the copy is made: db/backup.py; the encryption:
homecare/backup_crypto.py (passphrase in HOMECARE_BACKUP_PASSPHRASE); how a running bot is
seen: db/run_lock.py.

restore refuses (exit 1, nothing changed) when the target database holds any rows, or a
`homecare run` is using it — `--force` overrides both — and when the backup's schema revision
is unknown to this code (made by a newer version). A backup of an older revision is restored
as it is, and the operator is told to run `homecare db upgrade` (`homecare run` refuses an
out-of-date schema anyway). After restoring it runs the check of `homecare audit verify`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
from pathlib import Path

from homecare import backup_crypto
from homecare.config import Config
from homecare.errors import BackupError

EXIT_OK, EXIT_FAILED = 0, 1


def _where(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _revision(kind: str, plain: Path) -> str | None:
    from db import backup

    return backup.sqlite_revision(plain) if kind == backup.SQLITE else backup.pg_revision(plain)


# --- backup --------------------------------------------------------------------------------------


def backup_to(config: Config, out: Path, encrypt: bool) -> str:
    """Write the backup to `out` (atomically: a half-written file never has its name)."""
    from db import backup

    url = config.database.url
    kind = backup.kind_of_url(url)
    passphrase = backup_crypto.passphrase_from_env() if encrypt else None
    if passphrase is not None:
        backup_crypto.check_new_passphrase(passphrase)  # before any work
    out.parent.mkdir(parents=True, exist_ok=True)
    # Beside the output, so the unencrypted copy never leaves the folder chosen for backups.
    work = Path(tempfile.mkdtemp(prefix=".homecare-backup-", dir=out.parent))
    try:
        plain = work / "plain"
        if kind == backup.SQLITE:
            backup.sqlite_backup(url, plain)
        else:
            backup.pg_backup(url, plain)
        revision = _revision(kind, plain)
        final = plain
        if passphrase is not None:
            final = work / "encrypted"
            final.write_bytes(backup_crypto.encrypt(plain.read_bytes(), passphrase))
        backup.private_file(final)
        os.replace(final, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    size = out.stat().st_size
    locked = ", encrypted" if encrypt else ""
    what = f"{kind}, schema revision {revision or 'none'}, {size} bytes{locked}"
    return f"backup written: {out} ({what})"


def cmd_backup(args: argparse.Namespace) -> int:
    from homecare.cli_staff import _load

    try:
        print(backup_to(_load(args), Path(args.to), args.encrypt))
    except BackupError as exc:
        print(f"homecare backup: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


# --- restore -------------------------------------------------------------------------------------


def _plain_copy(source: Path, work: Path) -> Path:
    """The backup itself, or its decrypted copy in `work` (wrong passphrase: BackupError)."""
    with source.open("rb") as f:
        head = f.read(64)
    if not backup_crypto.is_encrypted(head):
        return source
    passphrase = backup_crypto.passphrase_from_env()
    plain = work / "plain"
    plain.touch(mode=0o600)
    plain.write_bytes(backup_crypto.decrypt(source.read_bytes(), passphrase))
    return plain


def _check_backup(source: Path, work: Path, url: str) -> tuple[Path, str, str | None, str]:
    """Everything that can refuse before the target is touched: readable, decryptable, the
    right database kind, a schema revision this code knows."""
    from db import backup

    if not source.is_file():
        raise BackupError(f"{source} is not a file")
    plain = _plain_copy(source, work)
    with plain.open("rb") as f:
        kind = backup.kind_of_file(f.read(16))
    if kind != backup.kind_of_url(url):
        raise BackupError(
            f"this is a {kind} backup but the configured database is "
            f"{backup.kind_of_url(url)}: restore it into a {kind} database"
        )
    revision = _revision(kind, plain)
    return plain, kind, revision, backup.check_revision(revision)


async def restore_from(config: Config, source: Path, force: bool) -> tuple[list[str], bool]:
    """Restore, then verify the audit chain. Returns the lines to print and whether it is ok."""
    from db import backup, run_lock
    from db.services import audit
    from db.session import Database

    url = config.database.url
    lines: list[str] = []
    # The command's own loop runs nothing else: blocking file work here delays no one.
    work = Path(tempfile.mkdtemp(prefix="homecare-restore-"))  # mode 0700
    try:
        plain, kind, revision, status = _check_backup(source, work, url)
        async with run_lock.held(url, exclusive=True) as free:
            if not free and not force:
                raise BackupError(
                    "a `homecare run` is using this database: stop it first "
                    "(or pass --force to restore under it)"
                )
            if not free:
                lines.append("warning: a `homecare run` is using this database (--force)")
            rows = await backup.rows_in_use(url)
            if rows and not force:
                raise BackupError(
                    f"the target database is not empty ({rows} rows): "
                    "pass --force to replace everything in it"
                )
            if kind == backup.SQLITE:
                backup.sqlite_restore(plain, url)
            else:
                await backup.pg_restore(plain, url)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    lines.append(f"restored {source} into {_where(url)} (schema revision {revision})")
    if status == "older":
        lines.append("the backup's schema is older than this code: run `homecare db upgrade` now")
    db = Database(url)
    try:
        async with db.read() as session:
            result = await audit.verify(session)
    finally:
        await db.dispose()
    lines.append(f"audit verify: {result.message()}")
    return lines, result.ok


def cmd_restore(args: argparse.Namespace) -> int:
    from homecare.cli_staff import _load

    try:
        lines, ok = asyncio.run(restore_from(_load(args), Path(args.source), args.force))
    except BackupError as exc:
        print(f"homecare restore: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print("\n".join(lines))
    return EXIT_OK if ok else EXIT_FAILED


# --- registration --------------------------------------------------------------------------------


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("backup", help="copy the whole database to a file (safe while the bot runs)")
    p.add_argument("--to", required=True, help="the backup file to write")
    p.add_argument(
        "--encrypt",
        action="store_true",
        help=f"encrypt with the passphrase in ${backup_crypto.PASSPHRASE_ENV}",
    )
    p.add_argument("--config", dest="config", default=argparse.SUPPRESS)
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", help="replace the database with a backup, then verify it")
    p.add_argument("--from", dest="source", required=True, help="the backup file")
    p.add_argument(
        "--force",
        action="store_true",
        help="replace a database that holds data, even while a `homecare run` uses it",
    )
    p.add_argument("--config", dest="config", default=argparse.SUPPRESS)
    p.set_defaults(func=cmd_restore)
