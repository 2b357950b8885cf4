"""Which days and time windows a patient is offered, and whether a chosen slot may still be booked.

Pure rules: no database, no Telegram. Every function takes `now` (a timezone-aware datetime) and the
clinic's `BookingRules`; the callers pass what they read from the database (remaining capacity).

Calendar model
--------------
* Planning for day D runs at `plan_at` (clinic-local) on D-1. Requests for D close then, so the
  earliest bookable day is *tomorrow*, or the *day after tomorrow* once local time is at or past
  `plan_at`. Same-day visits are never booked through the bot (the clinic phones for those).
* Working days are `working_weekdays` (Mon–Sat by default). Sunday is never a working day.
* Public holidays come from the `holidays` package (country "ID"). With `cuti_bersama=True` the
  government's collective-leave days ("Cuti Bersama ...", category GOVERNMENT) are closed as well:
  the puskesmas runs only emergency services on those days. The package knows cuti bersama only for
  years whose decree it ships (through 2026 in holidays 0.109); Islamic holidays of later years are
  astronomical estimates, marked "(perkiraan)". Extra dates the clinic closes go in `closures`.
* The horizon is the first `horizon_days` working days starting at the earliest bookable day, so a
  long holiday (Idul Fitri + cuti bersama) does not shrink what patients are offered.

Capacity model
--------------
Capacity is counted in nurse-minutes available for *service* on a day: for each nurse on duty
``min(cap, (shift − break) × (1 − travel_share))``, summed, optionally capped for the whole clinic.
The `travel_share` (0.25 by default) reserves part of every shift for riding between homes. A
booking consumes its service duration plus an optional fixed per-visit overhead
(`visit_capacity_minutes`), not travel again, so travel is not counted twice. The planner later
decides the real routes; capacity only stops the bot promising more than the nurses can do.

Request codes
-------------
`new_request_code(rng)` draws 6 symbols of Crockford base32 (no I, L, O, U; about 10⁹ codes) from
the given random source (pass `secrets.SystemRandom()` in production). Codes are not sequential, so
one patient's code does not reveal another's; the database's unique constraint catches the rare
collision and the service draws again. `parse_request_code` reads a code typed or spoken back by a
person, forgiving case, separators and the look-alikes O→0, I/L→1.
"""

from __future__ import annotations

import enum
import random
import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as holidays_lib

WITA = ZoneInfo("Asia/Makassar")
SUNDAY = 6
MON_TO_SAT: frozenset[int] = frozenset(range(6))

# Scanning stops after a year of days: a configuration that closes every day offers nothing
# instead of looping forever.
_MAX_SCAN_DAYS = 366


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")


# --- time windows ------------------------------------------------------------------------------

_WINDOW_RE = re.compile(r"\s*(\d{1,2})[:.](\d{2})\s*[-–—]\s*(\d{1,2})[:.](\d{2})\s*")


@dataclass(frozen=True, order=True)
class TimeWindow:
    """A clinic-local window in which the nurse starts the visit (e.g. 08:00–10:00).

    Windows never cross midnight: home visits happen in daytime working hours.
    """

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("window times are clinic-local and must be naive")
        if not self.start < self.end:
            raise ValueError(f"window {self.key} must end after it starts")

    @classmethod
    def parse(cls, text: str) -> TimeWindow:
        """Read "08:00-10:00" (also "08.00–10.00", "8:00 - 10:00") as written in configuration."""
        m = _WINDOW_RE.fullmatch(text)
        if m is None:
            raise ValueError(f'"{text}" is not a window like "08:00-10:00"')
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            raise ValueError(f'"{text}" is not a valid time of day')
        return cls(time(h1, m1), time(h2, m2))

    @property
    def label(self) -> str:
        """What patients read: "08:00–10:00" (en dash)."""
        return f"{self.start:%H:%M}–{self.end:%H:%M}"

    @property
    def key(self) -> str:
        """ASCII form for configuration and callback data: "08:00-10:00"."""
        return f"{self.start:%H:%M}-{self.end:%H:%M}"

    @property
    def minutes(self) -> int:
        return (self.end.hour * 60 + self.end.minute) - (self.start.hour * 60 + self.start.minute)

    def starts_at(self, day: date, tz: ZoneInfo) -> datetime:
        """The aware instant the window opens on `day` in the clinic's zone."""
        return datetime.combine(day, self.start, tzinfo=tz)

    def ends_at(self, day: date, tz: ZoneInfo) -> datetime:
        return datetime.combine(day, self.end, tzinfo=tz)

    def __str__(self) -> str:
        return self.label


