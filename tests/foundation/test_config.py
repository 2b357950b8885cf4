"""Configuration: the example file is valid and equals the defaults; bad files say what is wrong."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from homecare.config import Config, config_from_mapping, load_config
from homecare.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_example_file_is_valid_and_matches_defaults() -> None:
    cfg = load_config(ROOT / "config.example.toml", environ={})
    assert cfg == Config()


def test_environment_overrides_token_and_database() -> None:
    cfg = load_config(
        None,
        environ={
            "HOMECARE_TELEGRAM_TOKEN": "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            "HOMECARE_DATABASE_URL": "postgresql+asyncpg://u@127.0.0.1/x",
        },
    )
    assert cfg.telegram.token == "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    assert cfg.database.url == "postgresql+asyncpg://u@127.0.0.1/x"
    assert not cfg.demo


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"clinic": {"timezone": "Asia/Makasar"}},
            'x.toml: [clinic] timezone "Asia/Makasar" is not a known time zone',
        ),
        (
            {"clinic": {"tiemzone": "Asia/Makassar"}},
            "x.toml: [clinic] tiemzone is not a known setting",
        ),
        ({"clinik": {}}, "x.toml: [clinik] is not a known section"),
        (
            {"schedule": {"plan_at": "25:00"}},
            'x.toml: [schedule] plan_at "25:00" is not a time of day "HH:MM"',
        ),
        (
            {"schedule": {"windows": ["10:00-08:00"]}},
            'x.toml: [schedule] windows "10:00-08:00" ends before it starts',
        ),
        ({"planner": {"speed_kmh": "fast"}}, "x.toml: [planner] speed_kmh 'fast' is not a number"),
        ({"planner": {"road_factor": 0.5}}, "x.toml: [planner] road_factor must be at least 1.0"),
        (
            {"database": {"url": "mysql://x"}},
            "x.toml: [database] url must start with sqlite+aiosqlite:// or postgresql+asyncpg://",
        ),
        (
            {"telegram": {"token": "not-a-token"}},
            "x.toml: [telegram] token does not look like a BotFather token (digits:letters)",
        ),
        (
            {"clinic": {"location": {"lat": 100, "lon": 1}}},
            "x.toml: [clinic] location.lat must be between -90 and 90",
        ),
        ({"clinic": {"location": {"lat": 1}}}, "x.toml: [clinic] location.lon is required"),
        (
            {"services": [{"code": "x", "duration_min": 0, "name": {"id": "a", "en": "b"}}]},
            "x.toml: [[services]] x.duration_min must be positive",
        ),
        (
            {"services": [{"code": "x", "duration_min": 5, "name": {"id": "a"}}]},
            "x.toml: [[services]] #1 name_en is required",
        ),
    ],
)
def test_bad_values_name_file_key_and_problem(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        config_from_mapping(data, source="x.toml")
    assert str(err.value) == message


def test_bad_file_exits_2_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[clinic]\ntimezone = "Asia/Makasar"\n')
    proc = subprocess.run(
        [sys.executable, "-m", "homecare.cli", "--config", str(path), "db", "current"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        'homecare: config.toml: [clinic] timezone "Asia/Makasar" is not a known time zone'
    ]


def test_invalid_toml_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[clinic\n")
    with pytest.raises(ConfigError, match=r"^config.toml: is not valid TOML"):
        load_config(path, environ={})


# --- [telegram] webhook mode ---------------------------------------------------------------

HOOK = "https://homecare.example/telegram/kassi"


@pytest.mark.parametrize(
    ("telegram", "web", "message"),
    [
        (
            {"mode": "push"},
            {},
            'x.toml: [telegram] mode "push" is not supported (use "polling" or "webhook")',
        ),
        (
            {"mode": "webhook", "secret_token": "abc"},
            {},
            'x.toml: [telegram] webhook_url is required in webhook mode (e.g. "https://host/telegram/<path>")',
        ),
        (
            {"mode": "webhook", "webhook_url": HOOK},
            {},
            "x.toml: [telegram] secret_token is required in webhook mode "
            "(or HOMECARE_TELEGRAM_SECRET_TOKEN)",
        ),
        (
            {"mode": "webhook", "webhook_url": HOOK, "secret_token": "abc"},
            {"enabled": False},
            "x.toml: [web] enabled must be true in webhook mode "
            "(the webhook is served by the console's server)",
        ),
        (
            {"secret_token": "has space"},
            {},
            "x.toml: [telegram] secret_token must be 1 to 256 characters of A-Z, a-z, 0-9, _ and -",
        ),
        (
            {"secret_token": "x" * 257},
            {},
            "x.toml: [telegram] secret_token must be 1 to 256 characters of A-Z, a-z, 0-9, _ and -",
        ),
        (
            {"webhook_url": "http://homecare.example/telegram/kassi"},
            {},
            'x.toml: [telegram] webhook_url must start with "https://" (Telegram posts only over '
            'HTTPS; "http://127.0.0.1" is allowed for the sandbox)',
        ),
        (
            {"webhook_url": "https://homecare.example/hook"},
            {},
            'x.toml: [telegram] webhook_url path must start with "/telegram/" and name the '
            'hook, e.g. "https://host/telegram/puskesmas"',
        ),
        (
            {"webhook_url": HOOK + "?x=1"},
            {},
            "x.toml: [telegram] webhook_url must have no query or fragment",
        ),
        (
            {"allowed_updates": ["mesage"]},
            {},
            'x.toml: [telegram] allowed_updates "mesage" is not a Telegram update type',
        ),
        (
            {"allowed_updates": []},
            {},
            "x.toml: [telegram] allowed_updates must list at least one update type",
        ),
    ],
)
def test_webhook_settings_are_checked(
    telegram: dict[str, object], web: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        config_from_mapping({"telegram": telegram, "web": web}, source="x.toml")
    assert str(err.value) == message


def test_webhook_mode_takes_its_secret_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'[telegram]\nmode = "webhook"\nwebhook_url = "{HOOK}"\n')
    cfg = load_config(path, environ={"HOMECARE_TELEGRAM_SECRET_TOKEN": "from-env_1"})
    assert cfg.telegram.mode == "webhook" and cfg.telegram.secret_token == "from-env_1"
    assert cfg.telegram.allowed_updates == (
        "message",
        "edited_message",
        "callback_query",
        "my_chat_member",
    )
    with pytest.raises(ConfigError) as err:  # missing in both: the file is named
        load_config(path, environ={})
    assert str(err.value).startswith("config.toml: [telegram] secret_token is required")
    with pytest.raises(ConfigError) as err:  # a bad value from the environment: it is named
        load_config(path, environ={"HOMECARE_TELEGRAM_SECRET_TOKEN": "bad secret"})
    assert str(err.value).startswith("environment: [telegram] secret_token must be")
