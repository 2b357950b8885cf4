"""Constants and helpers shared by tests (import as `tests.support`)."""

from __future__ import annotations

import os
from pathlib import Path

TEST_TOKEN = "123456789:TEST-token-for-the-sandbox-0000"
PG_URL = os.environ.get("HOMECARE_TEST_DATABASE_URL", "")


def database_url(tmp_path: Path) -> str:
    """PostgreSQL when HOMECARE_TEST_DATABASE_URL is set (make test's second run), else SQLite."""
    return PG_URL or f"sqlite+aiosqlite:///{tmp_path}/homecare-test.db"
