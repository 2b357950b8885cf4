"""`homecare` — the console command: run | chat | db | plan (more subcommands join here:
cli_staff: invite | export | audit; cli_backup: backup | restore; cli_satusehat: satusehat)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Callable, Sequence

from homecare import (
    cli_backup,  # backup, restore; imports nothing from here
    cli_satusehat,  # satusehat submit; imports nothing from here
    cli_staff,  # invite, export, audit; imports nothing from here
    heap,
)
from homecare.config import Config
from homecare.errors import ConfigError
from homecare.logs import setup_logging

log = logging.getLogger("homecare")

EXIT_CONFIG = 2


def _load(args: argparse.Namespace) -> Config:
    return cli_staff._load(args)


# --- run -----------------------------------------------------------------------------------


async def _run(config: Config, stop_event: asyncio.Event | None = None) -> int:
    from bot.app import build_application
    from db import run_lock
    from homecare import demo

    stop = stop_event or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    sandbox = None
    if config.demo:
        sandbox, config = await demo.start_sandbox(config)
    hc = build_application(config)
    if not await _schema_is_current(hc.db):
        log.error("the database schema is not current: run `homecare db upgrade` first")
        await hc.db.dispose()
        if sandbox is not None:
            await sandbox.stop()
        return 1
    # Held while the bot runs, so `homecare restore` can tell (db/run_lock.py).
    running = await run_lock.acquire(config.database.url, exclusive=False)
    if running is None:
        log.error("a `homecare restore` is replacing this database: start again when it is done")
        await hc.db.dispose()
        if sandbox is not None:
            await sandbox.stop()
        return 1
    try:
        await hc.start()
        if sandbox is not None:
            await demo.seed(hc, sandbox)
            demo.print_instructions(hc.config, sandbox)
        heap.settle()  # what start-up left is never scanned again by the collector
        try:
            await stop.wait()
        finally:
            log.info("stopping…")
            await hc.stop()
            if sandbox is not None:
                await sandbox.stop()
    finally:
        await running.release()
    return 0


async def _schema_is_current(db: object) -> bool:
    from db import migrate
    from db.session import Database

    assert isinstance(db, Database)
    return await migrate.current(db.engine) == migrate.head()


def cmd_run(args: argparse.Namespace) -> int:
    config = _load(args)
    telegram = config.telegram
    setup_logging(config.logging.level, secrets=[telegram.token, telegram.secret_token])
    return asyncio.run(_run(config))


# --- db ------------------------------------------------------------------------------------


def cmd_db(args: argparse.Namespace) -> int:
    from db import migrate
    from db.session import create_engine

    config = _load(args)
    setup_logging(config.logging.level, secrets=[config.telegram.token])

    async def go() -> int:
        engine = create_engine(config.database.url)
        try:
            if args.action == "upgrade":
                await migrate.upgrade(engine, args.revision or "head")
            elif args.action == "downgrade":
                await migrate.downgrade(engine, args.revision or "base")
            rev = await migrate.current(engine)
            print(f"database schema revision: {rev or 'empty'} (head: {migrate.head()})")
        finally:
            await engine.dispose()
        return 0

    return asyncio.run(go())


# --- chat ----------------------------------------------------------------------------------


def cmd_chat(args: argparse.Namespace) -> int:
    from sandbox.chat import main as chat_main

    config = _load(args)
    url = args.sandbox or f"http://{config.sandbox.host}:{config.sandbox.port}"
    argv = ["--url", url, "--as", args.as_name]
    if args.language:
        argv += ["--language", args.language]
    return chat_main(argv)


# --- plan ----------------------------------------------------------------------------------


def cmd_plan(argv: list[str]) -> int:
    from scheduler.planner.cli import main as plan_main

    return plan_main(argv)


# --- parser --------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="homecare", description="Home-care visit scheduling bot for a puskesmas."
    )
    parser.add_argument(
        "--config", help="configuration file (default: ./config.toml if present, else defaults)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run the bot and its scheduler (no token: the demo)")
    p.add_argument("--config", dest="config", default=argparse.SUPPRESS)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("db", help="database schema migrations")
    p.add_argument("action", choices=["upgrade", "downgrade", "current"])
    p.add_argument("revision", nargs="?", help="target revision (default: head / base)")
    p.add_argument("--config", dest="config", default=argparse.SUPPRESS)
    p.set_defaults(func=cmd_db)

    p = sub.add_parser("chat", help="talk to the demo bot from this terminal (sandbox)")
    p.add_argument("--as", dest="as_name", required=True, help="who you are, e.g. ani")
    p.add_argument("--language", choices=["id", "en"], help="your Telegram client language")
    p.add_argument("--sandbox", help="sandbox URL (default from [sandbox] in the config)")
    p.add_argument("--config", dest="config", default=argparse.SUPPRESS)
    p.set_defaults(func=cmd_chat)

    sub.add_parser(
        "plan", help="plan routes from a JSON request (see docs/planning.md)", add_help=False
    )
    for extra in EXTRA_COMMANDS:
        extra(sub)
    return parser


# Feature modules add their subcommands here: each takes the subparsers object.
EXTRA_COMMANDS: list[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]] = []

EXTRA_COMMANDS.append(cli_staff.add_commands)
EXTRA_COMMANDS.append(cli_backup.add_commands)
EXTRA_COMMANDS.append(cli_satusehat.add_commands)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # `plan` has its own parser (scheduler.planner.cli); hand it the rest of the line untouched.
    if argv and argv[0] == "plan":
        return cmd_plan(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        result: int = args.func(args)
        return result
    except ConfigError as exc:
        print(f"homecare: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
