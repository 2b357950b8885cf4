"""The visit's life: which status changes are allowed, and who may make them.

The status string is what the database stores (`visits.status`); every change goes through
`transition()` so the bot, the planner and the heads' commands follow one rulebook, and the history
table records who did what. Time-based limits (e.g. the patient's cancel cut-off) are not here: they
live in `scheduler.booking` and the caller checks both.

Statuses, in clinic words:

requested
    The patient (or caregiver) asked for a visit on a day and window; the planner has not run yet.
    Changing the day of a requested visit is an edit, not a status change.
scheduled
    The planner (or a head, by hand) gave the visit to a nurse with an estimated arrival.
    Moving it to another time while it stays with a nurse is also not a status change.
confirmed
    The patient said they will be home (button, or told a head on the phone).
on_the_way
    The nurse has left for this home.
arrived
    The nurse is at the home.
completed
    The visit was done; the nurse recorded the outcome (and vitals).
not_home
    The nurse came but nobody opened, or the patient could not be seen at home.
cancelled_by_patient
    The patient or caregiver called it off (in the bot, or by phone through a head).
cancelled_by_clinic
    The clinic called it off (nurse ill, flood, patient outside the service area...).
unplaced
    The planner could not fit the visit into any route; the patient is offered another day.
expired
    An unplaced visit whose offer lapsed: the patient chose no other day before it passed.
referred
    The patient was sent to the puskesmas or a hospital (a danger sign reported before or found at
    the visit) instead of a home visit. Danger signs at intake create no visit at all.

Actors: the patient (including a caregiver), the nurse, a head (who may act for the patient or the
nurse after a phone call), and the system (planner and timed jobs).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from homecare.errors import ConflictError


class VisitStatus(enum.StrEnum):
    REQUESTED = "requested"
    SCHEDULED = "scheduled"
    CONFIRMED = "confirmed"
    ON_THE_WAY = "on_the_way"
    ARRIVED = "arrived"
    COMPLETED = "completed"
    NOT_HOME = "not_home"
    CANCELLED_BY_PATIENT = "cancelled_by_patient"
    CANCELLED_BY_CLINIC = "cancelled_by_clinic"
    UNPLACED = "unplaced"
    EXPIRED = "expired"
    REFERRED = "referred"


class Actor(enum.StrEnum):
    PATIENT = "patient"  # the patient or a caregiver acting for them
    NURSE = "nurse"
    HEAD = "head"
    SYSTEM = "system"  # planner and timed jobs


INITIAL_STATUS = VisitStatus.REQUESTED

_S = VisitStatus
_P, _N, _H, _SYS = Actor.PATIENT, Actor.NURSE, Actor.HEAD, Actor.SYSTEM

# source -> target -> who may make that change. Anything absent is refused.
_RULES: Mapping[VisitStatus, Mapping[VisitStatus, frozenset[Actor]]] = {
    _S.REQUESTED: {
        _S.SCHEDULED: frozenset({_SYS, _H}),  # planned, or placed by hand
        _S.UNPLACED: frozenset({_SYS, _H}),
        _S.CANCELLED_BY_PATIENT: frozenset({_P, _H}),  # head records a phoned-in cancellation
        _S.CANCELLED_BY_CLINIC: frozenset({_H}),
        _S.REFERRED: frozenset({_SYS, _H}),  # danger sign reported while waiting
    },
    _S.SCHEDULED: {
        _S.CONFIRMED: frozenset({_P, _H}),  # head records a confirmation given by phone
        _S.REQUESTED: frozenset({_P, _H}),  # reschedule to another day: back to the planning queue
        _S.UNPLACED: frozenset({_SYS, _H}),  # a re-plan (nurse ill) could not keep it
        _S.ON_THE_WAY: frozenset({_N, _H}),
        _S.ARRIVED: frozenset({_N, _H}),  # nurse forgot to press "on the way"
        _S.NOT_HOME: frozenset({_N, _H}),
        _S.CANCELLED_BY_PATIENT: frozenset({_P, _H}),
        _S.CANCELLED_BY_CLINIC: frozenset({_H}),
        _S.REFERRED: frozenset({_SYS, _H}),
    },
    _S.CONFIRMED: {
        _S.SCHEDULED: frozenset({_SYS}),  # a re-plan moved it to another window: confirm again
        _S.REQUESTED: frozenset({_P, _H}),
        _S.UNPLACED: frozenset({_SYS, _H}),
        _S.ON_THE_WAY: frozenset({_N, _H}),
        _S.ARRIVED: frozenset({_N, _H}),
        _S.NOT_HOME: frozenset({_N, _H}),
        _S.CANCELLED_BY_PATIENT: frozenset({_P, _H}),
        _S.CANCELLED_BY_CLINIC: frozenset({_H}),
        _S.REFERRED: frozenset({_SYS, _H}),
    },
    _S.ON_THE_WAY: {
        _S.ARRIVED: frozenset({_N, _H}),
        _S.NOT_HOME: frozenset({_N, _H}),
        _S.SCHEDULED: frozenset({_H}),  # "on the way" pressed by mistake, or the nurse turned back
        _S.REQUESTED: frozenset({_H}),  # the nurse cannot make it: plan another day
        _S.UNPLACED: frozenset({_H}),
        _S.CANCELLED_BY_PATIENT: frozenset({_H}),  # the family phoned while the nurse was riding
        _S.CANCELLED_BY_CLINIC: frozenset({_H}),
        _S.REFERRED: frozenset({_H}),
    },
    _S.ARRIVED: {
        _S.COMPLETED: frozenset({_N, _H}),
        _S.NOT_HOME: frozenset({_N, _H}),  # at the door, but could not see the patient
        _S.REFERRED: frozenset({_N, _H}),  # danger sign found: sent on instead of treated at home
    },
    _S.UNPLACED: {
        _S.REQUESTED: frozenset({_P, _H}),  # another day chosen
        _S.SCHEDULED: frozenset({_SYS, _H}),  # a re-plan or a head found room after all
        _S.CANCELLED_BY_PATIENT: frozenset({_P, _H}),
        _S.CANCELLED_BY_CLINIC: frozenset({_H}),
        _S.REFERRED: frozenset({_SYS, _H}),
        _S.EXPIRED: frozenset({_SYS}),
    },
}

FINAL_STATUSES: frozenset[VisitStatus] = frozenset(s for s in VisitStatus if s not in _RULES)
OPEN_STATUSES: frozenset[VisitStatus] = frozenset(_RULES)

# Statuses whose visit still takes (or took) nurse time that day; the rest give capacity back.
CAPACITY_STATUSES: frozenset[VisitStatus] = frozenset(
    {_S.REQUESTED, _S.SCHEDULED, _S.CONFIRMED, _S.ON_THE_WAY, _S.ARRIVED, _S.COMPLETED, _S.NOT_HOME}
)


class TransitionError(ConflictError):
    """A refused status change; `code` is stable and `key` is the locale key ``visit.error.<code>``.

    A `ConflictError` because the usual cause is a stale button: the visit moved on meanwhile.
    Codes: ``unknown_status``, ``unknown_actor``, ``same_status``, ``final`` (the visit is over),
    ``not_allowed`` (no one may make this change), ``not_your_step`` (someone else may, e.g. only
    the nurse marks arrival).
    """

    def __init__(self, code: str, source: str, target: str, actor: str) -> None:
        self.code = code
        self.source = source
        self.target = target
        self.actor = actor
        super().__init__(f"visit.error.{code}", source=source, target=target, actor=actor)

    @property
    def locale_key(self) -> str:
        return self.key

    def __str__(self) -> str:
        return f"{self.code}: {self.source} -> {self.target} by {self.actor}"


@dataclass(frozen=True)
class Transition:
    """An allowed change, ready for the history table."""

    source: VisitStatus
    target: VisitStatus
    actor: Actor

    @property
    def ends_visit(self) -> bool:
        return self.target in FINAL_STATUSES

    @property
    def releases_capacity(self) -> bool:
        """The day's booked minutes go back to the pool (cancel, referral, not placed)."""
        return self.source in CAPACITY_STATUSES and self.target not in CAPACITY_STATUSES

    @property
    def returns_to_queue(self) -> bool:
        """The visit goes back to the planner's queue (a reschedule): keep no nurse or arrival."""
        return self.target is VisitStatus.REQUESTED


