"""Table tests for scheduler.booking: offered days/windows, the confirm-time check, cut-offs, codes.

Dates are in 2026, a year for which the holidays package ships the cuti bersama decree:
Aug 16 is a Sunday, Aug 17 (Mon) Independence Day; Mar 18–24 Nyepi + Idul Fitri with cuti bersama;
Dec 24 (Thu) cuti bersama, Dec 25 (Fri) Christmas, 2027-01-01 (Fri) New Year.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduler.booking import (
    WITA,
    BookingRules,
    TimeWindow,
    check_booking,
    earliest_bookable_day,
    holiday_name,
    horizon,
    is_working_day,
    next_working_day,
    offered_days,
    offered_windows,
)
from tests.core.booking_helpers import FULL, NOW, RULES, W8, W10, W12, d, days, wita

# --- TimeWindow --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("08:00-10:00", W8),
        ("8:00-10:00", W8),
        ("08.00–10.00", W8),
        (" 12:00 - 14:00 ", W12),
        ("07:30-09:45", TimeWindow(time(7, 30), time(9, 45))),
    ],
)
def test_window_parse(text: str, expected: TimeWindow) -> None:
    assert TimeWindow.parse(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "08:00", "08:00-", "24:00-25:00", "08:60-10:00", "10:00-08:00", "10:00-10:00", "a-b"],
)
def test_window_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        TimeWindow.parse(text)


def test_window_label_key_minutes_and_instants() -> None:
    w = TimeWindow(time(7, 30), time(9, 45))
    assert w.label == "07:30–09:45"
    assert w.key == "07:30-09:45"
    assert str(w) == "07:30–09:45"
    assert w.minutes == 135
    assert w.starts_at(d("2026-08-13"), WITA) == datetime(2026, 8, 12, 23, 30, tzinfo=UTC)
    assert w.ends_at(d("2026-08-13"), WITA) == datetime(2026, 8, 13, 1, 45, tzinfo=UTC)
    assert TimeWindow.parse(w.key) == w


def test_window_must_be_naive() -> None:
    with pytest.raises(ValueError):
        TimeWindow(time(8, tzinfo=UTC), time(10))


# --- rules validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"working_weekdays": frozenset({0, 1, 6})},  # Sunday
        {"working_weekdays": frozenset()},
        {"working_weekdays": frozenset({7})},
        {"windows": ()},
        {"windows": (W10, W8)},  # not sorted
        {"windows": (W8, TimeWindow(time(9), time(11)))},  # overlapping
        {"horizon_days": 0},
        {"cancel_cutoff": timedelta(hours=-1)},
        {"window_lead": timedelta(minutes=-1)},
        {"plan_at": time(18, tzinfo=UTC)},
        {"holiday_country": "XX"},
    ],
)
def test_rules_reject_bad_configuration(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        BookingRules(**kwargs)  # type: ignore[arg-type]


def test_rules_window_for() -> None:
    assert RULES.window_for(time(10), time(12)) == W10
    assert RULES.window_for(time(9), time(11)) is None
    assert RULES.window_for(time(12), time(10)) is None  # forged: ends before it starts


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError):
        earliest_bookable_day(RULES, datetime(2026, 8, 12, 10))
    with pytest.raises(ValueError):
        check_booking(RULES, datetime(2026, 8, 12, 10), d("2026-08-13"), W8)


# --- holidays ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "language", "name"),
    [
        ("2026-08-17", "id", "Hari Kemerdekaan Republik Indonesia"),
        ("2026-08-17", "en", "Independence Day"),
        ("2026-12-25", "id", "Hari Raya Natal"),
        ("2026-12-24", "id", "Cuti Bersama Hari Raya Natal"),
        ("2026-03-21", "id", "Hari Raya Idul Fitri"),
        ("2026-03-23", "id", "Cuti Bersama Hari Raya Idul Fitri"),
        ("2027-01-01", "id", "Tahun Baru Masehi"),
        ("2026-08-18", "id", None),
        ("2026-08-16", "id", None),  # an ordinary Sunday is not a holiday
    ],
)
def test_holiday_name(day: str, language: str, name: str | None) -> None:
    assert holiday_name(RULES, d(day), language) == name


def test_cuti_bersama_can_be_left_open_and_holidays_switched_off() -> None:
    no_cuti = BookingRules(cuti_bersama=False)
    assert holiday_name(no_cuti, d("2026-03-23")) is None
    assert holiday_name(no_cuti, d("2026-03-21")) == "Hari Raya Idul Fitri"
    no_holidays = BookingRules(holiday_country=None)
    assert holiday_name(no_holidays, d("2026-08-17")) is None
    assert is_working_day(no_holidays, d("2026-08-17"))


@pytest.mark.parametrize(
    ("day", "working"),
    [
        ("2026-08-15", True),  # Saturday
        ("2026-08-16", False),  # Sunday
        ("2026-08-17", False),  # 17 Agustus
        ("2026-08-18", True),
        ("2026-03-18", False),  # cuti bersama Nyepi
        ("2026-12-24", False),  # cuti bersama Natal
        ("2026-12-26", True),
    ],
)
def test_is_working_day(day: str, working: bool) -> None:
    assert is_working_day(RULES, d(day)) is working


# --- earliest day and horizon ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "earliest"),
    [
        (wita(2026, 8, 12, 0, 0), "2026-08-13"),
        (wita(2026, 8, 12, 17, 59, 59, 999999), "2026-08-13"),
        (wita(2026, 8, 12, 18, 0), "2026-08-14"),  # exactly at plan time: tomorrow is planned
        (wita(2026, 8, 12, 23, 59), "2026-08-14"),
        (wita(2026, 8, 13, 0, 0), "2026-08-14"),
        # Around midnight WITA the UTC date is still the previous day.
        (datetime(2026, 8, 12, 16, 30, tzinfo=UTC), "2026-08-14"),  # 00:30 WITA Aug 13
        (datetime(2026, 8, 12, 9, 59, 59, tzinfo=UTC), "2026-08-13"),  # 17:59:59 WITA
        (datetime(2026, 8, 12, 10, 0, tzinfo=UTC), "2026-08-14"),  # 18:00 WITA
        (datetime(2026, 8, 12, 23, 0, tzinfo=ZoneInfo("Asia/Jakarta")), "2026-08-14"),  # 00:00 WITA
    ],
)
def test_earliest_bookable_day(now: datetime, earliest: str) -> None:
    assert earliest_bookable_day(RULES, now) == d(earliest)


@pytest.mark.parametrize(
    ("rules", "now", "expected"),
    [
        # Skips Sunday 16 and 17 Agustus; counts seven working days.
        (
            RULES,
            wita(2026, 8, 12, 10),
            days("2026-08-13", "2026-08-14", "2026-08-15")
            + days("2026-08-18", "2026-08-19", "2026-08-20", "2026-08-21"),
        ),
        # Nyepi + Idul Fitri + cuti bersama close Mar 18–24; the horizon stretches past them.
        (
            RULES,
            wita(2026, 3, 16, 10),
            days("2026-03-17", "2026-03-25", "2026-03-26", "2026-03-27")
            + days("2026-03-28", "2026-03-30", "2026-03-31"),
        ),
        # Without cuti bersama only the public holidays close.
        (
            BookingRules(cuti_bersama=False),
            wita(2026, 3, 16, 10),
            days("2026-03-17", "2026-03-18", "2026-03-20", "2026-03-23")
            + days("2026-03-24", "2026-03-25", "2026-03-26"),
        ),
        # Christmas and New Year across the year boundary; after plan time Wed 23 is gone.
        (
            RULES,
            wita(2026, 12, 22, 19),
            days("2026-12-26", "2026-12-28", "2026-12-29", "2026-12-30")
            + days("2026-12-31", "2027-01-02", "2027-01-04"),
        ),
        # Mon–Fri clinic with a closure, horizon 3.
        (
            BookingRules(
                working_weekdays=frozenset(range(5)),
                horizon_days=3,
                closures=frozenset({d("2026-08-14")}),
            ),
            wita(2026, 8, 12, 10),
            days("2026-08-13", "2026-08-18", "2026-08-19"),
        ),
    ],
)
def test_horizon(rules: BookingRules, now: datetime, expected: list[date]) -> None:
    assert horizon(rules, now) == expected


# --- offered days ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("remaining", "needed", "expected"),
    [
        (FULL, 30, horizon(RULES, NOW)),
        ({}, 30, []),  # no capacity known → nothing promised
        (
            {**FULL, d("2026-08-13"): 29},
            30,
            [x for x in horizon(RULES, NOW) if x != d("2026-08-13")],
        ),
        ({**FULL, d("2026-08-13"): 30}, 30, horizon(RULES, NOW)),  # exactly enough
        ({d("2026-08-15"): 45, d("2026-08-18"): 44}, 45, days("2026-08-15")),
        # Capacity on days outside the horizon (Sunday, holiday, beyond) is ignored.
        ({d("2026-08-16"): 999, d("2026-08-17"): 999, d("2026-08-22"): 999}, 10, []),
        (FULL, 0, horizon(RULES, NOW)),
    ],
)
def test_offered_days_capacity(
    remaining: dict[date, int], needed: int, expected: list[date]
) -> None:
    assert offered_days(RULES, NOW, remaining, needed) == expected


def test_offered_days_leave_out_a_day_whose_windows_all_start_too_soon() -> None:
    # Only an 08–10 window and a 16 h lead: at 17:00 Wed, Thu 08:00 is 15 h away.
    rules = BookingRules(windows=(W8,), window_lead=timedelta(hours=16))
    now = wita(2026, 8, 12, 17)
    remaining = dict.fromkeys(horizon(rules, now), 100)
    assert offered_days(rules, now, remaining, 30)[0] == d("2026-08-14")
    # With a later window too, Thursday stays.
    rules2 = BookingRules(windows=(W8, W10), window_lead=timedelta(hours=16))
    assert offered_days(rules2, now, remaining, 30)[0] == d("2026-08-13")


def test_offered_days_rejects_negative_need() -> None:
    with pytest.raises(ValueError):
        offered_days(RULES, NOW, FULL, -1)


# --- offered windows ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rules", "day", "now", "remaining", "expected"),
    [
        (RULES, "2026-08-13", NOW, None, [W8, W10, W12]),
        (RULES, "2026-08-13", NOW, {W8: 0, W10: 2, W12: 1}, [W10, W12]),
        (RULES, "2026-08-13", NOW, {W12: 1}, [W12]),  # missing windows count as full
        (RULES, "2026-08-16", NOW, None, []),  # Sunday
        (RULES, "2026-08-17", NOW, None, []),  # 17 Agustus
        (RULES, "2026-08-12", NOW, None, []),  # today
        (RULES, "2026-08-22", NOW, None, []),  # beyond the horizon
        # Lead 21 h at 12:00 Wed: Thu 08:00 is 20 h away, 10:00 is 22 h away.
        (
            BookingRules(window_lead=timedelta(hours=21)),
            "2026-08-13",
            wita(2026, 8, 12, 12),
            None,
            [W10, W12],
        ),
        # Lead exactly met at the instant: 12 h before 08:00 Thu is 20:00 Wed, but that is after
        # plan time, so Thursday is closed anyway; use a late plan time to isolate the lead.
        (
            BookingRules(plan_at=time(23, 0), window_lead=timedelta(hours=12)),
            "2026-08-13",
            wita(2026, 8, 12, 20),
            None,
            [W8, W10, W12],
        ),
        (
            BookingRules(plan_at=time(23, 0), window_lead=timedelta(hours=12)),
            "2026-08-13",
            wita(2026, 8, 12, 20, 0, 0, 1),
            None,
            [W10, W12],
        ),
    ],
)
def test_offered_windows(
    rules: BookingRules,
    day: str,
    now: datetime,
    remaining: dict[TimeWindow, int] | None,
    expected: list[TimeWindow],
) -> None:
    assert offered_windows(rules, d(day), now, remaining) == expected


def test_offered_windows_needed_amount() -> None:
    assert offered_windows(RULES, d("2026-08-13"), NOW, {W8: 30, W10: 29, W12: 45}, 30) == [W8, W12]


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        ("2027-04-12", "2027-04-13"),  # Monday → Tuesday
        ("2027-04-17", "2027-04-19"),  # Saturday → Monday (no home visits on Sunday)
        ("2026-12-24", "2026-12-26"),  # Christmas Day Friday is a holiday → Saturday
        ("2027-12-23", "2027-12-27"),  # Thursday; cuti bersama Friday, Christmas Saturday, Sunday
        ("2026-08-16", "2026-08-18"),  # Sunday, then Independence Day Monday → Tuesday
    ],
)
def test_next_working_day(after: str, expected: str) -> None:
    assert next_working_day(RULES, d(after)) == d(expected)
