"""Windows, rules, clocks and date shorthands shared by the scheduler.booking table tests."""

from datetime import date, datetime, time

from scheduler.booking import (
    WITA,
    BookingRules,
    TimeWindow,
    horizon,
)

W8 = TimeWindow(time(8), time(10))
W10 = TimeWindow(time(10), time(12))
W12 = TimeWindow(time(12), time(14))
RULES = BookingRules()


def wita(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, us: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, us, tzinfo=WITA)


def d(text: str) -> date:
    return date.fromisoformat(text)


def days(*texts: str) -> list[date]:
    return [d(t) for t in texts]


NOW = wita(2026, 8, 12, 10)  # Wednesday morning
FULL = dict.fromkeys(horizon(RULES, NOW), 300)
