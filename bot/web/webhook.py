"""Telegram's webhook on the console's server: check the secret, commit to the inbox, then 200.

The update is committed to the same `inbox` table the poller fills (`Intake.store`, the write
lock's urgent lane, duplicates ignored by update_id) *before* the answer: Telegram redelivers
anything it did not get a 2xx for, so nothing is lost to a crash, and a redelivery of a stored
update is a no-op. The intake worker is then woken and handles it like a polled one.

No session, cookie or CSRF here: the only credential is the secret Telegram sends in
X-Telegram-Bot-Api-Secret-Token, compared in constant time.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Update

from bot.web.context import hc_of
from homecare.config_telegram import webhook_path

log = logging.getLogger(__name__)

SECRET_HEADER = "x-telegram-bot-api-secret-token"
# A message is at most 4096 characters, a callback query carries its message, a reply quotes
# another: a few tens of KiB even with every character escaped. 1 MiB leaves room for Telegram
# growing fields and still bounds what a stranger can make us read.
MAX_UPDATE_BODY = 1024 * 1024


class _TooLarge(Exception):
    pass


async def _body(request: Request) -> bytes:
    """The body, read no further than the limit (the Guard checks Content-Length; chunked
    bodies carry none)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_UPDATE_BODY:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _update(body: bytes, bot: Any) -> dict[str, Any] | None:
    """The payload if it is a Telegram Update the worker can read, else None."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(payload, dict):
        return None
    update_id = payload.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool) or update_id < 0:
        return None
    # Telegram always sends one object beside the id (message, callback_query, …).
    if not any(isinstance(v, dict) for k, v in payload.items() if k != "update_id"):
        return None
    try:
        Update.de_json(payload, bot)  # what the worker will do: refuse now what it could not
    except Exception:
        return None
    return payload


async def receive(request: Request) -> Response:
    hc = hc_of(request)
    expected = hc.config.telegram.secret_token.encode()
    given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
    # An empty secret never opens it (config refuses one in webhook mode; this is the backstop).
    if not expected or not hmac.compare_digest(given, expected):
        return Response("forbidden", status_code=403, media_type="text/plain")
    try:
        payload = _update(await _body(request), hc.application.bot)
    except _TooLarge:
        return Response("request too large", status_code=413, media_type="text/plain")
    if payload is None:
        return Response("not a Telegram update", status_code=400, media_type="text/plain")
    try:
        await hc.intake.store([payload], source="webhook")
    except Exception:
        # Not stored: a non-2xx makes Telegram deliver it again later.
        log.exception("could not store webhook update %s", payload["update_id"])
        return Response("try again", status_code=503, media_type="text/plain")
    hc.intake.wake()
    return Response(status_code=200)


def routes(webhook_url: str) -> list[Route]:
    """The one route, at the path of `[telegram] webhook_url` (POST only: others get 405)."""
    return [Route(webhook_path(webhook_url), receive, methods=["POST"])]
