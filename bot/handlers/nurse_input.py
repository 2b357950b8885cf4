"""What a nurse types, read: the "Selesai" note with its vitals, and the dates of /cuti and
/rencana. Pure functions; the handlers in bot/handlers/nurse.py turn a refusal into a reply."""

from __future__ import annotations

import re
from datetime import date

from scheduler.vitals import LABELS

_VITALS_START = re.compile(
    r"(?:ttv|tanda[\s-]*vital|vital\s*signs?|vitals|"
    + "|".join(re.escape(label) for label in sorted(LABELS, key=len, reverse=True))
    + r")(?![a-z])",
    re.IGNORECASE,
)
_DAY_RE = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})(?:[/.\-](\d{2}|\d{4}))?$")


def split_note(text: str) -> tuple[str, str]:
    """(note, vitals line): the first line is the note, the rest the vitals — unless the
    message starts with a vitals label, then it is all vitals."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return "", ""
    if _VITALS_START.match(lines[0]):
        return "", ", ".join(lines)
    return lines[0], ", ".join(lines[1:])


def parse_day(text: str, today: date) -> date | None:
    """ "15/12", "15-12-2026", "15.12.26" (day first) or "2026-12-15"; the next such day."""
    text = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
        m = _DAY_RE.fullmatch(text)
        if m is None:
            return None
        d, mo = int(m.group(1)), int(m.group(2))
        if m.group(3):
            year = int(m.group(3))
            return date(year + 2000 if year < 100 else year, mo, d)
        day = date(today.year, mo, d)
        return day if day >= today else date(today.year + 1, mo, d)
    except ValueError:
        return None


_LEAVE_FILLERS = ("-", "s/d", "sd", "sampai", "to", "until")


def leave_span(args: list[str], today: date) -> tuple[date, date] | str:
    """ "15/12" or "15/12 - 19/12" (the filler words go): (first, last), or the text to quote
    back as a bad date."""
    words = [a for a in args if a.lower() not in _LEAVE_FILLERS]
    days = [parse_day(w, today) for w in words[:2]]
    bad = next((w for w, d in zip(words, days, strict=False) if d is None), None)
    if bad is not None or len(words) > 2:
        return bad if bad is not None else " ".join(words)
    first, last = days[0], days[-1]
    assert first is not None and last is not None
    return first, last
