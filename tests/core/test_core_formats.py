"""Table tests of the one visit-code format, the clinic-local clock and the date words."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import Translator
from bot.render.formats import date_plain, day_long, day_short, moment_long, moment_short
from scheduler.formats import clock, iso_local, local, read_visit_code, visit_code

WITA = ZoneInfo("Asia/Makassar")


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("XWZ2GH", "XWZ-2GH"),
        ("XWZ-2GH", "XWZ-2GH"),
        ("xwz2gh", "XWZ-2GH"),
        ("7F3Q9A", "7F3-Q9A"),
        ("", ""),
        (None, ""),
        ("ABC", "ABC"),  # not a request code: shown as it is, never mangled
        ("REF-12345", "REF-12345"),
    ],
)
def test_visit_code_is_shown_one_way(stored: str | None, shown: str) -> None:
    assert visit_code(stored) == shown


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("XWZ-2GH", "XWZ2GH"),
        ("XWZ2GH", "XWZ2GH"),
        ("xwz-2gh", "XWZ2GH"),
        (" xwz 2gh ", "XWZ2GH"),
        ("7f3-q9a", "7F3Q9A"),
        ("7FO-Q9A", "7F0Q9A"),  # O read as zero
        ("XWZ-2G", None),
        ("XWZ-2GHU", None),
        ("hello!", None),
    ],
)
def test_a_typed_code_is_read_with_or_without_dash_any_case(typed: str, stored: str | None) -> None:
    assert read_visit_code(typed) == stored
    if stored is not None:
        assert visit_code(typed) == f"{stored[:3]}-{stored[3:]}"


UTC_MOMENT = datetime(2026, 12, 7, 1, 30, 45, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (UTC_MOMENT, "2026-12-07T09:30:45+08:00"),
        (datetime(2026, 12, 6, 16, 0, tzinfo=UTC), "2026-12-07T00:00:00+08:00"),  # next local day
        (datetime(2026, 12, 7, 1, 30, 45, 999999), "2026-12-07T09:30:45+08:00"),  # naive = UTC
        (
            datetime(2026, 12, 7, 9, 0, tzinfo=timezone(timedelta(hours=7))),
            "2026-12-07T10:00:00+08:00",
        ),
        (date(2026, 12, 7), "2026-12-07"),
        (time(9, 30, 15), "09:30"),
        (None, None),
        ("text", "text"),
        (3, 3),
    ],
)
def test_iso_local_for_machine_exports(value: object, expected: object) -> None:
    assert iso_local(value, WITA) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (UTC_MOMENT, "09:30"),
        (time(8, 5, 59), "08:05"),
        (None, "--:--"),
        (datetime(2026, 12, 7, 15, 59, 59, tzinfo=UTC), "23:59"),
    ],
)
def test_clock_is_local_without_seconds(value: datetime | time | None, expected: str) -> None:
    assert clock(value, WITA) == expected


def test_a_datetime_needs_the_zone_and_local_drops_seconds() -> None:
    with pytest.raises(ValueError):
        clock(UTC_MOMENT)
    at = local(UTC_MOMENT, WITA)
    assert (at.hour, at.minute, at.second, at.microsecond) == (9, 30, 0, 0)
    assert at.utcoffset() == timedelta(hours=8)


@pytest.mark.parametrize(
    ("language", "day", "long", "short", "plain"),
    [
        ("id", date(2026, 12, 7), "Senin, 7 Desember 2026", "Sen 7 Des", "7 Desember 2026"),
        ("en", date(2026, 12, 7), "Monday, 7 December 2026", "Mon 7 Dec", "7 December 2026"),
        ("id", date(2026, 11, 15), "Minggu, 15 November 2026", "Min 15 Nov", "15 November 2026"),
        ("en", date(2027, 1, 1), "Friday, 1 January 2027", "Fri 1 Jan", "1 January 2027"),
        ("id", date(1950, 8, 17), "Kamis, 17 Agustus 1950", "Kam 17 Agu", "17 Agustus 1950"),
    ],
)
def test_one_date_style_per_language(
    language: str, day: date, long: str, short: str, plain: str
) -> None:
    tr = Translator(language)
    assert day_long(tr, day) == long
    assert day_short(tr, day) == short
    assert date_plain(tr, day) == plain


@pytest.mark.parametrize(
    ("language", "long", "short"),
    [
        ("id", "Senin, 7 Desember 2026 pukul 09:30", "Sen 7 Des 09:30"),
        ("en", "Monday, 7 December 2026 at 09:30", "Mon 7 Dec 09:30"),
    ],
)
def test_moments_are_wita_without_seconds(language: str, long: str, short: str) -> None:
    tr = Translator(language)
    assert moment_long(tr, UTC_MOMENT, WITA) == long
    assert moment_short(tr, UTC_MOMENT, WITA) == short
    # 23:59:59 UTC on the 6th is already the 7th in Makassar
    late = datetime(2026, 12, 6, 23, 59, 59, tzinfo=UTC)
    assert moment_short(tr, late, WITA) == short.replace("09:30", "07:59")
