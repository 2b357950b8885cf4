"""The core stays pure: importing it pulls in neither Telegram nor the database layer."""

from __future__ import annotations

import subprocess
import sys

CORE = ["booking", "visits", "reminders", "identity", "vitals", "series"]


def test_core_imports_neither_telegram_nor_sqlalchemy() -> None:
    code = (
        "import sys\n"
        + "".join(f"import scheduler.{m}\n" for m in CORE)
        + "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('telegram', 'sqlalchemy', 'db', 'bot', 'apscheduler', 'aiosqlite', 'asyncpg'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""