DEFAULT_WINDOWS: tuple[TimeWindow, ...] = (
    TimeWindow(time(8), time(10)),
    TimeWindow(time(10), time(12)),
    TimeWindow(time(12), time(14)),
)


# --- rules -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BookingRules:
    """A clinic's booking policy; built once from configuration and passed to every call.

    `plan_at`: local time the planner runs for the next day; requests for tomorrow close then.
    `cancel_cutoff`: a patient may cancel or reschedule in the bot only before window start minus
    this; afterwards the nurse's route is fixed and they must phone the clinic.
    `window_lead`: a window is offered only if it starts at least this long after `now`.
    """

    timezone: ZoneInfo = WITA
    working_weekdays: frozenset[int] = MON_TO_SAT
    windows: tuple[TimeWindow, ...] = DEFAULT_WINDOWS
    horizon_days: int = 7
    plan_at: time = time(18, 0)
    closures: frozenset[date] = frozenset()
    holiday_country: str | None = "ID"
    cuti_bersama: bool = True
    cancel_cutoff: timedelta = timedelta(hours=12)
    window_lead: timedelta = timedelta(hours=12)

    def __post_init__(self) -> None:
        if SUNDAY in self.working_weekdays:
            raise ValueError("Sunday is never a working day for home visits")
        if not self.working_weekdays or not all(0 <= d <= 5 for d in self.working_weekdays):
            raise ValueError("working_weekdays must be a non-empty set of 0 (Mon) .. 5 (Sat)")
        if not self.windows:
            raise ValueError("at least one visit window is needed")
        for earlier, later in zip(self.windows, self.windows[1:], strict=False):
            if not earlier.end <= later.start:
                raise ValueError("windows must be sorted and must not overlap")
        if self.horizon_days < 1:
            raise ValueError("horizon_days must be at least 1")
        if self.cancel_cutoff < timedelta(0) or self.window_lead < timedelta(0):
            raise ValueError("cancel_cutoff and window_lead must not be negative")
        if self.plan_at.tzinfo is not None:
            raise ValueError("plan_at is clinic-local and must be naive")
        if (
            self.holiday_country is not None
            and self.holiday_country not in holidays_lib.list_supported_countries()
        ):
            raise ValueError(f"no holiday calendar for country {self.holiday_country!r}")

    def local(self, moment: datetime) -> datetime:
        _require_aware(moment)
        return moment.astimezone(self.timezone)

    def window_for(self, start: time, end: time) -> TimeWindow | None:
        """The configured window with these bounds, or None (a stale or forged choice)."""
        for window in self.windows:
            if (window.start, window.end) == (start, end):
                return window
        return None


# --- holidays ----------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _calendar(country: str, year: int, with_government: bool, language: str) -> dict[date, str]:
    categories: tuple[str, ...] = ("public", "government") if with_government else ("public",)
    cal = holidays_lib.country_holidays(
        country, years=year, categories=categories, language=language
    )
    return dict(cal.items())


