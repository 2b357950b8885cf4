"""Recurring visits and follow-ups: which days a series of visits falls on (pure).

Two rules a clinic head can choose:

* ``EveryNDays(interval, count)`` — the first visit on `start`, then every `interval` days,
  `count` visits in all ("every 3 days × 5").
* ``Weekly(weekdays, until)`` — every chosen weekday (0 = Monday … 5 = Saturday) from `start`
  through `until` inclusive.

Nominal dates come from the rule alone, so one closed day never shifts the rest of the series.
A nominal date on a closed day (Sunday, public holiday, cuti bersama, clinic closure: the same
`is_working_day` the booking rules use) moves to the next working day, and the occurrence says
so (`moved`), because the family must be told. Two occurrences never share a day: if a moved
one lands on a day the series already has, it moves on to the next free working day.

A follow-up is a one-visit series: `follow_up_day(rules, done_on, days)`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from scheduler.booking import BookingRules, is_working_day

# A series longer than this is a typing slip, not a care plan (and would flood the planner).
MAX_OCCURRENCES = 52
MAX_INTERVAL_DAYS = 90
# How far a closed day may push an occurrence (Idul Fitri + cuti bersama is about a week).
_MAX_SHIFT_DAYS = 31


@dataclass(frozen=True)
class EveryNDays:
    interval: int
    count: int

    def __post_init__(self) -> None:
        if not 1 <= self.interval <= MAX_INTERVAL_DAYS:
            raise ValueError(f"interval must be 1..{MAX_INTERVAL_DAYS} days")
        if not 1 <= self.count <= MAX_OCCURRENCES:
            raise ValueError(f"count must be 1..{MAX_OCCURRENCES}")

    @property
    def key(self) -> str:
        """Stored form: "every:3x5"."""
        return f"every:{self.interval}x{self.count}"

    def nominal(self, start: date) -> list[date]:
        return [start + timedelta(days=self.interval * i) for i in range(self.count)]


@dataclass(frozen=True)
class Weekly:
    weekdays: frozenset[int]
    until: date

    def __post_init__(self) -> None:
        if not self.weekdays or not all(0 <= d <= 6 for d in self.weekdays):
            raise ValueError("weekdays must be a non-empty set of 0 (Mon) .. 6 (Sun)")

    @property
    def key(self) -> str:
        """Stored form: "weekly:0,3:2027-01-31"."""
        days = ",".join(str(d) for d in sorted(self.weekdays))
        return f"weekly:{days}:{self.until.isoformat()}"

    def nominal(self, start: date) -> list[date]:
        out: list[date] = []
        day = start
        while day <= self.until:
            if day.weekday() in self.weekdays:
                out.append(day)
                if len(out) > MAX_OCCURRENCES:
                    raise ValueError(f"a weekly series has at most {MAX_OCCURRENCES} visits")
            day += timedelta(days=1)
        return out


SeriesRule = EveryNDays | Weekly

_EVERY_RE = re.compile(r"every:(\d{1,3})x(\d{1,3})")
_WEEKLY_RE = re.compile(r"weekly:([0-6](?:,[0-6])*):(\d{4}-\d{2}-\d{2})")


def parse_rule(key: str) -> SeriesRule:
    """The rule from its stored `key`; ValueError for anything else."""
    if m := _EVERY_RE.fullmatch(key):
        return EveryNDays(int(m.group(1)), int(m.group(2)))
    if m := _WEEKLY_RE.fullmatch(key):
        days = frozenset(int(d) for d in m.group(1).split(","))
        return Weekly(days, date.fromisoformat(m.group(2)))
    raise ValueError(f"not a series rule: {key!r}")


@dataclass(frozen=True)
class Occurrence:
    """One visit of a series: the day the rule gave (`nominal`) and the day it is booked on."""

    index: int
    nominal: date
    day: date

    @property
    def moved(self) -> bool:
        return self.day != self.nominal


def next_working_day(rules: BookingRules, day: date, taken: frozenset[date] = frozenset()) -> date:
    """`day` itself if the clinic works then (and it is not `taken`), else the next such day."""
    for offset in range(_MAX_SHIFT_DAYS + 1):
        candidate = day + timedelta(days=offset)
        if candidate not in taken and is_working_day(rules, candidate):
            return candidate
    raise ValueError(f"no working day within {_MAX_SHIFT_DAYS} days of {day.isoformat()}")


def occurrences(rules: BookingRules, rule: SeriesRule, start: date) -> list[Occurrence]:
    """Every visit of the series, each on a working day, in order, no two on the same day."""
    out: list[Occurrence] = []
    taken: set[date] = set()
    for index, nominal in enumerate(rule.nominal(start)):
        day = next_working_day(rules, nominal, frozenset(taken))
        taken.add(day)
        out.append(Occurrence(index, nominal, day))
    return out


def follow_up_day(rules: BookingRules, done_on: date, days: int) -> Occurrence:
    """The follow-up `days` after the visit done on `done_on`, moved off a closed day."""
    if not 1 <= days <= MAX_INTERVAL_DAYS:
        raise ValueError(f"a follow-up is 1..{MAX_INTERVAL_DAYS} days later")
    nominal = done_on + timedelta(days=days)
    return Occurrence(0, nominal, next_working_day(rules, nominal))


__all__ = [
    "MAX_INTERVAL_DAYS",
    "MAX_OCCURRENCES",
    "EveryNDays",
    "Occurrence",
    "SeriesRule",
    "Weekly",
    "follow_up_day",
    "next_working_day",
    "occurrences",
    "parse_rule",
]
