#!/usr/bin/env bash
# Build the image and start compose.yaml (bot + PostgreSQL); wait for /healthz; tear down.
# Needs a Docker engine (`docker info` must answer) and access to Docker Hub for the base images.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! docker info >/dev/null 2>&1; then
  echo "docker-smoke: no Docker engine answers here (docker info failed); nothing was tried." >&2
  exit 2
fi
WORK=$(mktemp -d)
PROJECT=homecare-smoke-$$
trap 'docker compose -p "$PROJECT" --project-directory "$PWD" -f compose.yaml down -v >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
# No token: the image runs the demo (its own sandbox), enough to prove the wiring and the database.
sed -e 's/^host = "127.0.0.1"/host = "0.0.0.0"/' config.example.toml > "$WORK/config.toml"
export HOMECARE_CONFIG_FILE="$WORK/config.toml"
export POSTGRES_PASSWORD
POSTGRES_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
docker build -t homecare:smoke .
docker compose -p "$PROJECT" -f compose.yaml up -d --build
for _ in $(seq 1 60); do
  if python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8090/healthz', timeout=2)" 2>/dev/null; then
    echo "docker-smoke: /healthz answered 200"
    docker compose -p "$PROJECT" -f compose.yaml exec -T bot homecare db current
    exit 0
  fi
  sleep 2
done
docker compose -p "$PROJECT" -f compose.yaml logs --tail 50 bot >&2
echo "docker-smoke: /healthz did not answer within 120 s" >&2
exit 1
