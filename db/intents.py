"""Message intents: what to tell whom, as a template key and plain JSON parameters.

A service records an intent in the outbox (`db.services.outbox.tell`); the relay renders it at
send time, in the recipient's language of that moment, with the template of the same key in
`bot/templates/`. Parameters are JSON values; dates and times travel as tagged ISO strings so a
template gets back the `date`/`time`/`datetime` the service passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any

from homecare.errors import HomecareError

_TAGS = {"@date": date.fromisoformat, "@time": time.fromisoformat, "@dt": datetime.fromisoformat}


class IntentError(HomecareError, ValueError):
    """A parameter that is not a plain JSON value (or a date/time)."""


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):  # before date: a datetime is a date
        return {"@dt": value.isoformat()}
    if isinstance(value, date):
        return {"@date": value.isoformat()}
    if isinstance(value, time):
        return {"@time": value.isoformat()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    if isinstance(value, Mapping):
        if any(not isinstance(k, str) for k in value):
            raise IntentError(f"intent parameter keys must be text: {list(value)!r}")
        return {k: _encode(v) for k, v in value.items()}
    raise IntentError(f"intent parameter of type {type(value).__name__} is not a plain value")


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if len(value) == 1:
            ((key, raw),) = value.items()
            if key in _TAGS and isinstance(raw, str):
                return _TAGS[key](raw)
        return {k: _decode(v) for k, v in value.items()}
    return value


def encode_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters as stored in `outbox.params`; raises IntentError for anything not plain."""
    encoded = _encode(dict(params))
    assert isinstance(encoded, dict)
    return encoded


def decode_params(stored: Mapping[str, Any] | None) -> dict[str, Any]:
    """The parameters a template receives (lists stay lists: templates ask for tuples)."""
    decoded = _decode(dict(stored or {}))
    assert isinstance(decoded, dict)
    return decoded
