"""The pure parts of the console's staff and search work: LIKE escaping, leave spans, and the
export audit subject with search text."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from db.services import log_export, staff, staff_notes
from db.services.visit_log import LogFilter, like_pattern

TODAY = date(2027, 4, 13)


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("ani", "%ani%"),
        ("50%", "%50!%%"),
        ("a_b", "%a!_b%"),
        ("hi!", "%hi!!%"),
        ("c:\\x", "%c:\\x%"),
    ],
)
def test_like_pattern_escapes_wildcards(text: str, pattern: str) -> None:
    assert like_pattern(text) == pattern


@pytest.mark.parametrize(
    ("first", "last", "days", "error"),
    [
        (0, 0, 1, None),
        (0, 2, 3, None),
        (2, 1, 0, "leave_span"),
        (0, 31, 0, "leave_span"),
        (-1, 0, 0, "leave_day_range"),
        (50, 61, 0, "leave_day_range"),
        (60, 60, 1, None),
    ],
)
def test_leave_days(first: int, last: int, days: int, error: str | None) -> None:
    a, b = TODAY + timedelta(days=first), TODAY + timedelta(days=last)
    if error is None:
        assert len(staff_notes.leave_days(a, b, "leave", TODAY)) == days
    else:
        with pytest.raises(staff.StaffError) as caught:
            staff_notes.leave_days(a, b, "leave", TODAY)
        assert caught.value.code == error


def test_export_subject_keeps_the_search_text_or_its_digest() -> None:
    f = LogFilter(TODAY, TODAY, status="scheduled", text="ani")
    assert log_export.subject(f, "csv").endswith(";s=scheduled;q=ani")
    long = log_export.subject(f.with_(text="x" * 100), "csv")
    assert len(long) <= 120 and ";q#sha256:" in long
    assert "q=" not in log_export.subject(f.with_(text=None), "csv")
