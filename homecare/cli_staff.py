"""Subcommands for the clinic's office: `homecare invite`, `homecare export`, `homecare audit`,
`homecare nurse-ihs`.

    homecare invite --role head --name "dr. Budi Santoso"
    homecare nurse-ihs --nurse 3 --number 10009880728   (--number "" removes it)
    homecare export --from 2026-11-01 --to 2026-11-30 --format xlsx [--output laporan.xlsx]
    homecare audit verify

`invite` prints the Telegram deep link (the bot's username comes from getMe: Telegram when a
token is configured, the local sandbox in the demo) and the raw code. The first head of a clinic
is made this way; later heads and nurses too, or nurses by a head's /undang_perawat.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from homecare.config import ClinicConfig, Config, default_config_path, load_config

if TYPE_CHECKING:
    from db.services.exports import ExportFile

EXIT_OK, EXIT_BROKEN, EXIT_USAGE = 0, 1, 2


def _load(args: argparse.Namespace) -> Config:
    path = Path(args.config) if args.config else default_config_path()
    return load_config(path)


# --- the bot's username --------------------------------------------------------------------------


async def bot_username(config: Config) -> str | None:
    """The bot's @username from getMe; in the demo from the local sandbox. None if unreachable."""
    from telegram import Bot
    from telegram.error import TelegramError

    token, base_url = config.telegram.token, config.telegram.base_url
    if config.demo:
        from homecare.demo import DEMO_TOKEN

        token = DEMO_TOKEN
        base_url = f"http://{config.sandbox.host}:{config.sandbox.port}/bot"
    try:
        async with Bot(token, base_url=base_url) as bot:
            return bot.username
    except (TelegramError, OSError):
        if config.demo:
            # The demo sandbox is not running: its bot always has the default name.
            from sandbox.server import SandboxServer

            default: str = inspect.signature(SandboxServer).parameters["bot_username"].default
            return default
        return None


# --- invite --------------------------------------------------------------------------------------


def _clinic(config: Config, code: str | None) -> ClinicConfig | None:
    """`--clinic CODE` (default: the first clinic); None with a message when unknown."""
    if code is None:
        return config.clinic
    clinic = config.clinic_by_code(code)
    if clinic is None:
        known = ", ".join(c.code for c in config.clinics)
        print(
            f"homecare: --clinic {code!r} is not a clinic of this install ({known})",
            file=sys.stderr,
        )
    return clinic


async def _invite(config: Config, role: str, name: str, code: str | None = None) -> int:
    from db.services import invites
    from db.services.accounts import ensure_clinic
    from db.session import Database
    from db.types import utcnow

    if invites.clean_name(name) is None:
        print("homecare invite: --name must not be empty (at most 200 letters)", file=sys.stderr)
        return EXIT_USAGE
    c = _clinic(config, code)
    if c is None:
        return EXIT_USAGE
    username = await bot_username(config)
    db = Database(config.database.url)
    try:
        async with db.transaction() as session:
            clinic_id = await ensure_clinic(session, c.code, c.name, c.timezone)
            new = await invites.create(
                session,
                clinic_id=clinic_id,
                role=role,
                name=name,
                now=utcnow(),
                actor_role="system",
                roles=invites.CLI_ROLES,
            )
    finally:
        await db.dispose()
    expires = new.expires_at.astimezone(c.tz).strftime("%Y-%m-%d %H:%M")
    print(f"Invite for {new.name} as {role} at {c.name} (single use, until {expires}).")
    if username:
        print(f"link: {invites.deep_link(username, new.code)}")
    else:
        print(
            "The bot's username could not be fetched (is Telegram reachable?); the person can "
            "send the bot this instead:",
            file=sys.stderr,
        )
        print(f"link: /start {invites.PAYLOAD_PREFIX}{new.code}")
    print(f"code: {new.code}")
    return EXIT_OK


def cmd_invite(args: argparse.Namespace) -> int:
    return asyncio.run(_invite(_load(args), args.role, args.name, args.clinic))


# --- export --------------------------------------------------------------------------------------


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'"{text}" is not a date YYYY-MM-DD') from None


async def _export(
    config: Config,
    start: date,
    end: date,
    fmt: str,
    output: Path | None,
    code: str | None = None,
) -> int:
    from db.services import audit, exports
    from db.services.accounts import ensure_clinic
    from db.session import Database

    if end < start:
        print("homecare export: --to is before --from", file=sys.stderr)
        return EXIT_USAGE
    c = _clinic(config, code)
    if c is None:
        return EXIT_USAGE
    db = Database(config.database.url)
    try:
        async with db.transaction() as session:
            clinic_id = await ensure_clinic(session, c.code, c.name, c.timezone)
            data = await exports.load(session, clinic_id, c.code, start, end, c.tz)
            try:
                result = exports.render_files(data, fmt)
            except exports.ExportError as exc:
                print(f"homecare export: {exc}", file=sys.stderr)
                return EXIT_BROKEN
            written = _write(result.files, fmt, output)
            await audit.append(
                session,
                clinic_id=clinic_id,
                actor_account_id=None,
                actor_role="system",
                action=audit.EXPORT,
                subject=f"export:{start.isoformat()}..{end.isoformat()}:{fmt}:cli",
            )
    finally:
        await db.dispose()
    for path in written:
        print(f"wrote {path}")
    print(f"{result.visits} visits", end="")
    if fmt == "fhir":
        print(
            f"; {result.encounters} encounters, "
            f"{result.skipped_no_nik} completed visits skipped (no NIK)",
            end="",
        )
    print()
    return EXIT_OK


