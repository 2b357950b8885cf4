"""The visit state machine against an explicit expectation table written out by hand.

Every (status, target, actor) triple is checked, so adding a status or a rule to the code without
updating this table fails here.
"""

from __future__ import annotations

import itertools

import pytest

from scheduler.visits import (
    CAPACITY_STATUSES,
    FINAL_STATUSES,
    INITIAL_STATUS,
    OPEN_STATUSES,
    Actor,
    Transition,
    TransitionError,
    VisitStatus,
    allowed_targets,
    can_reschedule,
    can_transition,
    counts_toward_capacity,
    is_final,
    is_open,
    status_key,
    transition,
)

# source -> target: actors (p = patient/caregiver, n = nurse, h = head, s = system)
EXPECTED_TABLE = """
requested  -> scheduled            : s h
requested  -> unplaced             : s h
requested  -> cancelled_by_patient : p h
requested  -> cancelled_by_clinic  : h
requested  -> referred             : s h

scheduled  -> confirmed            : p h
scheduled  -> requested            : p h
scheduled  -> unplaced             : s h
scheduled  -> on_the_way           : n h
scheduled  -> arrived              : n h
scheduled  -> not_home             : n h
scheduled  -> cancelled_by_patient : p h
scheduled  -> cancelled_by_clinic  : h
scheduled  -> referred             : s h

confirmed  -> scheduled            : s
confirmed  -> requested            : p h
confirmed  -> unplaced             : s h
confirmed  -> on_the_way           : n h
confirmed  -> arrived              : n h
confirmed  -> not_home             : n h
confirmed  -> cancelled_by_patient : p h
confirmed  -> cancelled_by_clinic  : h
confirmed  -> referred             : s h

on_the_way -> arrived              : n h
on_the_way -> not_home             : n h
on_the_way -> scheduled            : h
on_the_way -> requested            : h
on_the_way -> unplaced             : h
on_the_way -> cancelled_by_patient : h
on_the_way -> cancelled_by_clinic  : h
on_the_way -> referred             : h

arrived    -> completed            : n h
arrived    -> not_home             : n h
arrived    -> referred             : n h

unplaced   -> requested            : p h
unplaced   -> scheduled            : s h
unplaced   -> cancelled_by_patient : p h
unplaced   -> cancelled_by_clinic  : h
unplaced   -> referred             : s h
unplaced   -> expired              : s
"""

EXPECTED_FINAL = {
    "completed",
    "not_home",
    "cancelled_by_patient",
    "cancelled_by_clinic",
    "expired",
    "referred",
}

ACTOR_LETTERS = {"p": "patient", "n": "nurse", "h": "head", "s": "system"}


def _parse_table() -> dict[tuple[str, str], set[str]]:
    table: dict[tuple[str, str], set[str]] = {}
    for line in EXPECTED_TABLE.strip().splitlines():
        if not line.strip():
            continue
        pair, actors = line.split(":")
        src, dst = (x.strip() for x in pair.split("->"))
        assert (src, dst) not in table, f"duplicate row {src} -> {dst}"
        table[(src, dst)] = {ACTOR_LETTERS[a] for a in actors.split()}
    return table


EXPECTED = _parse_table()
STATUS_VALUES = [
    "requested",
    "scheduled",
    "confirmed",
    "on_the_way",
    "arrived",
    "completed",
    "not_home",
    "cancelled_by_patient",
    "cancelled_by_clinic",
    "unplaced",
    "expired",
    "referred",
]
ACTOR_VALUES = ["patient", "nurse", "head", "system"]


def _expected_code(src: str, dst: str, actor: str) -> str | None:
    if src == dst:
        return "same_status"
    if src in EXPECTED_FINAL:
        return "final"
    actors = EXPECTED.get((src, dst))
    if actors is None:
        return "not_allowed"
    return None if actor in actors else "not_your_step"


def test_enum_values_are_the_stored_strings() -> None:
    assert [s.value for s in VisitStatus] == STATUS_VALUES
    assert [a.value for a in Actor] == ACTOR_VALUES
    assert all(len(v) <= 24 for v in STATUS_VALUES)  # visits.status is String(24)


@pytest.mark.parametrize(
    ("src", "dst", "actor"), list(itertools.product(STATUS_VALUES, STATUS_VALUES, ACTOR_VALUES))
)
def test_every_transition_triple(src: str, dst: str, actor: str) -> None:
    code = _expected_code(src, dst, actor)
    if code is None:
        result = transition(VisitStatus(src), VisitStatus(dst), Actor(actor))
        assert result == Transition(VisitStatus(src), VisitStatus(dst), Actor(actor))
        assert can_transition(VisitStatus(src), VisitStatus(dst), Actor(actor))
        # The database's plain strings work as well.
        assert transition(src, dst, actor) == result
    else:
        with pytest.raises(TransitionError) as err:
            transition(src, dst, actor)
        assert err.value.code == code
        assert err.value.locale_key == f"visit.error.{code}"
        assert (err.value.source, err.value.target, err.value.actor) == (src, dst, actor)
        assert not can_transition(VisitStatus(src), VisitStatus(dst), Actor(actor))


