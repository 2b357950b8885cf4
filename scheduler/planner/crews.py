"""The clinic day prepared for the model: each nurse as a Crew, the visits worth offering.

Pure and free of PyVRP: the solver (solver.py) and the replanner (replan.py) both start here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from scheduler.planner.model import (
    CAPACITY,
    NO_NURSE_WITH_SKILLS,
    WINDOW_PASSED,
    WINDOW_UNREACHABLE,
    Break,
    Nurse,
    PlanRequest,
    Stop,
    Unassigned,
    Visit,
)
from scheduler.planner.timing import Item, time_route


def location_of(stop: Stop, where: dict[str, int]) -> int:
    return 0 if stop.visit is None else where[str(stop.visit)]


@dataclass(frozen=True)
class Crew:
    """A nurse as the solver sees her: where and when the planned part of her day starts."""

    nurse: Nurse
    pinned: tuple[Stop, ...]
    origin: int  # matrix location where new work starts (clinic = 0)
    ready: int  # earliest departure from `origin`
    delay: bool  # may she leave `origin` later than `ready`? (not right after a pinned stop)
    cap_left: int | None
    rest: Break | None  # the break still to plan, if any
    active: bool  # can she take any new work?

    @property
    def deadline(self) -> int:
        return self.nurse.shift[1]

    def can_do(self, visit: Visit) -> bool:
        return visit.skills <= self.nurse.skills

    def elapsed(self, durations: Sequence[Sequence[int]], where: dict[str, int]) -> int:
        """Seconds from leaving the clinic to `ready` spent on pinned stops (0 without)."""
        if not self.pinned:
            return 0
        first = self.pinned[0]
        return self.ready - (first.arrive - durations[0][location_of(first, where)])


def break_item(rest: Break) -> Item:
    return Item(
        location=0,
        service=rest.duration_s,
        early=rest.window[0],
        late=rest.window[1] - rest.duration_s,
    )


def visit_item(visit: Visit, location: int) -> Item:
    return Item(
        location=location, service=visit.duration_s, early=visit.window[0], late=visit.window[1]
    )


def crews_for(
    request: PlanRequest, durations: Sequence[Sequence[int]], where: dict[str, int]
) -> list[Crew]:
    crews = []
    now = request.now
    for nurse in request.nurses:
        pinned = tuple(
            Stop(
                visit=f.visit,
                arrive=f.arrive,
                start=f.start,
                end=f.end,
                kind=f.kind,
                fixed=True,
            )
            for f in nurse.fixed
        )
        if pinned:
            last = pinned[-1]
            origin = 0 if last.visit is None else where[str(last.visit)]
            ready = max(last.end, now or 0)
        else:
            origin, ready = 0, max(nurse.shift[0], now or 0)
        active = ready + durations[origin][0] <= nurse.shift[1]
        cap_left = None
        if nurse.max_visits is not None:
            cap_left = nurse.max_visits - sum(1 for s in pinned if s.kind == "visit")
        rest = nurse.break_
        if rest is not None and (
            any(s.kind == "break" for s in pinned)
            or not active
            or max(rest.window[0], ready + durations[origin][0]) > rest.window[1] - rest.duration_s
        ):
            rest = None  # taken already, or its window is out of reach: nothing left to plan
        crews.append(
            Crew(
                nurse=nurse,
                pinned=pinned,
                origin=origin,
                ready=ready,
                delay=not pinned,
                cap_left=cap_left,
                rest=rest,
                active=active,
            )
        )
    return crews


def fits_alone(crew: Crew, item: Item, durations: Sequence[Sequence[int]]) -> bool:
    orders = (
        [[item]]
        if crew.rest is None
        else [[item, break_item(crew.rest)], [break_item(crew.rest), item]]
    )
    return any(
        time_route(
            durations, crew.origin, crew.ready, order, crew.deadline, delay_departure=crew.delay
        )
        is not None
        for order in orders
    )


def triage(
    request: PlanRequest,
    crews: list[Crew],
    durations: Sequence[Sequence[int]],
    where: dict[str, int],
) -> tuple[list[tuple[Visit, list[int]]], list[Unassigned]]:
    """Split the visits still to plan into (visit, nurses who could do it) and the hopeless."""
    pinned = {str(s.visit) for crew in crews for s in crew.pinned if s.visit is not None}
    candidates: list[tuple[Visit, list[int]]] = []
    hopeless: list[Unassigned] = []
    for visit in request.visits:
        if str(visit.id) in pinned:
            continue
        skilled = [k for k, crew in enumerate(crews) if crew.can_do(visit)]
        if not skilled:
            hopeless.append(Unassigned(visit.id, NO_NURSE_WITH_SKILLS))
            continue
        if request.now is not None and visit.window[1] < request.now:
            hopeless.append(Unassigned(visit.id, WINDOW_PASSED))
            continue
        free = [k for k in skilled if crews[k].active and crews[k].cap_left != 0]
        if not free:
            hopeless.append(Unassigned(visit.id, CAPACITY))
            continue
        item = visit_item(visit, where[str(visit.id)])
        able = [k for k in free if fits_alone(crews[k], item, durations)]
        if not able:
            hopeless.append(Unassigned(visit.id, WINDOW_UNREACHABLE))
            continue
        candidates.append((visit, able))
    return candidates, hopeless


def fair_shares(
    crews: list[Crew],
    candidates: list[tuple[Visit, list[int]]],
    durations: np.ndarray,
    where: dict[str, int],
) -> list[int]:
    """Each nurse's fair share of the day's remaining work, in route seconds.

    Work = service time of every plannable visit + for each its cheapest arrival (a lower
    bound of the travel it needs), split in proportion to the time each nurse has left; her
    break comes on top of her share.
    """
    locations = [where[str(v.id)] for v, _ in candidates]
    work = 0.0
    if locations:
        sub = durations[np.ix_([0, *locations], locations)].astype(float)
        for col in range(len(locations)):
            sub[col + 1, col] = np.inf
        work = float(sum(v.duration_s for v, _ in candidates) + sub.min(axis=0).sum())
    available = [max(0, crew.deadline - crew.ready) if crew.active else 0 for crew in crews]
    total = sum(available)
    shares = []
    for crew, time_left in zip(crews, available, strict=True):
        share = work * time_left / total if total else 0.0
        rest = crew.rest.duration_s if crew.rest is not None else 0
        shares.append(min(time_left, round(share) + rest))
    return shares