def holiday_name(rules: BookingRules, day: date, language: str = "id") -> str | None:
    """The holiday's name for messages ("Hari Raya Idul Fitri"), or None on an ordinary day.

    Languages the package ships for Indonesia: "id" (default) and "en_US"; "en" maps to "en_US".
    Several holidays on one day are joined with "; " by the package.
    """
    if rules.holiday_country is None:
        return None
    lang = "en_US" if language == "en" else language
    return _calendar(rules.holiday_country, day.year, rules.cuti_bersama, lang).get(day)


def is_holiday(rules: BookingRules, day: date) -> bool:
    return holiday_name(rules, day) is not None


def is_working_day(rules: BookingRules, day: date) -> bool:
    """Nurses make home visits on this day (weekday, not a holiday, not a clinic closure)."""
    return (
        day.weekday() in rules.working_weekdays
        and day not in rules.closures
        and not is_holiday(rules, day)
    )


# --- offered days and windows ------------------------------------------------------------------


def earliest_bookable_day(rules: BookingRules, now: datetime) -> date:
    """Tomorrow, or the day after once today's plan has run (local time ≥ `plan_at`)."""
    local = rules.local(now)
    return local.date() + timedelta(days=2 if local.time() >= rules.plan_at else 1)


def _working_days_from(rules: BookingRules, first: date) -> Iterator[date]:
    for offset in range(_MAX_SCAN_DAYS):
        day = first + timedelta(days=offset)
        if is_working_day(rules, day):
            yield day


def next_working_day(rules: BookingRules, after: date) -> date:
    """The first working day after `after` (Saturday → Monday, skipping holidays and closures)."""
    return next(_working_days_from(rules, after + timedelta(days=1)))


def horizon(rules: BookingRules, now: datetime) -> list[date]:
    """The working days patients may choose from now, ignoring capacity."""
    days: list[date] = []
    for day in _working_days_from(rules, earliest_bookable_day(rules, now)):
        days.append(day)
        if len(days) == rules.horizon_days:
            break
    return days


def _window_open(rules: BookingRules, now: datetime, day: date, window: TimeWindow) -> bool:
    return window.starts_at(day, rules.timezone) >= now + rules.window_lead


def offered_days(
    rules: BookingRules,
    now: datetime,
    remaining_minutes_by_day: Mapping[date, int],
    needed_minutes: int,
) -> list[date]:
    """Working days in the horizon with room for a visit that consumes `needed_minutes`.

    A day missing from `remaining_minutes_by_day` has no capacity (no nurse on duty): the bot must
    not promise visits nobody can make. Days whose every window is too close to `now` are left out.
    """
    _require_aware(now)
    if needed_minutes < 0:
        raise ValueError("needed_minutes must not be negative")
    return [
        day
        for day in horizon(rules, now)
        if remaining_minutes_by_day.get(day, 0) >= needed_minutes
        and any(_window_open(rules, now, day, w) for w in rules.windows)
    ]


def offered_windows(
    rules: BookingRules,
    day: date,
    now: datetime,
    remaining_by_window: Mapping[TimeWindow, int] | None = None,
    needed: int = 1,
) -> list[TimeWindow]:
    """The windows a patient may pick on `day`; empty when the day itself is not bookable.

    `remaining_by_window` is an optional per-window limit in the caller's unit (visits or minutes);
    a window is offered when its remaining amount is at least `needed`. A window missing from a
    given mapping counts as full. None means no per-window limit.
    """
    if _day_refusal(rules, now, day) is not None:
        return []
    return [
        w
        for w in rules.windows
        if _window_open(rules, now, day, w)
        and (remaining_by_window is None or remaining_by_window.get(w, 0) >= needed)
    ]


# --- the confirm-time check --------------------------------------------------------------------


