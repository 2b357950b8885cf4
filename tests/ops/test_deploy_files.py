"""The deployment files hold together: the wheel a Docker image or a systemd install is built
from carries every file the code reads at run time, the container's entrypoint upgrades the
schema before `run` only, and the image and unit run as a user of their own.

(No Docker engine runs on the machines that test this project: `scripts/docker-smoke.sh` builds
the image and starts compose.yaml where one does.)
"""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("homecare", "scheduler", "db", "bot", "sandbox")
NOT_SHIPPED = {"sandbox/README.md"}


def _data_files() -> set[str]:
    found = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*"):
            rel = path.relative_to(ROOT).as_posix()
            if path.is_file() and "__pycache__" not in rel and rel not in NOT_SHIPPED:
                found.add(rel)
    return found


@pytest.mark.timeout(300)
def test_the_wheel_carries_every_file_the_code_reads(tmp_path: Path) -> None:
    # The install the Dockerfile and the systemd notes make is not editable: a template or
    # locale missing from package-data would only show in production.
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(ROOT)],
        check=True,
        cwd=tmp_path,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    (wheel,) = tmp_path.glob("homecare-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    expected = _data_files()
    assert any(name.endswith(".toml") for name in expected)
    assert sorted(expected - shipped) == []


def _entrypoint(tmp_path: Path, *args: str, config: str = "") -> list[str]:
    """Run deploy/docker-entrypoint.sh with a `homecare` that records how it was called."""
    log = tmp_path / "calls"
    fake = tmp_path / "bin" / "homecare"
    fake.parent.mkdir(exist_ok=True)
    fake.write_text(f'#!/bin/sh\necho "$*" >> {log}\n')
    fake.chmod(0o755)
    env = {"PATH": f"{fake.parent}:/usr/bin:/bin"}
    if config:
        env["HOMECARE_CONFIG"] = config
    subprocess.run(["sh", str(ROOT / "deploy/docker-entrypoint.sh"), *args], check=True, env=env)
    calls = log.read_text().splitlines()
    log.unlink()
    return calls


def test_the_entrypoint_upgrades_the_schema_before_run_only(tmp_path: Path) -> None:
    assert _entrypoint(tmp_path) == ["db upgrade", "run"]
    assert _entrypoint(tmp_path, "run") == ["db upgrade", "run"]
    conf = "/etc/homecare/config.toml"
    assert _entrypoint(tmp_path, config=conf) == [
        f"--config {conf} db upgrade",
        f"--config {conf} run",
    ]
    assert _entrypoint(tmp_path, "backup", "--to", "/b/x.db", config=conf) == [
        f"--config {conf} backup --to /b/x.db"
    ]
    assert _entrypoint(tmp_path, "db", "current") == ["db current"]


def test_the_image_runs_as_its_own_user_from_the_lock_and_checks_health() -> None:
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    froms = [line for line in lines if line.startswith("FROM ")]
    assert froms and all(line.split()[1].startswith("python:3.11-slim") for line in froms)
    assert any("--constraint requirements.lock" in line for line in lines)
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert lines.index(f"USER {users[-1]}") < lines.index('CMD ["run"]')
    assert any("/healthz" in line for line in lines)
    compose = (ROOT / "compose.yaml").read_text()
    assert "condition: service_healthy" in compose
    assert "postgresql+asyncpg://" in compose and '"127.0.0.1:8090:8090"' in compose


def test_the_systemd_unit_runs_the_bot_unprivileged() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read(ROOT / "deploy/homecare.service")
    service = unit["Service"]
    assert service["User"] == "homecare"
    assert service["ExecStart"].endswith(" run")
    assert "db upgrade" in service["ExecStartPre"]
    assert service["NoNewPrivileges"] == "yes" and service["ProtectSystem"] == "strict"
