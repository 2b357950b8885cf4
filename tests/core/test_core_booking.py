"""Table tests for scheduler.booking: offered days/windows, the confirm-time check, cut-offs, codes.

Dates are in 2026, a year for which the holidays package ships the cuti bersama decree:
Aug 16 is a Sunday, Aug 17 (Mon) Independence Day; Mar 18–24 Nyepi + Idul Fitri with cuti bersama;
Dec 24 (Thu) cuti bersama, Dec 25 (Fri) Christmas, 2027-01-01 (Fri) New Year.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.booking import (
    ACCEPTED,
    CROCKFORD_ALPHABET,
    WITA,
    BookingDecision,
    BookingRefusal,
    BookingRules,
    NurseShift,
    TimeWindow,
    can_cancel,
    cancel_deadline,
    check_booking,
    day_capacity_minutes,
    earliest_bookable_day,
    format_request_code,
    holiday_name,
    horizon,
    is_working_day,
    new_request_code,
    offered_days,
    offered_windows,
    parse_request_code,
    remaining_minutes,
    visit_capacity_minutes,
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

NOW = wita(2026, 8, 12, 10)  # Wednesday morning
FULL = dict.fromkeys(horizon(RULES, NOW), 300)


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


# --- check_booking -----------------------------------------------------------------------------

R = BookingRefusal


@pytest.mark.parametrize(
    ("rules", "now", "day", "window", "capacity", "expected"),
    [
        (RULES, NOW, "2026-08-13", W8, {}, ACCEPTED),
        (RULES, NOW, "2026-08-21", W12, {}, ACCEPTED),  # last day, last window
        (
            RULES,
            NOW,
            "2026-08-13",
            TimeWindow(time(9), time(11)),
            {},
            BookingDecision(R.UNKNOWN_WINDOW),
        ),
        (RULES, NOW, "2026-08-11", W12, {}, BookingDecision(R.PAST)),  # yesterday
        (RULES, NOW, "2026-08-12", W8, {}, BookingDecision(R.PAST)),  # window today has begun
        (RULES, wita(2026, 8, 12, 8), "2026-08-12", W8, {}, BookingDecision(R.PAST)),  # at start
        (RULES, NOW, "2026-08-12", W12, {}, BookingDecision(R.TOO_LATE)),  # today, not begun
        (RULES, NOW, "2026-08-16", W8, {}, BookingDecision(R.SUNDAY)),
        (
            RULES,
            NOW,
            "2026-08-17",
            W8,
            {},
            BookingDecision(R.HOLIDAY, "Hari Kemerdekaan Republik Indonesia"),
        ),
        (
            RULES,
            wita(2026, 12, 21, 9),
            "2026-12-25",
            W10,
            {},
            BookingDecision(R.HOLIDAY, "Hari Raya Natal"),
        ),
        (
            RULES,
            wita(2026, 3, 16, 9),
            "2026-03-21",
            W10,
            {},
            BookingDecision(R.HOLIDAY, "Hari Raya Idul Fitri"),
        ),
        (
            RULES,
            wita(2026, 3, 16, 9),
            "2026-03-23",
            W10,
            {},
            BookingDecision(R.HOLIDAY, "Cuti Bersama Hari Raya Idul Fitri"),
        ),
        (BookingRules(cuti_bersama=False), wita(2026, 3, 16, 9), "2026-03-23", W10, {}, ACCEPTED),
        (
            BookingRules(closures=frozenset({d("2026-08-14")})),
            NOW,
            "2026-08-14",
            W8,
            {},
            BookingDecision(R.CLOSED),
        ),
        (
            BookingRules(working_weekdays=frozenset(range(5))),
            NOW,
            "2026-08-15",
            W8,
            {},
            BookingDecision(R.CLOSED),
        ),
        # Tomorrow closes at plan time, to the instant.
        (RULES, wita(2026, 8, 12, 17, 59, 59), "2026-08-13", W8, {}, ACCEPTED),
        (RULES, wita(2026, 8, 12, 18), "2026-08-13", W12, {}, BookingDecision(R.TOO_LATE)),
        (RULES, wita(2026, 8, 12, 18), "2026-08-14", W8, {}, ACCEPTED),
        # Window lead on an otherwise open day.
        (
            BookingRules(window_lead=timedelta(hours=21)),
            wita(2026, 8, 12, 12),
            "2026-08-13",
            W8,
            {},
            BookingDecision(R.TOO_LATE),
        ),
        (RULES, NOW, "2026-08-22", W8, {}, BookingDecision(R.BEYOND_HORIZON)),
        (RULES, NOW, "2027-08-23", W8, {}, BookingDecision(R.BEYOND_HORIZON)),
        # Capacity: day minutes, then the per-window limit.
        (
            RULES,
            NOW,
            "2026-08-13",
            W8,
            {"remaining_day_minutes": 29, "needed_minutes": 30},
            BookingDecision(R.NO_CAPACITY),
        ),
        (
            RULES,
            NOW,
            "2026-08-13",
            W8,
            {"remaining_day_minutes": 30, "needed_minutes": 30},
            ACCEPTED,
        ),
        (
            RULES,
            NOW,
            "2026-08-13",
            W8,
            {"remaining_day_minutes": 300, "needed_minutes": 30, "remaining_in_window": 0},
            BookingDecision(R.NO_CAPACITY),
        ),
        (RULES, NOW, "2026-08-13", W8, {"remaining_in_window": 1}, ACCEPTED),
        # A past Sunday is refused as past, not as Sunday.
        (RULES, NOW, "2026-08-09", W8, {}, BookingDecision(R.PAST)),
        # Holiday beyond the horizon: the holiday is the more useful answer.
        (
            RULES,
            NOW,
            "2026-12-25",
            W8,
            {},
            BookingDecision(R.HOLIDAY, "Hari Raya Natal"),
        ),
    ],
)
def test_check_booking(
    rules: BookingRules,
    now: datetime,
    day: str,
    window: TimeWindow,
    capacity: dict[str, int],
    expected: BookingDecision,
) -> None:
    decision = check_booking(rules, now, d(day), window, **capacity)
    assert decision == expected
    assert decision.ok is (expected.reason is None)


def test_every_offered_slot_passes_the_confirm_check() -> None:
    """offered_days/offered_windows and check_booking must agree, whatever the hour."""
    for hour in range(24):
        now = wita(2026, 8, 12, hour, 30)
        remaining = dict.fromkeys(horizon(RULES, now), 120)
        for day in offered_days(RULES, now, remaining, 30):
            for window in offered_windows(RULES, day, now):
                decision = check_booking(
                    RULES, now, day, window, remaining_day_minutes=120, needed_minutes=30
                )
                assert decision.ok, (now, day, window, decision)


def test_refusal_locale_keys() -> None:
    assert R.NO_CAPACITY.locale_key == "booking.refused.no_capacity"
    assert {r.value for r in R} == {
        "unknown_window",
        "past",
        "sunday",
        "holiday",
        "closed",
        "too_late",
        "beyond_horizon",
        "no_capacity",
    }


# --- cancel cut-off ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cutoff", "now", "window", "allowed"),
    [
        # Thu 08:00 WITA window, 12 h cut-off → deadline Wed 20:00 WITA = Wed 12:00 UTC.
        (timedelta(hours=12), datetime(2026, 8, 12, 11, 59, 59, 999999, tzinfo=UTC), W8, True),
        (timedelta(hours=12), datetime(2026, 8, 12, 12, 0, tzinfo=UTC), W8, False),
        (timedelta(hours=12), wita(2026, 8, 12, 20), W8, False),
        (timedelta(hours=12), wita(2026, 8, 12, 19, 59), W8, True),
        (timedelta(hours=12), wita(2026, 8, 12, 21), W12, True),  # 12:00 window: until 00:00
        (timedelta(hours=12), wita(2026, 8, 13, 0, 0), W12, False),
        (timedelta(0), wita(2026, 8, 13, 7, 59), W8, True),
        (timedelta(0), wita(2026, 8, 13, 8, 0), W8, False),
        (timedelta(hours=2), wita(2026, 8, 14, 9), W8, False),  # after the visit day
    ],
)
def test_can_cancel(cutoff: timedelta, now: datetime, window: TimeWindow, allowed: bool) -> None:
    rules = BookingRules(cancel_cutoff=cutoff)
    assert can_cancel(rules, now, d("2026-08-13"), window) is allowed


def test_cancel_deadline_is_utc() -> None:
    deadline = cancel_deadline(RULES, d("2026-08-13"), W8)
    assert deadline == datetime(2026, 8, 12, 12, 0, tzinfo=UTC)
    assert deadline.utcoffset() == timedelta(0)


# --- capacity ----------------------------------------------------------------------------------


def shift(nurse: int, start: int, end: int, brk: int = 0) -> NurseShift:
    return NurseShift(nurse, time(start), time(end), brk)


@pytest.mark.parametrize(
    ("shifts", "kwargs", "expected"),
    [
        ([], {}, 0),
        ([shift(1, 8, 14)], {}, 270),  # 360 × 0.75
        ([shift(1, 8, 14)], {"travel_share": 0.0}, 360),
        ([shift(1, 8, 14, 30)], {}, 247),  # 330 × 0.75 = 247.5, rounded down
        ([shift(1, 8, 14), shift(2, 8, 14)], {}, 540),
        ([shift(1, 8, 14), shift(2, 8, 14)], {"on_leave": {2}}, 270),
        ([shift(1, 8, 14), shift(2, 8, 14)], {"on_leave": {1, 2}}, 0),
        ([shift(1, 8, 14), shift(2, 8, 12)], {"nurse_caps": {1: 200}}, 200 + 180),
        ([shift(1, 8, 10), shift(1, 12, 14)], {"nurse_caps": {1: 200}}, 180),  # split shift
        ([shift(1, 8, 14), shift(2, 8, 14)], {"clinic_cap": 400}, 400),
        ([shift(1, 8, 14)], {"travel_share": 0.5, "nurse_caps": {9: 1}}, 180),
    ],
)
def test_day_capacity_minutes(
    shifts: list[NurseShift], kwargs: dict[str, object], expected: int
) -> None:
    assert day_capacity_minutes(shifts, **kwargs) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("share", [-0.1, 1.0, 1.5])
def test_day_capacity_rejects_bad_travel_share(share: float) -> None:
    with pytest.raises(ValueError):
        day_capacity_minutes([shift(1, 8, 14)], travel_share=share)


@pytest.mark.parametrize(("start", "end", "brk"), [(10, 8, 0), (8, 8, 0), (8, 9, 60), (8, 9, -1)])
def test_nurse_shift_rejects_bad_times(start: int, end: int, brk: int) -> None:
    with pytest.raises(ValueError):
        shift(1, start, end, brk)


@pytest.mark.parametrize(
    ("service", "overhead", "expected"), [(30, 0, 30), (45, 10, 55), (1, 0, 1)]
)
def test_visit_capacity_minutes(service: int, overhead: int, expected: int) -> None:
    assert visit_capacity_minutes(service, overhead) == expected


@pytest.mark.parametrize(("service", "overhead"), [(0, 0), (-5, 0), (30, -1)])
def test_visit_capacity_minutes_rejects(service: int, overhead: int) -> None:
    with pytest.raises(ValueError):
        visit_capacity_minutes(service, overhead)


@pytest.mark.parametrize(
    ("capacity", "booked", "expected"), [(270, [], 270), (270, [45, 30], 195), (60, [45, 30], 0)]
)
def test_remaining_minutes(capacity: int, booked: list[int], expected: int) -> None:
    assert remaining_minutes(capacity, booked) == expected


# --- request codes -----------------------------------------------------------------------------


def test_new_request_code_shape_and_spread() -> None:
    rng = random.Random(20260812)
    codes = [new_request_code(rng) for _ in range(2000)]
    assert all(len(c) == 6 and set(c) <= set(CROCKFORD_ALPHABET) for c in codes)
    assert not set("ILOU") & set("".join(codes))
    assert len(set(codes)) == len(codes)  # 2000 draws from 2^30 codes: a clash means a bug
    assert len(set("".join(codes))) == 32  # every symbol is used


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("7F3Q9A", "7F3Q9A"),
        ("7f3q9a", "7F3Q9A"),
        ("7F3-Q9A", "7F3Q9A"),
        (" 7f3 q9a ", "7F3Q9A"),
        ("OIL000", "011000"),  # look-alikes read as digits
        ("7F3Q9", None),
        ("7F3Q9AB", None),
        ("7F3QUA", None),  # U is not a Crockford symbol
        ("7F3Q9!", None),
        ("", None),
    ],
)
def test_parse_request_code(text: str, code: str | None) -> None:
    assert parse_request_code(text) == code


@settings(deadline=None)  # no timing assertions on a busy 2-core machine
@given(st.integers(min_value=0, max_value=2**32))
def test_request_code_round_trips_through_reading_aloud(seed: int) -> None:
    code = new_request_code(random.Random(seed))
    assert parse_request_code(code) == code
    assert parse_request_code(format_request_code(code)) == code
    assert parse_request_code(format_request_code(code).lower()) == code
