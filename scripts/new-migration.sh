#!/usr/bin/env bash
# Autogenerate a migration from db/models.py: scripts/new-migration.sh "add feedback comment"
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
.venv/bin/python - "$tmp/gen.db" "$1" <<'PY'
import asyncio, sys
from alembic import command
from db.migrate import alembic_config, upgrade
from db.session import create_engine

url = f"sqlite+aiosqlite:///{sys.argv[1]}"
engine = create_engine(url)
asyncio.run(upgrade(engine))
asyncio.run(engine.dispose())
cfg = alembic_config(url)
from alembic.script import ScriptDirectory
head = ScriptDirectory.from_config(cfg).get_current_head() or "0000"
command.revision(cfg, message=sys.argv[2], autogenerate=True, rev_id=f"{int(head) + 1:04d}")
PY
.venv/bin/ruff format db/migrations/versions >/dev/null
.venv/bin/ruff check --fix -q db/migrations/versions || true
