"""Times along one route, given the order of its stops (used by the solver, not the checker).

Convention (docs/planning.md): every service starts as early as its window and the route allow
(slack for delays later in the day, and urgent visits early); the nurse leaves the clinic just
in time to arrive at her first stop as it opens, travels straight on from each stop
(arrive = previous end + travel) and waits at a stop she reaches before its window opens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Item:
    """A stop to time: matrix `location`, `service` seconds, service start in [early, late]."""

    location: int
    service: int
    early: int
    late: int


@dataclass(frozen=True)
class Timing:
    leave: int
    arrive: tuple[int, ...]
    start: tuple[int, ...]
    end: tuple[int, ...]
    back: int


def _forward(
    durations: Sequence[Sequence[int]], origin: int, leave: int, items: Sequence[Item]
) -> Timing:
    arrive, start, end = [], [], []
    here, time = origin, leave
    for item in items:
        time += durations[here][item.location]
        arrive.append(time)
        time = max(time, item.early)
        start.append(time)
        time += item.service
        end.append(time)
        here = item.location
    back = time + durations[here][0]
    return Timing(leave, tuple(arrive), tuple(start), tuple(end), back)


def _on_time(timing: Timing, items: Sequence[Item], deadline: int) -> bool:
    return timing.back <= deadline and all(
        s <= item.late for s, item in zip(timing.start, items, strict=True)
    )


def time_route(
    durations: Sequence[Sequence[int]],
    origin: int,
    ready: int,
    items: Sequence[Item],
    deadline: int,
    *,
    delay_departure: bool = True,
) -> Timing | None:
    """Time `items` visited in order from `origin` (free at `ready`) back to the clinic (0).

    Returns None when a service would start after its window or the nurse would be back
    after `deadline`. With `delay_departure` she leaves `origin` late enough not to wait at
    the first stop (no service moves); otherwise she leaves at `ready`.
    """
    earliest = _forward(durations, origin, ready, items)
    if not _on_time(earliest, items, deadline):
        return None
    if not delay_departure or not items:
        return earliest
    wait = earliest.start[0] - earliest.arrive[0]
    return _forward(durations, origin, ready + wait, items)
