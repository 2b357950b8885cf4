"""Reminder planning, late delivery and the row diff (tables; times written out in UTC by hand).

Reference visit: Thursday 2026-08-13, window 08:00–10:00 WITA (= 00:00–02:00 UTC, so the visit's
UTC date is the same but the reminders the evening before fall on the previous UTC day).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from scheduler.booking import WITA, TimeWindow
from scheduler.reminders import (
    SEND,
    WAIT,
    DeliveryAction,
    ExistingReminder,
    PlannedReminder,
    Recipient,
    ReminderDecision,
    ReminderDiff,
    ReminderKind,
    ReminderMove,
    ReminderPlan,
    ReminderRules,
    ReminderState,
    SkippedReminder,
    SkipReason,
    VisitTiming,
    diff_reminders,
    expand_recipients,
    late_reminder_decision,
    reminders_for_visit,
)
from scheduler.visits import VisitStatus

K = ReminderKind
R = Recipient
St = ReminderState
W8 = TimeWindow(time(8), time(10))
W12 = TimeWindow(time(12), time(14))
THU = date(2026, 8, 13)
FRI = date(2026, 8, 14)
RULES = ReminderRules()


def utc(mo: int, d: int, h: int, mi: int = 0, s: int = 0) -> datetime:
    return datetime(2026, mo, d, h, mi, s, tzinfo=UTC)


def wita(mo: int, d: int, h: int, mi: int = 0, s: int = 0) -> datetime:
    return datetime(2026, mo, d, h, mi, s, tzinfo=WITA)


def visit(
    status: VisitStatus = VisitStatus.SCHEDULED,
    day: date = THU,
    window: TimeWindow = W8,
    arrival: datetime | None = None,
) -> VisitTiming:
    return VisitTiming(day=day, window=window, status=status, estimated_arrival=arrival)


EVENING_THU = PlannedReminder(utc(8, 12, 9), K.EVENING_BEFORE_CONFIRM, R.PATIENT)  # Wed 17:00
DEADLINE_THU = PlannedReminder(utc(8, 12, 12), K.CONFIRMATION_DEADLINE, R.HEADS)  # Wed 20:00
BEFORE_THU_0840 = PlannedReminder(utc(8, 12, 23, 40), K.BEFORE_ARRIVAL, R.PATIENT)  # Thu 07:40
BEFORE_THU_0700 = PlannedReminder(utc(8, 12, 23), K.BEFORE_ARRIVAL, R.PATIENT)  # Thu 07:00


# --- rules validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"evening_before": time(20), "confirmation_deadline": time(20)},
        {"evening_before": time(21), "confirmation_deadline": time(20)},
        {"before_arrival": timedelta(0)},
        {"nurse_before_visit": (timedelta(minutes=-5),)},
        {"nurse_before_visit": (timedelta(minutes=30), timedelta(minutes=30))},
        {"evening_before": time(17, tzinfo=UTC)},
    ],
)
def test_rules_reject_bad_configuration(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ReminderRules(**kwargs)  # type: ignore[arg-type]


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        reminders_for_visit(RULES, visit(), datetime(2026, 8, 12, 18))
    with pytest.raises(ValueError):
        VisitTiming(THU, W8, VisitStatus.SCHEDULED, datetime(2026, 8, 13, 8, 40))
    with pytest.raises(ValueError):
        late_reminder_decision(
            RULES, K.BEFORE_ARRIVAL, utc(8, 12, 23), datetime(2026, 8, 13), utc(8, 13, 0)
        )


# --- which reminders ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timing", "now", "expected"),
    [
        # Planned at 18:05 Wed: the 17:00 question is already due but still useful → kept.
        (
            visit(arrival=wita(8, 13, 8, 40)),
            wita(8, 12, 18, 5),
            ReminderPlan((EVENING_THU, DEADLINE_THU, BEFORE_THU_0840)),
        ),
        # Planned a day ahead: everything in the future.
        (
            visit(arrival=wita(8, 13, 8, 40)),
            wita(8, 11, 18, 0),
            ReminderPlan((EVENING_THU, DEADLINE_THU, BEFORE_THU_0840)),
        ),
        # Without an arrival estimate the window start is the anchor.
        (visit(), wita(8, 12, 18), ReminderPlan((EVENING_THU, DEADLINE_THU, BEFORE_THU_0700))),
        # Placed by hand at 20:30 Wed: the question is useless, the heads' alert still helps.
        (
            visit(arrival=wita(8, 13, 8, 40)),
            wita(8, 12, 20, 30),
            ReminderPlan(
                (DEADLINE_THU, BEFORE_THU_0840),
                (SkippedReminder(EVENING_THU, SkipReason.AFTER_CONFIRMATION_DEADLINE),),
            ),
        ),
        # Exactly at the deadline the question is skipped.
        (
            visit(),
            wita(8, 12, 20, 0),
            ReminderPlan(
                (DEADLINE_THU, BEFORE_THU_0700),
                (SkippedReminder(EVENING_THU, SkipReason.AFTER_CONFIRMATION_DEADLINE),),
            ),
        ),
        # Thu 07:50: the window has not begun; the arrival note (due 07:40) is still useful.
        (
            visit(arrival=wita(8, 13, 8, 40)),
            wita(8, 13, 7, 50),
            ReminderPlan(
                (DEADLINE_THU, BEFORE_THU_0840),
                (SkippedReminder(EVENING_THU, SkipReason.AFTER_CONFIRMATION_DEADLINE),),
            ),
        ),
        # Thu 08:45, after the estimated arrival: nothing left to say.
        (
            visit(arrival=wita(8, 13, 8, 40)),
            wita(8, 13, 8, 45),
            ReminderPlan(
                (),
                (
                    SkippedReminder(EVENING_THU, SkipReason.AFTER_CONFIRMATION_DEADLINE),
                    SkippedReminder(DEADLINE_THU, SkipReason.VISIT_STARTED),
                    SkippedReminder(BEFORE_THU_0840, SkipReason.VISIT_STARTED),
                ),
            ),
        ),
        # Confirmed: only the arrival note.
        (
            visit(VisitStatus.CONFIRMED, arrival=wita(8, 13, 8, 40)),
            wita(8, 12, 18, 5),
            ReminderPlan((BEFORE_THU_0840,)),
        ),
        # The 12:00–14:00 window, arrival unknown: 11:00 WITA = 03:00 UTC.
        (
            visit(VisitStatus.CONFIRMED, window=W12),
            wita(8, 12, 18),
            ReminderPlan((PlannedReminder(utc(8, 13, 3), K.BEFORE_ARRIVAL, R.PATIENT),)),
        ),
        # A Monday visit: the evening question goes on Sunday; month boundary for Tue Sep 1.
        (
            visit(day=date(2026, 9, 1)),
            wita(8, 31, 18),
            ReminderPlan(
                (
                    PlannedReminder(utc(8, 31, 9), K.EVENING_BEFORE_CONFIRM, R.PATIENT),
                    PlannedReminder(utc(8, 31, 12), K.CONFIRMATION_DEADLINE, R.HEADS),
                    PlannedReminder(utc(8, 31, 23), K.BEFORE_ARRIVAL, R.PATIENT),
                )
            ),
        ),
    ],
)
def test_reminders_for_visit(timing: VisitTiming, now: datetime, expected: ReminderPlan) -> None:
    plan = reminders_for_visit(RULES, timing, now)
    assert plan == expected
    assert all(r.due_at.utcoffset() == timedelta(0) for r in plan.due)


@pytest.mark.parametrize(
    "status",
    [
        VisitStatus.REQUESTED,
        VisitStatus.ON_THE_WAY,
        VisitStatus.ARRIVED,
        VisitStatus.COMPLETED,
        VisitStatus.NOT_HOME,
        VisitStatus.CANCELLED_BY_PATIENT,
        VisitStatus.CANCELLED_BY_CLINIC,
        VisitStatus.UNPLACED,
        VisitStatus.EXPIRED,
        VisitStatus.REFERRED,
    ],
)
def test_no_reminders_outside_scheduled_and_confirmed(status: VisitStatus) -> None:
    assert reminders_for_visit(RULES, visit(status), wita(8, 11, 12)) == ReminderPlan(())


def test_nurse_reminders_and_no_patient_arrival_note() -> None:
    rules = ReminderRules(
        before_arrival=None, nurse_before_visit=(timedelta(minutes=30), timedelta(minutes=10))
    )
    plan = reminders_for_visit(
        rules, visit(VisitStatus.CONFIRMED, arrival=wita(8, 13, 8, 40)), wita(8, 12, 18)
    )
    assert plan == ReminderPlan(
        (
            PlannedReminder(utc(8, 13, 0, 10), K.NURSE_BEFORE_VISIT, R.NURSE, 0),
            PlannedReminder(utc(8, 13, 0, 30), K.NURSE_BEFORE_VISIT, R.NURSE, 1),
        )
    )


def test_custom_evening_times() -> None:
    rules = ReminderRules(evening_before=time(18, 30), confirmation_deadline=time(21, 15))
    plan = reminders_for_visit(rules, visit(), wita(8, 12, 12))
    assert plan.due[:2] == (
        PlannedReminder(utc(8, 12, 10, 30), K.EVENING_BEFORE_CONFIRM, R.PATIENT),
        PlannedReminder(utc(8, 12, 13, 15), K.CONFIRMATION_DEADLINE, R.HEADS),
    )


AMS = ZoneInfo("Europe/Amsterdam")


@pytest.mark.parametrize(
    ("day", "window", "expected_utc"),
    [
        # DST starts 2026-03-29 02:00 CET → 03:00 CEST. Evening before in CET (+1), visit in CEST.
        (
            date(2026, 3, 29),
            W8,
            [utc(3, 28, 16), utc(3, 28, 19), utc(3, 29, 5)],
        ),
        # DST ends 2026-10-25 03:00 CEST → 02:00 CET. Evening before in CEST (+2), visit in CET.
        (
            date(2026, 10, 25),
            W8,
            [utc(10, 24, 15), utc(10, 24, 18), utc(10, 25, 6)],
        ),
        # A window starting in the spring gap (02:30 does not exist) resolves as zoneinfo does
        # (fold=0 → the CET offset, i.e. 01:30 UTC); the arrival note is 60 real minutes earlier.
        (
            date(2026, 3, 29),
            TimeWindow(time(2, 30), time(4)),
            [utc(3, 28, 16), utc(3, 28, 19), utc(3, 29, 0, 30)],
        ),
    ],
)
def test_generic_zone_with_dst(day: date, window: TimeWindow, expected_utc: list[datetime]) -> None:
    rules = ReminderRules(timezone=AMS)
    plan = reminders_for_visit(rules, VisitTiming(day, window, VisitStatus.SCHEDULED), utc(1, 1, 0))
    assert [r.due_at for r in plan.due] == expected_utc
    assert [r.kind for r in plan.due] == [
        K.EVENING_BEFORE_CONFIRM,
        K.CONFIRMATION_DEADLINE,
        K.BEFORE_ARRIVAL,
    ]


# --- late delivery -----------------------------------------------------------------------------

SKIP_DEADLINE = ReminderDecision(DeliveryAction.SKIP, SkipReason.AFTER_CONFIRMATION_DEADLINE)
SKIP_STARTED = ReminderDecision(DeliveryAction.SKIP, SkipReason.VISIT_STARTED)
WINDOW_THU = wita(8, 13, 8)


@pytest.mark.parametrize(
    ("kind", "due", "now", "arrival", "expected"),
    [
        (K.EVENING_BEFORE_CONFIRM, wita(8, 12, 17), wita(8, 12, 16, 59, 59), None, WAIT),
        (K.EVENING_BEFORE_CONFIRM, wita(8, 12, 17), wita(8, 12, 17), None, SEND),
        (K.EVENING_BEFORE_CONFIRM, wita(8, 12, 17), wita(8, 12, 19, 59, 59), None, SEND),
        (K.EVENING_BEFORE_CONFIRM, wita(8, 12, 17), wita(8, 12, 20), None, SKIP_DEADLINE),
        (K.EVENING_BEFORE_CONFIRM, wita(8, 12, 17), wita(8, 13, 7), None, SKIP_DEADLINE),
        # The same instants written in UTC give the same answers.
        (K.EVENING_BEFORE_CONFIRM, utc(8, 12, 9), utc(8, 12, 11, 59, 59), None, SEND),
        (K.EVENING_BEFORE_CONFIRM, utc(8, 12, 9), utc(8, 12, 12), None, SKIP_DEADLINE),
        (K.CONFIRMATION_DEADLINE, wita(8, 12, 20), wita(8, 12, 20), None, SEND),
        (K.CONFIRMATION_DEADLINE, wita(8, 12, 20), wita(8, 13, 7, 59, 59), None, SEND),
        (K.CONFIRMATION_DEADLINE, wita(8, 12, 20), wita(8, 13, 8), None, SKIP_STARTED),
        # The estimated arrival does not extend the heads' alert: phoning is for before the window.
        (K.CONFIRMATION_DEADLINE, wita(8, 12, 20), wita(8, 13, 8, 5), wita(8, 13, 9), SKIP_STARTED),
        (K.BEFORE_ARRIVAL, wita(8, 13, 7), wita(8, 13, 7, 59), None, SEND),
        (K.BEFORE_ARRIVAL, wita(8, 13, 7), wita(8, 13, 8), None, SKIP_STARTED),
        (K.BEFORE_ARRIVAL, wita(8, 13, 7, 40), wita(8, 13, 8, 39), wita(8, 13, 8, 40), SEND),
        (
            K.BEFORE_ARRIVAL,
            wita(8, 13, 7, 40),
            wita(8, 13, 8, 40),
            wita(8, 13, 8, 40),
            SKIP_STARTED,
        ),
        (K.BEFORE_ARRIVAL, wita(8, 13, 7, 40), wita(8, 13, 7, 39), wita(8, 13, 8, 40), WAIT),
        (K.NURSE_BEFORE_VISIT, wita(8, 13, 8, 10), wita(8, 13, 8, 30), wita(8, 13, 8, 40), SEND),
        (K.NURSE_BEFORE_VISIT, wita(8, 13, 7, 30), wita(8, 13, 8, 1), None, SKIP_STARTED),
    ],
)
def test_late_reminder_decision(
    kind: ReminderKind,
    due: datetime,
    now: datetime,
    arrival: datetime | None,
    expected: ReminderDecision,
) -> None:
    decision = late_reminder_decision(RULES, kind, due, now, WINDOW_THU, arrival)
    assert decision == expected
    assert decision.send is (expected.action is DeliveryAction.SEND)


# --- recipients --------------------------------------------------------------------------------


def test_expand_recipients() -> None:
    nurse = PlannedReminder(utc(8, 13, 0, 10), K.NURSE_BEFORE_VISIT, R.NURSE)
    plan = [EVENING_THU, DEADLINE_THU, nurse]
    expanded = expand_recipients(plan, {R.PATIENT: [11, 12], R.HEADS: [None]})
    assert expanded == [
        PlannedReminder(utc(8, 12, 9), K.EVENING_BEFORE_CONFIRM, R.PATIENT, recipient_id=11),
        PlannedReminder(utc(8, 12, 9), K.EVENING_BEFORE_CONFIRM, R.PATIENT, recipient_id=12),
        DEADLINE_THU,  # heads as one group (no account id)
    ]


# --- the row diff ------------------------------------------------------------------------------


def row(
    id: int,
    reminder: PlannedReminder,
    status: ReminderState = St.PENDING,
    due: datetime | None = None,
) -> ExistingReminder:
    return ExistingReminder(
        id=id,
        kind=reminder.kind,
        recipient=reminder.recipient,
        due_at=reminder.due_at if due is None else due,
        status=status,
        seq=reminder.seq,
        recipient_id=reminder.recipient_id,
    )


EVENING_FRI = PlannedReminder(utc(8, 13, 9), K.EVENING_BEFORE_CONFIRM, R.PATIENT)
DEADLINE_FRI = PlannedReminder(utc(8, 13, 12), K.CONFIRMATION_DEADLINE, R.HEADS)
BEFORE_FRI = PlannedReminder(utc(8, 13, 23), K.BEFORE_ARRIVAL, R.PATIENT)
NURSE_7 = PlannedReminder(utc(8, 13, 0, 10), K.NURSE_BEFORE_VISIT, R.NURSE, recipient_id=7)
NURSE_9 = PlannedReminder(utc(8, 13, 0, 10), K.NURSE_BEFORE_VISIT, R.NURSE, recipient_id=9)


@pytest.mark.parametrize(
    ("existing", "wanted", "expected"),
    [
        # First planning: everything is new.
        (
            [],
            [BEFORE_THU_0700, EVENING_THU, DEADLINE_THU],
            ReminderDiff((EVENING_THU, DEADLINE_THU, BEFORE_THU_0700), (), ()),
        ),
        # Recomputed with nothing changed.
        (
            [row(1, EVENING_THU), row(2, DEADLINE_THU), row(3, BEFORE_THU_0700)],
            [EVENING_THU, DEADLINE_THU, BEFORE_THU_0700],
            ReminderDiff((), (), ()),
        ),
        # Moved from Thursday to Friday while still planned: the same rows move.
        (
            [row(1, EVENING_THU), row(2, DEADLINE_THU), row(3, BEFORE_THU_0700)],
            [EVENING_FRI, DEADLINE_FRI, BEFORE_FRI],
            ReminderDiff(
                (),
                (
                    ReminderMove(1, EVENING_FRI.due_at),
                    ReminderMove(2, DEADLINE_FRI.due_at),
                    ReminderMove(3, BEFORE_FRI.due_at),
                ),
                (),
            ),
        ),
        # Moved after the evening question was sent: that row is re-armed for the new evening.
        (
            [row(1, EVENING_THU, St.SENT), row(2, DEADLINE_THU), row(3, BEFORE_THU_0700)],
            [EVENING_FRI, DEADLINE_FRI, BEFORE_FRI],
            ReminderDiff(
                (),
                (
                    ReminderMove(1, EVENING_FRI.due_at, rearm=True),
                    ReminderMove(2, DEADLINE_FRI.due_at),
                    ReminderMove(3, BEFORE_FRI.due_at),
                ),
                (),
            ),
        ),
        # The patient confirmed: the heads' alert is cancelled, the sent question stays history.
        (
            [row(1, EVENING_THU, St.SENT), row(2, DEADLINE_THU), row(3, BEFORE_THU_0840)],
            [BEFORE_THU_0840],
            ReminderDiff((), (), (2,)),
        ),
        # A re-plan only changed the arrival estimate.
        (
            [row(1, EVENING_THU, St.SENT), row(3, BEFORE_THU_0700)],
            [EVENING_THU, BEFORE_THU_0840],
            ReminderDiff((), (ReminderMove(3, BEFORE_THU_0840.due_at),), ()),
        ),
        # Cancelled visit: pending rows go, handled rows stay.
        (
            [
                row(1, EVENING_THU, St.SENT),
                row(2, DEADLINE_THU, St.SKIPPED),
                row(3, BEFORE_THU_0700),
                row(4, NURSE_7, St.FAILED),
            ],
            [],
            ReminderDiff((), (), (3,)),
        ),
        # Another nurse: the old nurse's pending reminder goes, the new one's is created.
        ([row(5, NURSE_7)], [NURSE_9], ReminderDiff((NURSE_9,), (), (5,))),
        # A cancelled row comes back (confirmed → scheduled again) and is re-armed, not duplicated.
        (
            [row(2, DEADLINE_THU, St.CANCELLED)],
            [DEADLINE_THU],
            ReminderDiff((), (ReminderMove(2, DEADLINE_THU.due_at, rearm=True),), ()),
        ),
        # Already sent for this very time: nothing to do.
        ([row(1, EVENING_THU, St.SENT)], [EVENING_THU], ReminderDiff((), (), ())),
        # Duplicate pending rows for one reminder: keep the right one, cancel the other.
        (
            [row(3, BEFORE_THU_0700), row(4, BEFORE_THU_0840)],
            [BEFORE_THU_0840],
            ReminderDiff((), (), (3,)),
        ),
        (
            [row(3, BEFORE_THU_0700), row(4, BEFORE_THU_0700, St.SENT, due=utc(8, 1, 0))],
            [BEFORE_THU_0840],
            ReminderDiff((), (ReminderMove(3, BEFORE_THU_0840.due_at),), ()),
        ),
        # Sent at the wanted time plus a stray pending copy: the copy is cancelled.
        (
            [row(1, EVENING_THU, St.SENT), row(6, EVENING_THU, due=utc(8, 12, 10))],
            [EVENING_THU],
            ReminderDiff((), (), (6,)),
        ),
    ],
)
def test_diff_reminders(
    existing: list[ExistingReminder], wanted: list[PlannedReminder], expected: ReminderDiff
) -> None:
    diff = diff_reminders(existing, wanted)
    assert diff == expected
    assert diff.empty is (not (expected.create or expected.move or expected.cancel))


def test_diff_refuses_a_reminder_wanted_twice() -> None:
    with pytest.raises(ValueError):
        diff_reminders([], [EVENING_THU, EVENING_THU])


def test_reschedule_end_to_end_moves_rows() -> None:
    """Plan Thursday, store the rows, move the visit to Friday 12:00: every row moves."""
    first = reminders_for_visit(RULES, visit(arrival=wita(8, 13, 8, 40)), wita(8, 11, 18))
    created = diff_reminders([], first.due).create
    stored = [row(i, r) for i, r in enumerate(created, start=1)]
    moved = visit(day=FRI, window=W12, arrival=wita(8, 14, 12, 20))
    second = reminders_for_visit(RULES, moved, wita(8, 12, 9))
    diff = diff_reminders(stored, second.due)
    assert diff.create == ()
    assert diff.cancel == ()
    assert diff.move == (
        ReminderMove(1, utc(8, 13, 9)),  # Thu 17:00 WITA
        ReminderMove(2, utc(8, 13, 12)),  # Thu 20:00 WITA
        ReminderMove(3, utc(8, 14, 3, 20)),  # Fri 11:20 WITA
    )
