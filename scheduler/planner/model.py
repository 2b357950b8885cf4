"""Plain data of the visit planner: what goes in (`PlanRequest`) and what comes out (`Plan`).

Everything is a frozen dataclass of plain values, so the database side can build a request from
its rows and a test can write one as a table. Times of day are integer seconds since local
midnight of the plan date (Asia/Makassar for the clinic); `clock()` / `format_clock()` convert.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Final, Literal

Id = str | int
"""A nurse or visit id as the caller gave it (kept as is, so database ids round-trip)."""

Priority = Literal["urgent", "routine"]
StopKind = Literal["visit", "break"]

DAY_S: Final = 24 * 3600

# Why a visit is left out of the plan (machine codes, documented in docs/planning.md).
NO_NURSE_WITH_SKILLS: Final = "no_nurse_with_skills"
WINDOW_PASSED: Final = "window_passed"
WINDOW_UNREACHABLE: Final = "window_unreachable"
CAPACITY: Final = "capacity"
OPTIONAL_DEFERRED: Final = "optional_deferred"
# Not the solver's: the planning service names it when an unreachable home is also pinned
# far outside the service radius (the pin is likely wrong; the family is asked to fix it).
LOCATION_FAR: Final = "location_far"
REASONS: Final = (
    NO_NURSE_WITH_SKILLS,
    WINDOW_PASSED,
    WINDOW_UNREACHABLE,
    CAPACITY,
    OPTIONAL_DEFERRED,
)


def clock(text: str) -> int:
    """Parse "HH:MM" or "HH:MM:SS" (00:00 … 24:00) into seconds since midnight.

    Raises ValueError with a short reason on anything else.
    """
    parts = text.split(":")
    if len(parts) not in (2, 3) or not all(len(p) == 2 and p.isdigit() for p in parts):
        raise ValueError(f"expected HH:MM or HH:MM:SS, got {text!r}")
    hours, minutes = int(parts[0]), int(parts[1])
    seconds = int(parts[2]) if len(parts) == 3 else 0
    if minutes > 59 or seconds > 59 or hours > 24 or (hours == 24 and (minutes or seconds)):
        raise ValueError(f"not a time of day: {text!r}")
    return hours * 3600 + minutes * 60 + seconds


def format_clock(seconds: int) -> str:
    """Seconds since midnight as "HH:MM:SS" (hours may exceed 23 for times past midnight)."""
    hours, rest = divmod(seconds, 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


@dataclass(frozen=True)
class GeoPoint:
    lat: float
    lon: float


@dataclass(frozen=True)
class SpeedTravel:
    """Travel estimated from coordinates: great-circle distance × road factor at a speed.

    With `osrm_url`, callers that may do I/O (`resolve_travel`) ask that OSRM server first.
    """

    speed_kmh: float = 20.0
    road_factor: float = 1.3
    osrm_url: str | None = None


@dataclass(frozen=True)
class TravelMatrix:
    """Travel times (s) and distances (m); index 0 is the clinic, index i is `visits[i-1]`."""

    durations_s: tuple[tuple[int, ...], ...]
    distances_m: tuple[tuple[int, ...], ...]

    @property
    def size(self) -> int:
        return len(self.durations_s)


@dataclass(frozen=True)
class Weights:
    """Objective weights, in travel-seconds. 0 switches a term off.

    travel      cost per second of travel;
    balance     cost per second a nurse's route lasts beyond her fair share of the day's work;
    continuity  cost per visit served by someone other than the patient's preferred nurse.
    """

    travel: float = 1.0
    balance: float = 1.0
    continuity: float = 600.0


@dataclass(frozen=True)
class Break:
    """A rest at the clinic: `duration_s` long, lying entirely inside `window`."""

    duration_s: int
    window: tuple[int, int]


@dataclass(frozen=True)
class FixedStop:
    """A stop a nurse has started or is already travelling to; re-planning never moves it.

    `visit` is None for the nurse's break.
    """

    visit: Id | None
    arrive: int
    start: int
    end: int

    @property
    def kind(self) -> StopKind:
        return "break" if self.visit is None else "visit"


@dataclass(frozen=True)
class Nurse:
    id: Id
    shift: tuple[int, int]
    skills: frozenset[str] = frozenset()
    max_visits: int | None = None
    break_: Break | None = None
    fixed: tuple[FixedStop, ...] = ()


@dataclass(frozen=True)
class Visit:
    """A home visit. The window bounds the start of service."""

    id: Id
    lat: float
    lon: float
    duration_s: int
    window: tuple[int, int]
    skills: frozenset[str] = frozenset()
    priority: Priority = "routine"
    optional: bool = False
    preferred_nurse: Id | None = None


@dataclass(frozen=True)
class PlanRequest:
    """One clinic day to plan. `now` (seconds since midnight) is set when re-planning."""

    date: dt.date
    depot: GeoPoint
    nurses: tuple[Nurse, ...]
    visits: tuple[Visit, ...]
    travel: SpeedTravel | TravelMatrix = SpeedTravel()
    weights: Weights = Weights()
    now: int | None = None


@dataclass(frozen=True)
class Stop:
    visit: Id | None
    arrive: int
    start: int
    end: int
    kind: StopKind = "visit"
    fixed: bool = False


@dataclass(frozen=True)
class Route:
    """One nurse's day: leave the clinic, stops in order, back at the clinic.

    A nurse with nothing to do has no stops and `leave`/`back` None.
    `fair_share_s` is the route duration the balance term tolerates without cost.
    """

    nurse: Id
    leave: int | None
    back: int | None
    stops: tuple[Stop, ...]
    travel_s: int
    distance_m: int
    fair_share_s: int = 0

    @property
    def duration_s(self) -> int:
        return 0 if self.leave is None or self.back is None else self.back - self.leave

    @property
    def visit_count(self) -> int:
        return sum(1 for stop in self.stops if stop.kind == "visit")


@dataclass(frozen=True)
class Unassigned:
    visit: Id
    reason: str


@dataclass(frozen=True)
class Totals:
    visits: int
    assigned: int
    unassigned: int
    urgent_unassigned: int
    travel_s: int
    distance_m: int
    balance_excess_s: int
    continuity_misses: int
    nurses_used: int
    objective: float


@dataclass(frozen=True)
class SolverInfo:
    method: Literal["solve", "insertion"] = "solve"
    seed: int = 0
    time_limit_s: float | None = None
    max_iterations: int | None = None
    iterations: int = 0
    runtime_s: float = 0.0


@dataclass(frozen=True)
class Plan:
    date: dt.date
    routes: tuple[Route, ...]
    unassigned: tuple[Unassigned, ...]
    totals: Totals
    solver: SolverInfo = field(default_factory=SolverInfo)
