"""callback_data: compact, at most 64 bytes, and never trusted.

Clients can send any callback_data they like, so a handler must treat the decoded parts as
untrusted input: check each part, then check that the record is the person's own and that the
conversation is still at the step the button belongs to (the nonce).
"""

from __future__ import annotations

from bot.messages import MAX_CALLBACK_BYTES

SEP = ":"


class BadCallback(ValueError):
    """callback_data we did not produce (forged, truncated, from an old version)."""


def encode(*parts: str | int) -> str:
    text = SEP.join(str(p) for p in parts)
    if any(SEP in str(p) for p in parts[1:]) or len(text.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"cannot encode callback parts {parts!r}")
    return text


def decode(data: str | None, prefix: str, arity: int) -> list[str]:
    """The parts after `prefix`, exactly `arity` of them, or BadCallback."""
    if not data or len(data.encode()) > MAX_CALLBACK_BYTES:
        raise BadCallback(data)
    parts = data.split(SEP)
    if parts[0] != prefix or len(parts) != arity + 1:
        raise BadCallback(data)
    return parts[1:]


def decode_int(text: str) -> int:
    if not text.isdigit() or len(text) > 12:
        raise BadCallback(text)
    return int(text)


def decode_id(data: str | None, prefix: str) -> int:
    """The one record id of a `prefix:<id>` button, or BadCallback."""
    (raw,) = decode(data, prefix, 1)
    return decode_int(raw)
