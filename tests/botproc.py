"""Run `homecare run` as a real child process against an in-test sandbox (crash and log tests)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import select

from db.models import OutboxMessage
from tests.support import TEST_TOKEN


def write_config(
    path: Path,
    *,
    base_url: str,
    database_url: str,
    level: str = "INFO",
    token: str = TEST_TOKEN,
    web_port: int | None = None,
) -> Path:
    """The console listens on `web_port`, else on a port free now: the default 8090 may be
    taken by another bot on this machine, and the child would exit at start."""
    port = web_port if web_port is not None else _free_port()
    path.write_text(
        f"""
[telegram]
token = "{token}"
base_url = "{base_url}"
poll_timeout_s = 2

[database]
url = "{database_url}"

[logging]
level = "{level}"

[web]
port = {port}
""",
        encoding="utf-8",
    )
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class BotProcess:
    """One `homecare run` child; its stderr goes to `log_path` (appended across restarts)."""

    def __init__(self, config_path: Path, log_path: Path) -> None:
        self.config_path = config_path
        self.log_path = log_path
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOMECARE_")}
        log = self.log_path.open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "homecare.cli",
            "--config",
            str(self.config_path),
            "run",
            stdout=log,
            stderr=log,
            env=env,
        )
        log.close()

    async def kill(self) -> None:
        """SIGKILL: no clean-up runs, exactly like a power cut or the OOM killer."""
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self, grace_s: float = 20.0) -> int:
        """SIGTERM: the graceful stop; returns the exit code."""
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), grace_s)


async def repeated_replies(db: Any, users: Any) -> int:
    """Check every person got every reply queued for them, at most twice each (a repeat only
    where a kill hit between send and mark); returns how many replies came twice."""
    repeats = 0
    for u in users:
        received = Counter(m.text for m in await u.messages())
        async with db.read() as s:
            queued = Counter(
                p["text"]
                for p in await s.scalars(
                    select(OutboxMessage.payload).where(
                        OutboxMessage.chat_id == u.id, OutboxMessage.method == "sendMessage"
                    )
                )
            )
        for text, n in queued.items():
            assert n <= received[text] <= 2 * n, (u.name, text, n, received[text])
        repeats += sum(received.values()) - sum(queued.values())
    return repeats
