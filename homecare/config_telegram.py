"""`[telegram]`'s intake settings: polling or webhook, and the checks that go with them.

Kept beside `homecare/config.py` (which calls `check_telegram`) so that file stays small.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from homecare.errors import ConfigError

MODES = ("polling", "webhook")
# What the handlers use; Telegram sends nothing else (fewer requests, less personal data kept).
DEFAULT_ALLOWED_UPDATES = ("message", "edited_message", "callback_query", "my_chat_member")
# Every update type of Bot API 9 (a typo in the file is refused, not silently never received).
UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "message_reaction",
        "message_reaction_count",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
# Telegram's rule for setWebhook's secret_token.
SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
# The webhook lives under this path on the console's server: no console page ever does.
WEBHOOK_PREFIX = "/telegram/"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def webhook_path(url: str) -> str:
    """The path Telegram posts to (also the route on the console's server)."""
    return urlsplit(url).path


def _check(cond: bool, key: str, problem: str) -> None:
    if not cond:
        raise ConfigError(key, problem)


def check_telegram(telegram: Any, web: Any, complete: bool = True) -> None:
    """The mode, the webhook's URL and secret, allowed_updates; each problem names its key.
    `complete=False`: the secret may still come from the environment."""
    modes = " or ".join(f'"{m}"' for m in MODES)
    _check(
        telegram.mode in MODES,
        "[telegram] mode",
        f'"{telegram.mode}" is not supported (use {modes})',
    )
    _check(
        len(telegram.allowed_updates) > 0,
        "[telegram] allowed_updates",
        "must list at least one update type",
    )
    for kind in telegram.allowed_updates:
        _check(
            kind in UPDATE_TYPES,
            "[telegram] allowed_updates",
            f'"{kind}" is not a Telegram update type',
        )
    _check(
        not telegram.secret_token or SECRET.fullmatch(telegram.secret_token) is not None,
        "[telegram] secret_token",
        "must be 1 to 256 characters of A-Z, a-z, 0-9, _ and -",
    )
    if telegram.webhook_url:
        _check_url(telegram.webhook_url)
    if telegram.mode != "webhook":
        return
    _check(
        bool(telegram.webhook_url),
        "[telegram] webhook_url",
        'is required in webhook mode (e.g. "https://host/telegram/<path>")',
    )
    _check(
        bool(telegram.secret_token) or not complete,
        "[telegram] secret_token",
        "is required in webhook mode (or HOMECARE_TELEGRAM_SECRET_TOKEN)",
    )
    _check(
        web.enabled,
        "[web] enabled",
        "must be true in webhook mode (the webhook is served by the console's server)",
    )


def _check_url(url: str) -> None:
    key = "[telegram] webhook_url"
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 (raises ValueError for a bad port)
    except ValueError:
        raise ConfigError(key, f'"{url}" is not a URL') from None
    _check(
        parts.scheme == "https" or (parts.scheme == "http" and host in LOOPBACK),
        key,
        'must start with "https://" (Telegram posts only over HTTPS; "http://127.0.0.1" '
        "is allowed for the sandbox)",
    )
    _check(bool(host), key, f'"{url}" names no host')
    _check(
        parts.path.startswith(WEBHOOK_PREFIX) and len(parts.path) > len(WEBHOOK_PREFIX),
        key,
        f'path must start with "{WEBHOOK_PREFIX}" and name the hook, '
        f'e.g. "https://host{WEBHOOK_PREFIX}puskesmas"',
    )
    _check(not parts.query and not parts.fragment, key, "must have no query or fragment")
