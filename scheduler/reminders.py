"""Which reminders a visit needs and when; whether a late one is still worth sending.

The database owns reminder rows (APScheduler jobs are rebuilt from them and may fire late, e.g.
after a restart). These rules are pure: the caller passes the visit's timing and `now`.

Reminders per visit status:

scheduled (planned, not yet confirmed)
    EVENING_BEFORE_CONFIRM to the patient at `evening_before` on the day before: "will you be home?"
    CONFIRMATION_DEADLINE to the heads at `confirmation_deadline` that evening: the service sends it
    only if the visit is still unconfirmed ("phone this patient").
    BEFORE_ARRIVAL to the patient `before_arrival` ahead of the estimated arrival (or window start).
    NURSE_BEFORE_VISIT to the nurse, once per offset in `nurse_before_visit` (none by default: the
    nurse's morning route message covers the day).
confirmed
    BEFORE_ARRIVAL and NURSE_BEFORE_VISIT only.
any other status
    None: a requested visit has no nurse or time yet, and once the nurse is on the way the live
    status messages take over. Recomputing after a status change cancels what is no longer wanted.

Planning runs at plan time (18:00 by default), after the 17:00 evening reminder would be due. Such a
reminder is created already due and, being still useful until the 20:00 deadline, is sent at once:
no configuration ordering is needed for it to work.

Lateness: a reminder whose moment has passed is sent if still useful and skipped with a reason
otherwise — the evening question only until the confirmation deadline, the others only until the
visit starts (estimated arrival, else window start). `reminders_for_visit` applies the same test at
creation and reports what it skipped instead of creating rows that would only be skipped later.

All wall-clock rules are evaluated in the clinic's zone with zoneinfo (so DST zones work too); every
`due_at` is an aware UTC datetime.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from scheduler.booking import WITA, TimeWindow
from scheduler.visits import VisitStatus


class ReminderKind(enum.StrEnum):
    EVENING_BEFORE_CONFIRM = "evening_before_confirm"
    CONFIRMATION_DEADLINE = "confirmation_deadline"
    BEFORE_ARRIVAL = "before_arrival"
    NURSE_BEFORE_VISIT = "nurse_before_visit"


class Recipient(enum.StrEnum):
    PATIENT = "patient"  # the patient's and caregivers' chats
    NURSE = "nurse"
    HEADS = "heads"


class SkipReason(enum.StrEnum):
    AFTER_CONFIRMATION_DEADLINE = "after_confirmation_deadline"
    VISIT_STARTED = "visit_started"


class ReminderState(enum.StrEnum):
    """A reminder row's status as stored."""

    PENDING = "pending"
    SENT = "sent"
    SKIPPED = "skipped"
    FAILED = "failed"
    CANCELLED = "cancelled"


class DeliveryAction(enum.StrEnum):
    SEND = "send"
    SKIP = "skip"
    WAIT = "wait"  # not due yet


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


@dataclass(frozen=True)
class ReminderRules:
    """Reminder timing; clinic-local wall times for the evening, durations for the rest."""

    timezone: ZoneInfo = WITA
    evening_before: time = time(17, 0)
    confirmation_deadline: time = time(20, 0)
    before_arrival: timedelta | None = timedelta(minutes=60)
    nurse_before_visit: tuple[timedelta, ...] = ()

    def __post_init__(self) -> None:
        if self.evening_before.tzinfo is not None or self.confirmation_deadline.tzinfo is not None:
            raise ValueError("evening times are clinic-local and must be naive")
        if not self.evening_before < self.confirmation_deadline:
            raise ValueError("the confirmation deadline must come after the evening reminder")
        if self.before_arrival is not None and self.before_arrival <= timedelta(0):
            raise ValueError("before_arrival must be positive")
        if any(o <= timedelta(0) for o in self.nurse_before_visit):
            raise ValueError("nurse reminder offsets must be positive")
        if len(set(self.nurse_before_visit)) != len(self.nurse_before_visit):
            raise ValueError("nurse reminder offsets must be distinct")

    def at_local(self, day: date, wall: time) -> datetime:
        return datetime.combine(day, wall, tzinfo=self.timezone).astimezone(UTC)

    def deadline_for(self, day: date) -> datetime:
        """The evening-before confirmation deadline for a visit on `day`, in UTC."""
        return self.at_local(day - timedelta(days=1), self.confirmation_deadline)


@dataclass(frozen=True)
class VisitTiming:
    """What the reminder rules need to know about a visit (clinic-local day and window)."""

    day: date
    window: TimeWindow
    status: VisitStatus
    estimated_arrival: datetime | None = None

    def __post_init__(self) -> None:
        if self.estimated_arrival is not None:
            _require_aware(self.estimated_arrival, "estimated_arrival")

    def window_start(self, tz: ZoneInfo) -> datetime:
        return self.window.starts_at(self.day, tz).astimezone(UTC)

    def anchor(self, tz: ZoneInfo) -> datetime:
        """When the nurse is expected: the estimated arrival, else the window start."""
        if self.estimated_arrival is not None:
            return self.estimated_arrival.astimezone(UTC)
        return self.window_start(tz)


