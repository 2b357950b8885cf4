"""Telegram Mini App sign-in: checking `initData` as Telegram documents it (pure).

core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app: the data-check string
is every field but `hash`, as "key=value" sorted by key and joined by newlines; the secret key
is HMAC-SHA256 of the bot token keyed with "WebAppData"; the hash is the hex HMAC-SHA256 of the
data-check string with that key. `auth_date` must be recent, so a copied initData soon expires.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

MAX_AGE = timedelta(hours=1)
MAX_LENGTH = 4096


@dataclass(frozen=True)
class WebAppUser:
    telegram_user_id: int
    auth_date: datetime


def _secret(bot_token: str) -> bytes:
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def sign(fields: dict[str, str], bot_token: str) -> str:
    """The `hash` Telegram would add to `fields` (for the sandbox and tests)."""
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    return hmac.new(_secret(bot_token), check.encode(), hashlib.sha256).hexdigest()


def validate(
    raw: str, bot_token: str, now: datetime, max_age: timedelta = MAX_AGE
) -> WebAppUser | str:
    """The Telegram user the data vouches for, or why it is refused ("hash", "stale", …)."""
    if not raw or len(raw) > MAX_LENGTH:
        return "malformed"
    pairs = parse_qsl(raw, keep_blank_values=True, strict_parsing=False)
    fields = dict(pairs)
    if len(fields) != len(pairs):
        return "malformed"  # a repeated key could be read two ways
    sent = fields.pop("hash", "")
    if not sent or not hmac.compare_digest(sign(fields, bot_token), sent):
        return "hash"
    try:
        auth_date = datetime.fromtimestamp(int(fields.get("auth_date", "")), UTC)
        user = json.loads(fields.get("user", ""))
        user_id = int(user["id"])
    except (ValueError, TypeError, KeyError, json.JSONDecodeError):
        return "malformed"
    if auth_date > now + timedelta(minutes=5) or now - auth_date > max_age:
        return "stale"
    return WebAppUser(user_id, auth_date)