class BookingRefusal(enum.StrEnum):
    """Why a slot cannot be booked; the value names a locale key ``booking.refused.<value>``."""

    UNKNOWN_WINDOW = "unknown_window"  # not one of the clinic's windows (stale or forged button)
    PAST = "past"  # the day is over or the window has begun
    SUNDAY = "sunday"
    HOLIDAY = "holiday"  # public holiday or cuti bersama
    CLOSED = "closed"  # clinic closure or a weekday the clinic does not visit
    TOO_LATE = "too_late"  # planning for that day has run, or the window starts too soon
    BEYOND_HORIZON = "beyond_horizon"
    NO_CAPACITY = "no_capacity"

    @property
    def locale_key(self) -> str:
        return f"booking.refused.{self.value}"


@dataclass(frozen=True)
class BookingDecision:
    """The answer of `check_booking`: `ok`, or the refusal reason (and the holiday's name)."""

    reason: BookingRefusal | None = None
    holiday: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None


ACCEPTED = BookingDecision()


def _day_refusal(rules: BookingRules, now: datetime, day: date) -> BookingRefusal | None:
    """Reasons that depend on the day alone, in the order a patient finds most useful."""
    today = rules.local(now).date()
    if day < today:
        return BookingRefusal.PAST
    if day.weekday() == SUNDAY:
        return BookingRefusal.SUNDAY
    if is_holiday(rules, day):
        return BookingRefusal.HOLIDAY
    if day in rules.closures or day.weekday() not in rules.working_weekdays:
        return BookingRefusal.CLOSED
    if day < earliest_bookable_day(rules, now):
        return BookingRefusal.TOO_LATE
    days = horizon(rules, now)
    if not days or day > days[-1]:
        return BookingRefusal.BEYOND_HORIZON
    return None


def check_booking(
    rules: BookingRules,
    now: datetime,
    day: date,
    window: TimeWindow,
    *,
    remaining_day_minutes: int | None = None,
    needed_minutes: int = 0,
    remaining_in_window: int | None = None,
    needed_in_window: int = 1,
) -> BookingDecision:
    """Check a chosen slot again at confirm time: keyboards go stale and callback data is forgeable.

    Capacity is checked only when the caller passes `remaining_day_minutes` (and, for a per-window
    limit, `remaining_in_window`), read inside the same transaction that books.
    """
    _require_aware(now)
    if window not in rules.windows:
        return BookingDecision(BookingRefusal.UNKNOWN_WINDOW)
    if window.starts_at(day, rules.timezone) <= now:
        return BookingDecision(BookingRefusal.PAST)
    refusal = _day_refusal(rules, now, day)
    if refusal is BookingRefusal.HOLIDAY:
        return BookingDecision(refusal, holiday_name(rules, day))
    if refusal is not None:
        return BookingDecision(refusal)
    if not _window_open(rules, now, day, window):
        return BookingDecision(BookingRefusal.TOO_LATE)
    if remaining_day_minutes is not None and remaining_day_minutes < needed_minutes:
        return BookingDecision(BookingRefusal.NO_CAPACITY)
    if remaining_in_window is not None and remaining_in_window < needed_in_window:
        return BookingDecision(BookingRefusal.NO_CAPACITY)
    return ACCEPTED


# --- cancelling --------------------------------------------------------------------------------


def cancel_deadline(rules: BookingRules, day: date, window: TimeWindow) -> datetime:
    """The last instant (exclusive) a patient may cancel or reschedule in the bot, in UTC."""
    return (window.starts_at(day, rules.timezone) - rules.cancel_cutoff).astimezone(ZoneInfo("UTC"))


def can_cancel(rules: BookingRules, now: datetime, day: date, window: TimeWindow) -> bool:
    """True strictly before the cut-off; at the cut-off instant the route counts as fixed."""
    _require_aware(now)
    return now < cancel_deadline(rules, day, window)


# --- capacity ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NurseShift:
    """One nurse's home-visit duty on a day (clinic-local times). Split shifts are two entries."""

    nurse_id: int
    start: time
    end: time
    break_minutes: int = 0

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise ValueError("a shift must end after it starts")
        if not 0 <= self.break_minutes < self.minutes_gross:
            raise ValueError("break must be shorter than the shift")

    @property
    def minutes_gross(self) -> int:
        return (self.end.hour * 60 + self.end.minute) - (self.start.hour * 60 + self.start.minute)