@dataclass(frozen=True)
class PlannedReminder:
    """A reminder the visit should have. `seq` tells apart several nurse reminders; `recipient_id`
    is filled by `expand_recipients` when each account gets its own row."""

    due_at: datetime
    kind: ReminderKind
    recipient: Recipient
    seq: int = 0
    recipient_id: int | None = None

    @property
    def key(self) -> tuple[ReminderKind, Recipient, int | None, int]:
        return (self.kind, self.recipient, self.recipient_id, self.seq)


def _by_time(r: PlannedReminder) -> tuple[datetime, str, str, int, int]:
    return (
        r.due_at,
        r.kind.value,
        r.recipient.value,
        r.seq,
        -1 if r.recipient_id is None else r.recipient_id,
    )


@dataclass(frozen=True)
class SkippedReminder:
    reminder: PlannedReminder
    reason: SkipReason


@dataclass(frozen=True)
class ReminderPlan:
    """`due`: reminders to keep or create (some may already be due now); `skipped`: for the log."""

    due: tuple[PlannedReminder, ...]
    skipped: tuple[SkippedReminder, ...] = ()


@dataclass(frozen=True)
class ReminderDecision:
    action: DeliveryAction
    reason: SkipReason | None = None

    @property
    def send(self) -> bool:
        return self.action is DeliveryAction.SEND


SEND = ReminderDecision(DeliveryAction.SEND)
WAIT = ReminderDecision(DeliveryAction.WAIT)

_STATUSES_WITH_REMINDERS = frozenset({VisitStatus.SCHEDULED, VisitStatus.CONFIRMED})


def late_reminder_decision(
    rules: ReminderRules,
    kind: ReminderKind,
    due_at: datetime,
    now: datetime,
    visit_window_start: datetime,
    estimated_arrival: datetime | None = None,
) -> ReminderDecision:
    """SEND, WAIT (not due) or SKIP(reason) for a reminder at `now`, however late it fires.

    The evening question is useless once the confirmation deadline has passed (the heads are already
    phoning); the others are useless once the nurse is expected (estimated arrival, else the window
    start).
    """
    for name, moment in (("due_at", due_at), ("now", now), ("window start", visit_window_start)):
        _require_aware(moment, name)
    if due_at > now:
        return WAIT
    window_start = visit_window_start.astimezone(UTC)
    if kind is ReminderKind.EVENING_BEFORE_CONFIRM:
        deadline = rules.deadline_for(window_start.astimezone(rules.timezone).date())
        if now >= min(deadline, window_start):
            return ReminderDecision(DeliveryAction.SKIP, SkipReason.AFTER_CONFIRMATION_DEADLINE)
        return SEND
    if kind is ReminderKind.CONFIRMATION_DEADLINE:
        limit = window_start
    else:
        limit = window_start if estimated_arrival is None else estimated_arrival
    if now >= limit:
        return ReminderDecision(DeliveryAction.SKIP, SkipReason.VISIT_STARTED)
    return SEND


def _wanted(rules: ReminderRules, visit: VisitTiming) -> list[PlannedReminder]:
    tz = rules.timezone
    wanted: list[PlannedReminder] = []
    if visit.status is VisitStatus.SCHEDULED:
        evening = visit.day - timedelta(days=1)
        wanted.append(
            PlannedReminder(
                rules.at_local(evening, rules.evening_before),
                ReminderKind.EVENING_BEFORE_CONFIRM,
                Recipient.PATIENT,
            )
        )
        wanted.append(
            PlannedReminder(
                rules.deadline_for(visit.day), ReminderKind.CONFIRMATION_DEADLINE, Recipient.HEADS
            )
        )
    anchor = visit.anchor(tz)
    if rules.before_arrival is not None:
        wanted.append(
            PlannedReminder(
                anchor - rules.before_arrival, ReminderKind.BEFORE_ARRIVAL, Recipient.PATIENT
            )
        )
    for seq, offset in enumerate(rules.nurse_before_visit):
        wanted.append(
            PlannedReminder(anchor - offset, ReminderKind.NURSE_BEFORE_VISIT, Recipient.NURSE, seq)
        )
    return wanted


def reminders_for_visit(rules: ReminderRules, visit: VisitTiming, now: datetime) -> ReminderPlan:
    """The reminders `visit` should have as of `now`, sorted by due time.

    Reminders whose moment has passed are kept if still useful (they go out at once) and reported in
    `skipped` otherwise, so no row is created just to be skipped.
    """
    _require_aware(now, "now")
    if visit.status not in _STATUSES_WITH_REMINDERS:
        return ReminderPlan(())
    due: list[PlannedReminder] = []
    skipped: list[SkippedReminder] = []
    window_start = visit.window_start(rules.timezone)
    for reminder in _wanted(rules, visit):
        decision = late_reminder_decision(
            rules, reminder.kind, reminder.due_at, now, window_start, visit.estimated_arrival
        )
        if decision.action is DeliveryAction.SKIP:
            assert decision.reason is not None
            skipped.append(SkippedReminder(reminder, decision.reason))
        else:
            due.append(reminder)
    return ReminderPlan(tuple(sorted(due, key=_by_time)), tuple(skipped))


