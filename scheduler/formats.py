"""How codes and moments are written: one visit-code format, local time without seconds.

Pure (no I/O): the people-facing date words live in the locale files and are put together by
`bot.render.formats`; this module holds what needs no words — the visit code, the clinic-local
clock, and ISO 8601 for machine exports (local offset, whole seconds, never microseconds).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from scheduler.booking import REQUEST_CODE_LENGTH, format_request_code, parse_request_code


def visit_code(code: str | None) -> str:
    """The one way a visit code is shown: "XWZ-2GH" (stored "XWZ2GH", typed any way)."""
    if not code:
        return ""
    canonical = parse_request_code(code)
    if canonical is None or len(canonical) != REQUEST_CODE_LENGTH:
        return code  # not a request code (an old or foreign value): show it as it is
    return format_request_code(canonical)


def read_visit_code(text: str) -> str | None:
    """The stored form of a code a person typed ("xwz2gh", "XWZ-2GH" → "XWZ2GH"), or None."""
    return parse_request_code(text)


def local(moment: datetime, tz: ZoneInfo) -> datetime:
    """A stored (UTC) moment in the clinic's time, seconds dropped (people never see them)."""
    return moment.astimezone(tz).replace(second=0, microsecond=0)


def clock(value: datetime | time | None, tz: ZoneInfo | None = None) -> str:
    """ "09:30"; a datetime is first turned into clinic time (tz required then)."""
    if value is None:
        return "--:--"
    if isinstance(value, datetime):
        if tz is None:
            raise ValueError("a datetime needs the clinic's time zone")
        value = value.astimezone(tz)
    return f"{value:%H:%M}"


def iso_local(value: Any, tz: ZoneInfo) -> Any:
    """ISO 8601 for machine exports: datetimes in clinic time with offset
    ("2026-12-07T09:30:00+08:00"), whole seconds; dates "2026-12-07"; times "09:30";
    anything else unchanged."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=ZoneInfo("UTC"))
        return aware.astimezone(tz).replace(microsecond=0).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return f"{value:%H:%M}"
    return value


__all__ = ["clock", "iso_local", "local", "read_visit_code", "visit_code"]