def _write(files: list[ExportFile], fmt: str, output: Path | None) -> list[Path]:
    """CSV: one file per table into the folder `output`; XLSX/FHIR: the one file to `output`."""
    written: list[Path] = []
    if fmt == "csv":
        folder = output or Path(".")
        folder.mkdir(parents=True, exist_ok=True)
        for f in files:
            path = folder / f.filename
            path.write_bytes(f.content)
            written.append(path)
        return written
    (only,) = files
    path = output or Path(only.filename)
    if path.parent != Path(""):
        path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(only.content)
    return [path]


def cmd_export(args: argparse.Namespace) -> int:
    output = Path(args.output) if args.output else None
    config = _load(args)
    return asyncio.run(_export(config, args.start, args.end, args.format, output, args.clinic))


# --- audit ---------------------------------------------------------------------------------------


async def _audit_verify(config: Config) -> int:
    from db.services import audit
    from db.session import Database

    db = Database(config.database.url)
    try:
        async with db.read() as session:
            result = await audit.verify(session)
    finally:
        await db.dispose()
    if result.ok:
        print(f"ok {result.entries} entries (head {result.head})")
        return EXIT_OK
    print(result.message())
    return EXIT_BROKEN


def cmd_audit(args: argparse.Namespace) -> int:
    return asyncio.run(_audit_verify(_load(args)))


# --- registration --------------------------------------------------------------------------------


# --- a nurse's SATUSEHAT IHS number -------------------------------------------------------------


async def _nurse_ihs(config: Config, nurse_id: int, number: str) -> int:
    from db.services.accounts import ensure_clinic
    from db.services.nurse_ihs import IhsError, set_ihs_number
    from db.session import Database
    from db.types import utcnow

    c = config.clinic
    db = Database(config.database.url)
    try:
        async with db.transaction() as session:
            clinic_id = await ensure_clinic(session, c.code, c.name, c.timezone)
            done = await set_ihs_number(session, clinic_id, nurse_id, number, None, utcnow())
    except IhsError as exc:
        print(f"homecare nurse-ihs: {IHS_PROBLEMS[exc.code]}; nothing changed", file=sys.stderr)
        return EXIT_USAGE
    finally:
        await db.dispose()
    shown = done.ihs_number or "(none)"
    print(f"nurse {done.nurse_id} ({done.name}): IHS number {shown}")
    return EXIT_OK


IHS_PROBLEMS = {
    "format": "an IHS number is 11 digits (SATUSEHAT's practitioner number)",
    "taken": "another nurse of this clinic already has that IHS number",
    "unknown_nurse": "no nurse of this clinic has that id",
}


def cmd_nurse_ihs(args: argparse.Namespace) -> int:
    return asyncio.run(_nurse_ihs(_load(args), args.nurse, args.number))


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("invite", help="create a single-use staff invite link (24 h)")
    p.add_argument("--role", choices=["head", "nurse", "city_admin"], required=True)
    p.add_argument("--name", required=True, help="the invited person's full name")
    p.add_argument("--clinic", default=None, help="clinic code (default: the first clinic)")
    p.add_argument("--config", dest="config", default=argparse.SUPPRESS)
    p.set_defaults(func=cmd_invite)

    p = sub.add_parser("export", help="export the visit log (CSV, XLSX, FHIR R4 bundle)")
    p.add_argument("--from", dest="start", type=_day, required=True, help="first day YYYY-MM-DD")
    p.add_argument("--to", dest="end", type=_day, required=True, help="last day YYYY-MM-DD")
    p.add_argument("--format", choices=["csv", "xlsx", "fhir"], required=True)
    p.add_argument(
        "--output", help="file (xlsx, fhir) or folder (csv); default: the current folder"
    )
    p.add_argument("--clinic", default=None, help="clinic code (default: the first clinic)")
    p.add_argument("--config", dest="config", default=argparse.SUPPRESS)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("nurse-ihs", help="set a nurse's SATUSEHAT IHS number")
    p.add_argument("--nurse", type=int, required=True, help="the nurse's id (console /staf)")
    p.add_argument("--number", required=True, help='11 digits; "" removes it')
    p.add_argument("--config", dest="config", default=argparse.SUPPRESS)
    p.set_defaults(func=cmd_nurse_ihs)

    p = sub.add_parser("audit", help="check the audit log's hash chain")
    p.add_argument("action", choices=["verify"])
    p.add_argument("--config", dest="config", default=argparse.SUPPRESS)
    p.set_defaults(func=cmd_audit)