def expand_recipients(
    reminders: Iterable[PlannedReminder],
    recipients: Mapping[Recipient, Sequence[int | None]],
) -> list[PlannedReminder]:
    """One reminder per account: the patient and each caregiver, the assigned nurse, the heads.

    A role missing from `recipients` (e.g. no nurse assigned) gets no reminder.
    """
    return [
        replace(r, recipient_id=account)
        for r in reminders
        for account in recipients.get(r.recipient, ())
    ]


# --- moving rows on reschedule -----------------------------------------------------------------


@dataclass(frozen=True)
class ExistingReminder:
    """A stored reminder row as the diff needs it."""

    id: int
    kind: ReminderKind
    recipient: Recipient
    due_at: datetime
    status: ReminderState
    seq: int = 0
    recipient_id: int | None = None

    @property
    def key(self) -> tuple[ReminderKind, Recipient, int | None, int]:
        return (self.kind, self.recipient, self.recipient_id, self.seq)


@dataclass(frozen=True)
class ReminderMove:
    """Give row `id` a new due time. `rearm`: the row was sent/skipped/failed/cancelled before and
    goes back to pending (a reschedule needs the reminder again, for the new time)."""

    id: int
    due_at: datetime
    rearm: bool = False


@dataclass(frozen=True)
class ReminderDiff:
    create: tuple[PlannedReminder, ...]
    move: tuple[ReminderMove, ...]
    cancel: tuple[int, ...]

    @property
    def empty(self) -> bool:
        return not (self.create or self.move or self.cancel)


_HANDLED = frozenset({ReminderState.SENT, ReminderState.SKIPPED, ReminderState.FAILED})


def _pick_row(rows: list[ExistingReminder], due_at: datetime) -> ExistingReminder:
    """The row to reuse for a wanted reminder: one already right, else a pending one, else the
    latest, so each (kind, recipient) keeps one row (the database has a unique constraint)."""
    for row in rows:
        if row.due_at == due_at and row.status in _HANDLED | {ReminderState.PENDING}:
            return row
    for row in rows:
        if row.status is ReminderState.PENDING:
            return row
    return max(rows, key=lambda r: (r.due_at, r.id))


def diff_reminders(
    existing: Iterable[ExistingReminder], wanted: Iterable[PlannedReminder]
) -> ReminderDiff:
    """What to create, move and cancel so the stored rows match `wanted`.

    A wanted reminder reuses the row with the same (kind, recipient, recipient_id, seq): unchanged
    if its time is right (pending, or already sent for that time), moved if pending at another time,
    re-armed if it was handled or cancelled for another time. Pending rows nobody wants any more are
    cancelled; sent, skipped and failed rows are history and never touched otherwise.
    """
    wanted_by_key: dict[tuple[ReminderKind, Recipient, int | None, int], PlannedReminder] = {}
    for w in wanted:
        _require_aware(w.due_at, "due_at")
        if w.key in wanted_by_key:
            raise ValueError(f"reminder {w.key} wanted twice")
        wanted_by_key[w.key] = w
    rows_by_key: dict[tuple[ReminderKind, Recipient, int | None, int], list[ExistingReminder]] = {}
    for row in existing:
        rows_by_key.setdefault(row.key, []).append(row)

    create: list[PlannedReminder] = []
    move: list[ReminderMove] = []
    cancel: list[int] = []
    for key, w in wanted_by_key.items():
        rows = rows_by_key.pop(key, [])
        if not rows:
            create.append(w)
            continue
        chosen = _pick_row(rows, w.due_at)
        if chosen.status is ReminderState.PENDING:
            if chosen.due_at != w.due_at:
                move.append(ReminderMove(chosen.id, w.due_at))
        elif chosen.status is ReminderState.CANCELLED or chosen.due_at != w.due_at:
            move.append(ReminderMove(chosen.id, w.due_at, rearm=True))
        cancel.extend(r.id for r in rows if r is not chosen and r.status is ReminderState.PENDING)
    for rows in rows_by_key.values():
        cancel.extend(r.id for r in rows if r.status is ReminderState.PENDING)
    return ReminderDiff(tuple(sorted(create, key=_by_time)), tuple(move), tuple(sorted(cancel)))


__all__ = [
    "SEND",
    "WAIT",
    "DeliveryAction",
    "ExistingReminder",
    "PlannedReminder",
    "Recipient",
    "ReminderDecision",
    "ReminderDiff",
    "ReminderKind",
    "ReminderMove",
    "ReminderPlan",
    "ReminderRules",
    "ReminderState",
    "SkipReason",
    "SkippedReminder",
    "VisitTiming",
    "diff_reminders",
    "expand_recipients",
    "late_reminder_decision",
    "reminders_for_visit",
]
