"""Which nurses can share one PyVRP routing profile (pure; the solver builds the matrices).

PyVRP's work per iteration grows with the number of routing profiles, and the planner used to
give every nurse her own. A profile only has to differ where the cost or travel time of an arc
differs, so nurses are grouped by a key of exactly those columns:

- `forbidden`: matrix columns of visits she may not do (skills, or out of her reach alone);
- `preferred`: columns of visits whose patient prefers *her* (continuity). Every other nurse
  pays the continuity cost on those arcs, so the shared base matrix carries the cost and only
  the preferred nurse's profile lifts it — a nurse nobody prefers has an empty set.

Breaks are not in the key: they are restricted to their nurse by load dimensions (see
`break_classes`), not by matrix columns.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from scheduler.planner.model import Id, Visit


@dataclass(frozen=True)
class ProfileKey:
    forbidden: frozenset[int]
    preferred: frozenset[int]


def profile_key(
    crew_index: int,
    nurse_id: Id,
    candidates: Sequence[tuple[Visit, Sequence[int]]],
    where: dict[str, int],
    *,
    continuity: bool,
) -> ProfileKey:
    """The columns in which this nurse's matrices differ from the shared base ones."""
    forbidden = frozenset(where[str(v.id)] for v, able in candidates if crew_index not in able)
    preferred: frozenset[int] = frozenset()
    if continuity:
        preferred = frozenset(
            where[str(v.id)]
            for v, able in candidates
            if crew_index in able
            and v.preferred_nurse is not None
            and str(v.preferred_nurse) == str(nurse_id)
        )
    return ProfileKey(forbidden, preferred)


def group_profiles(keys: Sequence[Hashable]) -> tuple[list[int], list[int]]:
    """(profile index of each vehicle, first vehicle of each profile), in order of first use.

    Vehicles with equal keys share a profile; its matrices are built from the first of them.
    """
    index: dict[Hashable, int] = {}
    profile_of: list[int] = []
    first: list[int] = []
    for vehicle, key in enumerate(keys):
        if key not in index:
            index[key] = len(first)
            first.append(vehicle)
        profile_of.append(index[key])
    return profile_of, first


def break_classes(items: Sequence[Hashable | None]) -> tuple[list[int | None], int]:
    """(class of each nurse's pending break or None, number of classes).

    Breaks that are the same stop (duration, earliest and latest start) form one class. Each
    class is a load dimension: its breaks deliver 1 there, and only a nurse of that class has
    room for one (capacity 1, every other nurse 0). With as many breaks in a class as nurses,
    every such nurse takes exactly one — any of them, as they are interchangeable — and no
    profile needs to keep other nurses off them.
    """
    index: dict[Hashable, int] = {}
    classes: list[int | None] = []
    for item in items:
        if item is None:
            classes.append(None)
            continue
        classes.append(index.setdefault(item, len(index)))
    return classes, len(index)