def day_capacity_minutes(
    shifts: Iterable[NurseShift],
    *,
    on_leave: Collection[int] = frozenset(),
    nurse_caps: Mapping[int, int] | None = None,
    travel_share: float = 0.25,
    clinic_cap: int | None = None,
) -> int:
    """Nurse-minutes available for service on one day.

    Per nurse not on leave: (shift minutes − break) × (1 − travel_share), rounded down, summed over
    their shifts, then capped by `nurse_caps[nurse]` (e.g. a nurse who also staffs the clinic
    desk). The total is capped by `clinic_cap` when given.
    """
    if not 0 <= travel_share < 1:
        raise ValueError("travel_share must be in [0, 1)")
    per_nurse: dict[int, int] = {}
    for shift in shifts:
        if shift.nurse_id in on_leave:
            continue
        service = int((shift.minutes_gross - shift.break_minutes) * (1 - travel_share))
        per_nurse[shift.nurse_id] = per_nurse.get(shift.nurse_id, 0) + service
    caps = nurse_caps or {}
    total = sum(
        min(minutes, caps[nurse]) if nurse in caps else minutes
        for nurse, minutes in per_nurse.items()
    )
    if clinic_cap is not None:
        total = min(total, clinic_cap)
    return max(total, 0)


def visit_capacity_minutes(service_minutes: int, overhead_minutes: int = 0) -> int:
    """What one booking takes from the day: its service duration plus a fixed overhead
    (documentation, parking). Travel is already reserved by `travel_share`."""
    if service_minutes <= 0 or overhead_minutes < 0:
        raise ValueError("service minutes must be positive and overhead not negative")
    return service_minutes + overhead_minutes


def remaining_minutes(capacity: int, booked: Iterable[int]) -> int:
    """Capacity left after the bookings that still count (never negative)."""
    return max(capacity - sum(booked), 0)


# --- request codes -----------------------------------------------------------------------------

CROCKFORD_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REQUEST_CODE_LENGTH = 6
_DECODE_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_CODE_SEPARATORS = re.compile(r"[\s\-_.]")


def new_request_code(rng: random.Random) -> str:
    """Six random Crockford base32 symbols, e.g. "7F3Q9A"; pass `secrets.SystemRandom()`."""
    return "".join(rng.choice(CROCKFORD_ALPHABET) for _ in range(REQUEST_CODE_LENGTH))


def parse_request_code(text: str) -> str | None:
    """The canonical code a person meant ("7f3-q9a", "7F3 Q9A" → "7F3Q9A"), or None."""
    cleaned = _CODE_SEPARATORS.sub("", text).upper().translate(_DECODE_LOOKALIKES)
    if len(cleaned) != REQUEST_CODE_LENGTH or any(c not in CROCKFORD_ALPHABET for c in cleaned):
        return None
    return cleaned


def format_request_code(code: str) -> str:
    """Grouped for reading aloud on the phone: "7F3-Q9A"."""
    return f"{code[:3]}-{code[3:]}"


__all__ = [
    "ACCEPTED",
    "CROCKFORD_ALPHABET",
    "DEFAULT_WINDOWS",
    "MON_TO_SAT",
    "WITA",
    "BookingDecision",
    "BookingRefusal",
    "BookingRules",
    "NurseShift",
    "TimeWindow",
    "can_cancel",
    "cancel_deadline",
    "check_booking",
    "day_capacity_minutes",
    "earliest_bookable_day",
    "format_request_code",
    "holiday_name",
    "horizon",
    "is_holiday",
    "is_working_day",
    "new_request_code",
    "offered_days",
    "offered_windows",
    "parse_request_code",
    "remaining_minutes",
    "visit_capacity_minutes",
]
