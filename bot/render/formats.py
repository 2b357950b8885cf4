"""Dates for people, one style per language: "Senin, 7 Desember 2026" / "Monday, 7 December 2026";
where a button or a list line has no room, the one short form "Sen 7 Des" / "Mon 7 Dec".
Times are clinic-local (WITA) "09:30". Every render and the family's export use these."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.i18n import Translator
from scheduler.formats import clock, local, visit_code

__all__ = [
    "clock",
    "date_plain",
    "day_long",
    "day_short",
    "moment_long",
    "moment_short",
    "visit_code",
]


def day_long(tr: Translator, day: date) -> str:
    return tr(
        "patient.date_long",
        weekday=tr(f"patient.weekday.{day.weekday()}"),
        day=str(day.day),
        month=tr(f"patient.month.{day.month}"),
        year=str(day.year),
    )


def day_short(tr: Translator, day: date) -> str:
    return tr(
        "patient.date_short",
        weekday=tr(f"patient.weekday_short.{day.weekday()}"),
        day=str(day.day),
        month=tr(f"patient.month_short.{day.month}"),
    )


def moment_long(tr: Translator, moment: datetime, tz: ZoneInfo) -> str:
    """ "Senin, 7 Desember 2026 pukul 09:30" (clinic time)."""
    at = local(moment, tz)
    return tr("formats.moment", day=day_long(tr, at.date()), time=clock(at.time()))


def moment_short(tr: Translator, moment: datetime, tz: ZoneInfo) -> str:
    """ "Sen 7 Des 09:30" for list lines (clinic time)."""
    at = local(moment, tz)
    return f"{day_short(tr, at.date())} {clock(at.time())}"


def date_plain(tr: Translator, day: date) -> str:
    """ "7 Desember 1950": a date that is not an appointment (a birth date) needs no weekday."""
    return tr(
        "formats.date", day=str(day.day), month=tr(f"patient.month.{day.month}"), year=str(day.year)
    )
