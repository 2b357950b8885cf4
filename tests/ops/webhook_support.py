"""Helpers for the webhook tests (import as `tests.ops.webhook_support`)."""

from __future__ import annotations

import dataclasses
import socket

from homecare.config import Config

SECRET = "hook_secret-0123456789"
HOOK_PATH = "/telegram/puskesmas-kassi"


def free_port() -> int:
    """A port free now (the bot binds it a moment later; the webhook URL must name it first)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def webhook_url(port: int) -> str:
    return f"http://127.0.0.1:{port}{HOOK_PATH}"


def webhook_config(cfg: Config, port: int) -> Config:
    """`cfg` in webhook mode with the console (and so the webhook) on `port`."""
    return cfg.replace(
        telegram=dataclasses.replace(
            cfg.telegram, mode="webhook", webhook_url=webhook_url(port), secret_token=SECRET
        ),
        web=dataclasses.replace(cfg.web, enabled=True, port=port),
    )
