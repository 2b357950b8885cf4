"""The real process: demo mode + terminal chat, graceful stop, and a token-free DEBUG log."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path
from typing import Any

import pytest

from db import migrate
from db.session import Database
from tests.botproc import BotProcess, write_config
from tests.support import TEST_TOKEN


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _read_until(stream: asyncio.StreamReader, needle: str, limit_s: float = 30) -> str:
    seen = ""
    async with asyncio.timeout(limit_s):
        while needle not in seen:
            line = await stream.readline()
            if not line:
                break
            seen += line.decode()
    return seen


@pytest.mark.slow
async def test_demo_without_token_answers_start_in_terminal_chat(
    empty_database: Database, tmp_path: Path
) -> None:
    db = empty_database
    await migrate.upgrade(db.engine)
    port = _free_port()
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[database]\nurl = "{db.url}"\n[sandbox]\nport = {port}\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOMECARE_")}
    demo = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "homecare.cli",
        "--config",
        str(cfg),
        "run",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
    )
    try:
        assert demo.stdout is not None
        banner = await _read_until(demo.stdout, "homecare chat --as")
        assert f"127.0.0.1:{port}" in banner and "Demo running" in banner, banner
        chat = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "homecare.cli",
            "--config",
            str(cfg),
            "chat",
            "--as",
            "ani",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        assert chat.stdin is not None and chat.stdout is not None
        chat.stdin.write(b"/start\n")
        await chat.stdin.drain()
        transcript = await _read_until(chat.stdout, "Selamat datang")
        assert "Selamat datang" in transcript, transcript
        chat.stdin.write(b":quit\n")
        await chat.stdin.drain()
        assert await asyncio.wait_for(chat.wait(), 20) == 0
        # A demo nurse exists and is recognised as staff.
        chat2 = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "homecare.cli",
            "--config",
            str(cfg),
            "chat",
            "--as",
            "siti",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        assert chat2.stdin is not None and chat2.stdout is not None
        chat2.stdin.write(b"/start\n")
        await chat2.stdin.drain()
        transcript2 = await _read_until(chat2.stdout, "perawat")
        assert "perawat" in transcript2, transcript2
        chat2.stdin.write(b":quit\n")
        await chat2.stdin.drain()
        await asyncio.wait_for(chat2.wait(), 20)
    finally:
        if demo.returncode is None:
            demo.terminate()
        assert await asyncio.wait_for(demo.wait(), 20) == 0


@pytest.mark.slow
async def test_token_never_in_debug_log(
    sandbox: Any, client: Any, empty_database: Database, tmp_path: Path
) -> None:
    db = empty_database
    await migrate.upgrade(db.engine)
    cfg = write_config(
        tmp_path / "config.toml",
        base_url=sandbox.bot_api_base_url,
        database_url=db.url,
        level="DEBUG",
    )
    bot = BotProcess(cfg, tmp_path / "bot.log")
    await bot.start()
    try:
        ani = await client.user("ani")
        await ani.send("/start")
        await ani.wait_message(timeout=30)
        await ani.press_forged("lang:zz")  # a refused button and an answerCallbackQuery too
        await ani.send("/help")
        await ani.wait_message(timeout=30)
    finally:
        assert await bot.stop() == 0
    log = (tmp_path / "bot.log").read_text()
    assert " DEBUG " in log, "the log was not at DEBUG level"
    assert "getUpdates" in log  # requests were logged…
    assert TEST_TOKEN not in log  # …without the token
    assert TEST_TOKEN.split(":")[1] not in log


async def test_missing_schema_refuses_to_run(tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path / "config.toml",
        base_url="http://127.0.0.1:9/bot",
        database_url=f"sqlite+aiosqlite:///{tmp_path}/fresh.db",
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "homecare.cli",
        "--config",
        str(cfg),
        "run",
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 1
    assert b"run `homecare db upgrade` first" in err
