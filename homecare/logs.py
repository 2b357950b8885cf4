"""Logging set-up. The bot token must never reach a log line.

httpx logs every request URL at INFO, and Telegram's URLs contain the token (`/bot<token>/method`),
so httpx/httpcore are held at WARNING; and every line, tracebacks included, goes through a
formatter that blanks the configured token and anything shaped like a token.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable

_TOKEN_SHAPE = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")
REDACTED = "<token>"


class RedactingFormatter(logging.Formatter):
    def __init__(self, fmt: str, secrets: Iterable[str] = ()) -> None:
        super().__init__(fmt)
        self.secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.secrets)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return _TOKEN_SHAPE.sub(REDACTED, text)


def setup_logging(level: str = "INFO", secrets: Iterable[str] = (), stream: object = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets)
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Request URLs contain the token; these libraries log them at INFO/DEBUG.
    for noisy in ("httpx", "httpcore", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # APScheduler logs every "Added job"/"Running job" at INFO; our own jobs log what matters.
    quiet = logging.DEBUG if root.level <= logging.DEBUG else max(logging.WARNING, root.level)
    logging.getLogger("apscheduler").setLevel(quiet)