@pytest.mark.parametrize(("src", "actor"), list(itertools.product(STATUS_VALUES, ACTOR_VALUES)))
def test_allowed_targets(src: str, actor: str) -> None:
    expected = [
        dst for dst in STATUS_VALUES if actor in EXPECTED.get((src, dst), set()) and src != dst
    ]
    assert [s.value for s in allowed_targets(src, actor)] == expected


@pytest.mark.parametrize(
    ("src", "dst", "actor", "code"),
    [
        ("planned", "scheduled", "system", "unknown_status"),
        ("requested", "done", "system", "unknown_status"),
        ("requested", "scheduled", "robot", "unknown_actor"),
        ("", "scheduled", "system", "unknown_status"),
    ],
)
def test_unknown_values(src: str, dst: str, actor: str, code: str) -> None:
    with pytest.raises(TransitionError) as err:
        transition(src, dst, actor)
    assert err.value.code == code


@pytest.mark.parametrize("status", STATUS_VALUES)
def test_open_and_final(status: str) -> None:
    assert is_final(status) is (status in EXPECTED_FINAL)
    assert is_open(status) is (status not in EXPECTED_FINAL)
    assert (VisitStatus(status) in FINAL_STATUSES) is (status in EXPECTED_FINAL)
    assert (VisitStatus(status) in OPEN_STATUSES) is (status not in EXPECTED_FINAL)


@pytest.mark.parametrize(
    ("status", "counts"),
    [
        ("requested", True),
        ("scheduled", True),
        ("confirmed", True),
        ("on_the_way", True),
        ("arrived", True),
        ("completed", True),
        ("not_home", True),  # the nurse went: the time was spent
        ("cancelled_by_patient", False),
        ("cancelled_by_clinic", False),
        ("unplaced", False),
        ("expired", False),
        ("referred", False),
    ],
)
def test_counts_toward_capacity(status: str, counts: bool) -> None:
    assert counts_toward_capacity(status) is counts
    assert (VisitStatus(status) in CAPACITY_STATUSES) is counts


@pytest.mark.parametrize(
    ("src", "dst", "actor", "ends", "releases", "requeues"),
    [
        ("requested", "scheduled", "system", False, False, False),
        ("requested", "unplaced", "system", False, True, False),
        ("unplaced", "requested", "patient", False, False, True),
        ("scheduled", "requested", "patient", False, False, True),
        ("scheduled", "cancelled_by_patient", "patient", True, True, False),
        ("confirmed", "cancelled_by_clinic", "head", True, True, False),
        ("arrived", "completed", "nurse", True, False, False),
        ("on_the_way", "not_home", "nurse", True, False, False),
        ("arrived", "referred", "nurse", True, True, False),
        ("unplaced", "expired", "system", True, False, False),
    ],
)
def test_transition_flags(
    src: str, dst: str, actor: str, ends: bool, releases: bool, requeues: bool
) -> None:
    t = transition(src, dst, actor)
    assert (t.ends_visit, t.releases_capacity, t.returns_to_queue) == (ends, releases, requeues)


@pytest.mark.parametrize(
    ("status", "actor", "allowed"),
    [
        ("requested", "patient", True),  # an edit of the day, no status change
        ("requested", "head", True),
        ("requested", "nurse", False),
        ("requested", "system", False),
        ("scheduled", "patient", True),
        ("confirmed", "patient", True),
        ("unplaced", "patient", True),
        ("on_the_way", "patient", False),  # too late for the bot: phone the clinic
        ("on_the_way", "head", True),
        ("arrived", "head", False),
        ("completed", "head", False),
        ("cancelled_by_patient", "patient", False),
    ],
)
def test_can_reschedule(status: str, actor: str, allowed: bool) -> None:
    assert can_reschedule(status, actor) is allowed


@pytest.mark.parametrize("status", STATUS_VALUES)
def test_status_key(status: str) -> None:
    assert status_key(status) == f"visit.status.{status}"
    assert status_key(VisitStatus(status)) == f"visit.status.{status}"


def test_initial_status() -> None:
    assert INITIAL_STATUS is VisitStatus.REQUESTED


def test_every_open_status_can_reach_an_end() -> None:
    """No visit can get stuck: from every open status some path leads to a final one."""
    reachable_end: set[str] = set(EXPECTED_FINAL)
    changed = True
    while changed:
        changed = False
        for (src, dst), _actors in EXPECTED.items():
            if dst in reachable_end and src not in reachable_end:
                reachable_end.add(src)
                changed = True
    assert reachable_end == set(STATUS_VALUES)


def test_transition_error_is_a_conflict_with_a_locale_key() -> None:
    from homecare.errors import ConflictError

    with pytest.raises(ConflictError) as err:
        transition("completed", "scheduled", "head")
    assert err.value.key == "visit.error.final"
    assert str(err.value) == "final: completed -> scheduled by head"
