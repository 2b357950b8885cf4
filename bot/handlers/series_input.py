"""Reading the head's /seri rule (pure): "3 5" = every 3 days × 5; "sen,kam 31-01-2027" =
weekly on those weekdays until that date. Weekday names in Indonesian or English."""

from __future__ import annotations

from datetime import date

from bot.handlers.nurse_input import parse_day
from scheduler.series import EveryNDays, SeriesRule, Weekly

WEEKDAYS = {
    **{name: i for i, name in enumerate(("sen", "sel", "rab", "kam", "jum", "sab"))},
    **{name: i for i, name in enumerate(("mon", "tue", "wed", "thu", "fri", "sat"))},
}


def parse_rule_args(args: list[str], today: date) -> SeriesRule | None:
    """The rule, or None when the words are not one (a bad number, a Sunday, a past end)."""
    if len(args) != 2:
        return None
    first, second = args
    try:
        if first.isdigit() and second.isdigit():
            return EveryNDays(int(first), int(second))
        days = frozenset(WEEKDAYS[w[:3].lower()] for w in first.split(",") if w)
        until = parse_day(second, today)
        if not days or until is None or until <= today:
            return None
        return Weekly(days, until)
    except (KeyError, ValueError):
        return None
