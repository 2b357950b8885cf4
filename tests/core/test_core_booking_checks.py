"""Table tests for scheduler.booking: the confirm-time check, cancel cut-offs, capacity and
request codes.

Dates are in 2026, a year for which the holidays package ships the cuti bersama decree:
Aug 16 is a Sunday, Aug 17 (Mon) Independence Day; Mar 18–24 Nyepi + Idul Fitri with cuti bersama;
Dec 24 (Thu) cuti bersama, Dec 25 (Fri) Christmas, 2027-01-01 (Fri) New Year.
"""

import random
from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.booking import (
    ACCEPTED,
    CROCKFORD_ALPHABET,
    BookingDecision,
    BookingRefusal,
    BookingRules,
    NurseShift,
    TimeWindow,
    can_cancel,
    cancel_deadline,
    check_booking,
    day_capacity_minutes,
    format_request_code,
    horizon,
    new_request_code,
    offered_days,
    offered_windows,
    parse_request_code,
    remaining_minutes,
    visit_capacity_minutes,
)
from tests.core.booking_helpers import NOW, RULES, W8, W10, W12, d, wita

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
