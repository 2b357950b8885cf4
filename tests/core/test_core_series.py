"""Table tests for scheduler.series: occurrence days of a series and of a follow-up.

2026 calendar used: Dec 24 (Thu) cuti bersama, Dec 25 (Fri) Christmas, Dec 27 (Sun),
2027-01-01 (Fri) New Year, Aug 16 (Sun), Aug 17 (Mon) Independence Day.
"""

from __future__ import annotations

from datetime import date

import pytest

from scheduler.booking import BookingRules
from scheduler.series import (
    EveryNDays,
    Weekly,
    follow_up_day,
    next_working_day,
    occurrences,
    parse_rule,
)
from tests.core.booking_helpers import RULES, d


def _days(rule: EveryNDays | Weekly, start: str, rules: BookingRules = RULES) -> list[tuple]:
    return [(o.day.isoformat(), o.moved) for o in occurrences(rules, rule, d(start))]


@pytest.mark.parametrize(
    ("rule", "start", "expected"),
    [
        # plain weekdays: nothing moves
        (
            EveryNDays(2, 3),
            "2026-12-01",
            [("2026-12-01", False), ("2026-12-03", False), ("2026-12-05", False)],
        ),
        # every 3 days from Mon Dec 21: Dec 24 cuti bersama → Sat 26; Dec 27 Sun → Mon 28;
        # Dec 30 stays (nominal dates never drift after a move)
        (
            EveryNDays(3, 4),
            "2026-12-21",
            [
                ("2026-12-21", False),
                ("2026-12-26", True),
                ("2026-12-28", True),
                ("2026-12-30", False),
            ],
        ),
        # daily across Christmas: the moved ones queue up on the next free working days
        (
            EveryNDays(1, 3),
            "2026-12-23",
            [("2026-12-23", False), ("2026-12-26", True), ("2026-12-28", True)],
        ),
        # Sunday Aug 16 → Mon 17 is Independence Day → Tue 18
        (EveryNDays(7, 2), "2026-08-09", [("2026-08-10", True), ("2026-08-18", True)]),
        # weekly Mon+Fri until Jan 4: Fri Dec 25 → Sat 26, Fri Jan 1 → Sat 2
        (
            Weekly(frozenset({0, 4}), d("2027-01-04")),
            "2026-12-21",
            [
                ("2026-12-21", False),
                ("2026-12-26", True),
                ("2026-12-28", False),
                ("2027-01-02", True),
                ("2027-01-04", False),
            ],
        ),
        # until is inclusive; a start after until gives nothing
        (
            Weekly(frozenset({2}), d("2026-12-09")),
            "2026-12-01",
            [("2026-12-02", False), ("2026-12-09", False)],
        ),
        (Weekly(frozenset({2}), d("2026-12-01")), "2026-12-02", []),
    ],
)
def test_occurrences(rule: EveryNDays | Weekly, start: str, expected: list[tuple]) -> None:
    assert _days(rule, start) == expected


def test_clinic_closure_moves_like_a_holiday() -> None:
    rules = BookingRules(closures=frozenset({d("2026-12-02")}))
    assert _days(EveryNDays(1, 2), "2026-12-01", rules) == [
        ("2026-12-01", False),
        ("2026-12-03", True),
    ]


def test_nominal_date_is_kept() -> None:
    occ = occurrences(RULES, EveryNDays(3, 2), d("2026-12-21"))[1]
    assert (occ.index, occ.nominal, occ.day, occ.moved) == (
        1,
        d("2026-12-24"),
        d("2026-12-26"),
        True,
    )


@pytest.mark.parametrize(
    ("done", "days", "day", "moved"),
    [
        ("2026-12-01", 3, "2026-12-04", False),
        ("2026-12-03", 3, "2026-12-07", True),  # Sun Dec 6 → Mon
        ("2026-12-18", 7, "2026-12-26", True),  # Fri Dec 25 → Sat
        ("2026-12-10", 14, "2026-12-26", True),  # Dec 24 → 26
        ("2026-08-03", 14, "2026-08-18", True),  # Mon Aug 17 holiday
    ],
)
def test_follow_up_day(done: str, days: int, day: str, moved: bool) -> None:
    occ = follow_up_day(RULES, d(done), days)
    assert (occ.day, occ.moved) == (d(day), moved)


def test_next_working_day_skips_taken() -> None:
    taken = frozenset({d("2026-12-01"), d("2026-12-02")})
    assert next_working_day(RULES, d("2026-12-01"), taken) == d("2026-12-03")
    assert next_working_day(RULES, d("2026-12-06")) == d("2026-12-07")


@pytest.mark.parametrize(
    "rule",
    [
        EveryNDays(3, 5),
        Weekly(frozenset({0, 3}), date(2027, 1, 31)),
        Weekly(frozenset({5}), date(2027, 2, 1)),
    ],
)
def test_rule_key_round_trips(rule: EveryNDays | Weekly) -> None:
    assert parse_rule(rule.key) == rule


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "every:0x3",
        "every:3x0",
        "every:3x99",
        "weekly::2027-01-01",
        "weekly:7:2027-01-01",
        "weekly:1:2027-13-01",
        "monthly:1",
    ],
)
def test_bad_rules_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_rule(bad)


def test_too_long_weekly_series_is_refused() -> None:
    with pytest.raises(ValueError):
        occurrences(RULES, Weekly(frozenset(range(6)), date(2027, 12, 31)), date(2026, 12, 1))


@pytest.mark.parametrize("days", [0, -1, 91])
def test_follow_up_bounds(days: int) -> None:
    with pytest.raises(ValueError):
        follow_up_day(RULES, date(2026, 12, 1), days)