def _coerce_status(value: VisitStatus | str, source: str, target: str, actor: str) -> VisitStatus:
    try:
        return VisitStatus(value)
    except ValueError:
        raise TransitionError("unknown_status", source, target, actor) from None


def transition(
    current: VisitStatus | str, target: VisitStatus | str, actor: Actor | str
) -> Transition:
    """Check one change; return it or raise `TransitionError`. Accepts the DB's strings too."""
    names = (str(current), str(target), str(actor))
    src = _coerce_status(current, *names)
    dst = _coerce_status(target, *names)
    try:
        who = Actor(actor)
    except ValueError:
        raise TransitionError("unknown_actor", *names) from None
    if src is dst:
        raise TransitionError("same_status", *names)
    if src in FINAL_STATUSES:
        raise TransitionError("final", *names)
    actors = _RULES[src].get(dst)
    if actors is None:
        raise TransitionError("not_allowed", *names)
    if who not in actors:
        raise TransitionError("not_your_step", *names)
    return Transition(src, dst, who)


def can_transition(current: VisitStatus, target: VisitStatus, actor: Actor) -> bool:
    return actor in _RULES.get(current, {}).get(target, frozenset())


def allowed_targets(current: VisitStatus | str, actor: Actor | str) -> list[VisitStatus]:
    """Statuses this actor may move the visit to, in declaration order (for building buttons)."""
    src, who = VisitStatus(current), Actor(actor)
    targets = _RULES.get(src, {})
    return [s for s in VisitStatus if who in targets.get(s, frozenset())]


def is_open(status: VisitStatus | str) -> bool:
    """The visit still needs someone to act (not yet done, cancelled, expired or referred)."""
    return VisitStatus(status) in OPEN_STATUSES


def is_final(status: VisitStatus | str) -> bool:
    return VisitStatus(status) in FINAL_STATUSES


def counts_toward_capacity(status: VisitStatus | str) -> bool:
    """The visit takes nurse time on its day (booked, planned, under way or done)."""
    return VisitStatus(status) in CAPACITY_STATUSES


def can_reschedule(status: VisitStatus | str, actor: Actor | str) -> bool:
    """The actor may pick another day: edit a requested visit, or send a later one back to the
    queue."""
    src, who = VisitStatus(status), Actor(actor)
    if src is VisitStatus.REQUESTED:
        return who in (Actor.PATIENT, Actor.HEAD)
    return can_transition(src, VisitStatus.REQUESTED, who)


def status_key(status: VisitStatus | str) -> str:
    """The locale key of the plain-word status a patient reads, e.g. ``visit.status.scheduled``."""
    return f"visit.status.{VisitStatus(status).value}"


__all__ = [
    "CAPACITY_STATUSES",
    "FINAL_STATUSES",
    "INITIAL_STATUS",
    "OPEN_STATUSES",
    "Actor",
    "Transition",
    "TransitionError",
    "VisitStatus",
    "allowed_targets",
    "can_reschedule",
    "can_transition",
    "counts_toward_capacity",
    "is_final",
    "is_open",
    "status_key",
    "transition",
]
