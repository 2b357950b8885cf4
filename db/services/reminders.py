"""Reminders owned by the database: rows follow their visit; firing one queues its message.

`sync_visit_reminders` is called after every change to a visit (booked, planned, moved,
confirmed, cancelled) in the same transaction: it asks `scheduler.reminders` which reminders the
visit should have *now* and creates, moves, re-arms or cancels rows to match. When such a
transaction commits, the job runner is told (`on_change`) and re-arms its timer, so callers need
no access to the scheduler; a periodic sweep catches rows written by other processes.

`fire_due` is the job's body: every pending row whose time has come is sent if still useful and
skipped with a recorded reason otherwise (also after the bot was down for hours). The evening
reminder asks "will you be at home?"; the confirmation-deadline row is not a message: if the visit
is still unanswered then, it becomes `unanswered`, the heads get a task (digest) and the nurse a
message. Messages are outbox rows in the same transaction, with `expires_at`: a reminder the
relay could not send before the visit began is dropped rather than sent late.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from db.bulk import insert_all
from db.models import Account, Nurse, OutboxMessage, Patient, Reminder, StaffTask, Visit
from db.services import outbox
from db.services.escalations import KIND_UNCONFIRMED
from db.services.patients import nurse_account, patient_accounts
from homecare.config import Config
from scheduler.booking import TimeWindow
from scheduler.reminders import (
    DeliveryAction,
    ExistingReminder,
    Recipient,
    ReminderKind,
    ReminderRules,
    ReminderState,
    VisitTiming,
    diff_reminders,
    expand_recipients,
    late_reminder_decision,
    reminders_for_visit,
)
from scheduler.visits import VisitStatus

# Skip reasons recorded by the service (the pure module adds its own lateness reasons).
SKIP_VISIT_CLOSED = "visit_not_planned"
SKIP_RECIPIENT_GONE = "recipient_gone"
SKIP_ANSWERED = "already_answered"

PLANNED = frozenset({VisitStatus.SCHEDULED, VisitStatus.CONFIRMED})
_CHANGED = "homecare_reminders_changed"


def reminder_rules(config: Config) -> ReminderRules:
    s = config.schedule
    before = s.reminder_before_arrival_min
    return ReminderRules(
        timezone=config.clinic.tz,
        evening_before=s.reminder_evening_at,
        confirmation_deadline=s.confirm_deadline,
        before_arrival=timedelta(minutes=before) if before > 0 else None,
        nurse_before_visit=tuple(
            timedelta(minutes=m) for m in config.delivery.nurse_before_visit_min
        ),
    )


def _window(visit: Visit) -> TimeWindow:
    return TimeWindow(visit.window_start, visit.window_end)


def window_start(visit: Visit, config: Config) -> datetime:
    return _window(visit).starts_at(visit.day, config.clinic.tz).astimezone(UTC)


def timing_of(visit: Visit) -> VisitTiming:
    return VisitTiming(
        day=visit.day,
        window=_window(visit),
        status=VisitStatus(visit.status),
        estimated_arrival=visit.planned_arrival,
    )


# --- rows follow the visit --------------------------------------------------------------------


async def recipients_of(session: AsyncSession, visit: Visit) -> dict[Recipient, list[int | None]]:
    """Who hears each reminder: the patient's and caregivers' accounts, the assigned nurse; the
    heads' deadline check is one row per visit (its outcome reaches them through the digest)."""
    family = await patient_accounts(session, visit.patient_id)
    nurse = await nurse_account(session, visit.nurse_id)
    return {
        Recipient.PATIENT: [a.id for a in family],
        Recipient.NURSE: [nurse.id] if nurse is not None else [],
        Recipient.HEADS: [None],
    }


def _existing(row: Reminder) -> ExistingReminder:
    return ExistingReminder(
        id=row.id,
        kind=ReminderKind(row.kind),
        recipient=Recipient(row.recipient_role),
        due_at=row.due_at,
        status=ReminderState(row.status),
        seq=row.seq,
        recipient_id=row.recipient_account_id,
    )


async def sync_visit_reminders(
    session: AsyncSession, visit: Visit, config: Config, now: datetime
) -> None:
    """Create, move, re-arm or cancel the visit's reminder rows to match the visit as it is now.

    Call it in the transaction that changed the visit (after the change). Idempotent.
    """
    recipients = await recipients_of(session, visit)
    rows = {
        r.id: r
        for r in await session.scalars(select(Reminder).where(Reminder.visit_id == visit.id))
    }
    if _follow(session.add, reminder_rules(config), visit, recipients, rows, now):
        await session.flush()
        session.info[_CHANGED] = True


async def sync_many(
    session: AsyncSession,
    visits: Sequence[Visit],
    config: Config,
    now: datetime,
    recipients: Mapping[int, dict[Recipient, list[int | None]]],
) -> None:
    """`sync_visit_reminders` for many visits with one query and one flush (the plan's write
    holds the write lock: keep it short). `recipients` by visit id, as `recipients_of` gives."""
    if not visits:
        return
    by_visit: dict[int, dict[int, Reminder]] = {}
    query = select(Reminder).where(Reminder.visit_id.in_([v.id for v in visits]))
    for row in await session.scalars(query):
        by_visit.setdefault(row.visit_id, {})[row.id] = row
    rules = reminder_rules(config)
    changed = False
    new: list[Reminder] = []
    for visit in visits:
        rows = by_visit.get(visit.id, {})
        changed |= _follow(new.append, rules, visit, recipients[visit.id], rows, now)
    if changed:
        await insert_all(session, new)
        await session.flush()
        session.info[_CHANGED] = True


def _follow(
    add: Callable[[Reminder], None],
    rules: ReminderRules,
    visit: Visit,
    recipients: dict[Recipient, list[int | None]],
    rows: dict[int, Reminder],
    now: datetime,
) -> bool:
    """Make `rows` (the visit's reminders) match the visit now; True if anything changed."""
    created, changes = follow(rules, visit, recipients, [_existing(r) for r in rows.values()], now)
    for values in created:
        add(Reminder(**values))
    for change in changes:
        row = rows[change["id"]]
        for key, value in change.items():
            if key != "id":
                setattr(row, key, value)
    return bool(created or changes)


def follow(
    rules: ReminderRules,
    visit: Visit,
    recipients: dict[Recipient, list[int | None]],
    existing: Iterable[ExistingReminder],
    now: datetime,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """New rows' values and changes ({"id": …, column: value}) that make `existing` match the
    visit now, without the database (the plan's write builds them before the lock)."""
    plan = reminders_for_visit(rules, timing_of(visit), now)
    wanted = expand_recipients(plan.due, recipients)
    diff = diff_reminders(existing, wanted)
    if diff.empty:
        return [], []
    created = [
        {
            "visit_id": visit.id,
            "recipient_account_id": w.recipient_id,
            "recipient_role": w.recipient.value,
            "kind": w.kind.value,
            "seq": w.seq,
            "due_at": w.due_at,
            "status": ReminderState.PENDING.value,
            "created_at": now,
        }
        for w in diff.create
    ]
    changes: list[dict[str, Any]] = []
    for move in diff.move:
        change: dict[str, Any] = {"id": move.id, "due_at": move.due_at}
        if move.rearm:
            change.update(
                status=ReminderState.PENDING.value, skip_reason=None, outbox_id=None, done_at=None
            )
        changes.append(change)
    for row_id in diff.cancel:
        changes.append({"id": row_id, "status": ReminderState.CANCELLED.value, "done_at": now})
    return created, changes


# --- telling the job runner -----------------------------------------------------------------

_listeners: list[Callable[[], None]] = []


def on_change(callback: Callable[[], None]) -> Callable[[], None]:
    """Call `callback` after each commit that changed reminder rows; returns an unsubscribe."""
    _listeners.append(callback)
    return lambda: _listeners.remove(callback) if callback in _listeners else None


def mark_changed(session: AsyncSession) -> None:
    """For code that writes Reminder rows itself: the job runner re-arms after the commit."""
    session.info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_CHANGED, False):
        for callback in list(_listeners):
            callback()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_CHANGED, None)


async def next_due(session: AsyncSession) -> datetime | None:
    result: datetime | None = await session.scalar(
        select(func.min(Reminder.due_at)).where(Reminder.status == ReminderState.PENDING.value)
    )
    return result


# --- firing ---------------------------------------------------------------------------------


@dataclass
class Fired:
    """What one `fire_due` call did."""

    sent: int = 0
    skipped: int = 0
    unanswered: int = 0  # visits that reached the confirmation deadline without an answer
    outbox_ids: list[int] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.sent + self.skipped


@dataclass
class _Context:
    session: AsyncSession
    config: Config
    rules: ReminderRules
    now: datetime
    fired: Fired
    queued: dict[str, int] = field(default_factory=dict)  # dedupe key → outbox id
    new: list[tuple[Reminder | None, OutboxMessage]] = field(default_factory=list)
    # Prefetched for the deadline rows (a batch holds the write lock: no query per row).
    nurse_accounts: dict[int, Account] = field(default_factory=dict)  # nurse id → account
    open_tasks: set[int] = field(default_factory=set)  # visits with an open "unconfirmed" task
    asked: set[int] = field(default_factory=set)  # visits whose evening question was sent


async def fire_due(
    session: AsyncSession,
    config: Config,
    now: datetime,
    limit: int = 500,
    config_for: Callable[[int], Config] | None = None,
) -> Fired:
    """Handle up to `limit` pending reminders due at `now` (oldest first). `config_for`: each
    visit's clinic's configuration (several clinics, each in its own time zone)."""
    fired = Fired()
    rows = list(
        await session.scalars(
            select(Reminder)
            .where(Reminder.status == ReminderState.PENDING.value, Reminder.due_at <= now)
            .order_by(Reminder.due_at, Reminder.id)
            .limit(limit)
        )
    )
    if not rows:
        return fired
    ctx = _Context(session, config, reminder_rules(config), now, fired)
    visits = {
        v.id: v
        for v in await session.scalars(
            select(Visit).where(Visit.id.in_({r.visit_id for r in rows}))
        )
    }
    deadlines = [
        visits[r.visit_id]
        for r in rows
        if r.kind == ReminderKind.CONFIRMATION_DEADLINE.value and r.visit_id in visits
    ]
    keys = [_dedupe_key(r) for r in rows] + [
        _unconfirmed_key(v, a) for v, a in await _deadline_recipients(ctx, deadlines)
    ]
    ctx.queued = {
        key: outbox_id
        for key, outbox_id in await session.execute(
            select(OutboxMessage.dedupe_key, OutboxMessage.id).where(
                OutboxMessage.dedupe_key.in_(keys)
            )
        )
        if key is not None
    }
    patients = {
        p.id: p
        for p in await session.scalars(
            select(Patient).where(Patient.id.in_({v.patient_id for v in visits.values()}))
        )
    }
    accounts = {
        a.id: a
        for a in await session.scalars(
            select(Account).where(
                Account.id.in_({r.recipient_account_id for r in rows if r.recipient_account_id})
            )
        )
    }
    nurse_ids = {v.nurse_id for v in visits.values() if v.nurse_id is not None}
    nurses = {n.id: n for n in await session.scalars(select(Nurse).where(Nurse.id.in_(nurse_ids)))}
    for row in rows:
        visit = visits.get(row.visit_id)
        patient = patients.get(visit.patient_id) if visit else None
        if visit is None or patient is None or VisitStatus(visit.status) not in PLANNED:
            _skip(ctx, row, SKIP_VISIT_CLOSED)
            continue
        if config_for is not None:
            ctx.config = config_for(visit.clinic_id)
            ctx.rules = reminder_rules(ctx.config)
        decision = late_reminder_decision(
            ctx.rules,
            ReminderKind(row.kind),
            row.due_at,
            now,
            window_start(visit, ctx.config),
            visit.planned_arrival,
        )
        if decision.action is DeliveryAction.WAIT:
            continue
        if decision.action is DeliveryAction.SKIP:
            _skip(ctx, row, decision.reason.value if decision.reason else "late")
            continue
        nurse = nurses.get(visit.nurse_id) if visit.nurse_id is not None else None
        if row.kind == ReminderKind.CONFIRMATION_DEADLINE.value:
            _deadline(ctx, row, visit, patient, nurse)
            continue
        account = accounts.get(row.recipient_account_id or -1)
        if account is None or account.deleted_at is not None:
            _skip(ctx, row, SKIP_RECIPIENT_GONE)
            continue
        await _send(ctx, row, visit, patient, nurse, account)
    await session.flush()
    for reminder, message in ctx.new:
        if reminder is not None:  # None: the nurse's "unconfirmed" note of a deadline row
            reminder.outbox_id = message.id
        fired.outbox_ids.append(message.id)
    return fired


def _skip(ctx: _Context, row: Reminder, reason: str) -> None:
    row.status = ReminderState.SKIPPED.value
    row.skip_reason = reason[:64]
    row.done_at = ctx.now
    ctx.fired.skipped += 1


def _answered(visit: Visit) -> bool:
    return visit.confirmation in ("yes", "no") or visit.status == VisitStatus.CONFIRMED.value


def patient_name(patient: Patient) -> str:
    return patient.full_name or "-"


def _address(patient: Patient) -> str:
    parts = [patient.address, patient.rt_rw, patient.kelurahan]
    text = ", ".join(p for p in parts if p)
    if patient.landmark:
        text += f" ({patient.landmark})"
    return text or "-"


def _dedupe_key(row: Reminder) -> str:
    # The due time is part of the key: a reminder re-armed for a new time is a new message.
    return f"reminder:{row.id}:{int(row.due_at.timestamp())}"


def _queue(
    ctx: _Context,
    row: Reminder,
    account: Account,
    template: str,
    params: dict[str, Any],
    kind: str,
    visit: Visit,
    expires_at: datetime,
) -> None:
    """Add the reminder's message (flushed with the batch, one INSERT round for all)."""
    row.status = ReminderState.SENT.value
    row.done_at = ctx.now
    ctx.fired.sent += 1
    key = _dedupe_key(row)
    if key in ctx.queued:  # already in the outbox (a run whose reminder update was lost)
        row.outbox_id = ctx.queued[key]
        return
    message = outbox.intent_row(
        chat_id=account.chat_id,
        template=template,
        params=params,
        kind=kind,
        clinic_id=visit.clinic_id,
        account_id=account.id,
        dedupe_key=key,
        expires_at=expires_at,
    )
    ctx.session.add(message)
    ctx.new.append((row, message))


async def _send(
    ctx: _Context,
    row: Reminder,
    visit: Visit,
    patient: Patient,
    nurse: Nurse | None,
    account: Account,
) -> None:
    start = window_start(visit, ctx.config)
    anchor = visit.planned_arrival or start
    window = [visit.window_start, visit.window_end]
    service = visit.service_type  # named in the recipient's language at send time
    kind = ReminderKind(row.kind)
    if kind is ReminderKind.EVENING_BEFORE_CONFIRM:
        if _answered(visit):
            _skip(ctx, row, SKIP_ANSWERED)
            return
        template = "reminders.evening_question"
        params: dict[str, Any] = {
            "visit_id": visit.id,
            "patient": patient_name(patient),
            "service": service,
            "day": visit.day,
            "window": window,
        }
        expires = min(ctx.rules.deadline_for(visit.day), start)
    elif kind is ReminderKind.BEFORE_ARRIVAL:
        template = "reminders.before_arrival"
        params = {
            "patient": patient_name(patient),
            "service": service,
            "nurse": nurse.name.split()[0] if nurse and nurse.name else None,
            "arrival": visit.planned_arrival,
            "window": window,
        }
        expires = anchor
    else:  # NURSE_BEFORE_VISIT
        template = "reminders.nurse_before_visit"
        params = {
            "patient": patient_name(patient),
            "service": service,
            "arrival": anchor,
            "address": _address(patient),
        }
        expires = anchor
    _queue(ctx, row, account, template, params, f"reminder_{kind.value}", visit, expires)


async def _deadline_recipients(
    ctx: _Context, visits: Sequence[Visit]
) -> list[tuple[Visit, Account]]:
    """Load, in three queries for the batch, what the deadline rows need: the nurses' accounts
    and the visits that already have an open "unconfirmed" task; returns (visit, nurse account)
    for the messages they may send (their dedupe keys are looked up with the batch's)."""
    if not visits:
        return []
    session = ctx.session
    nurse_ids = {v.nurse_id for v in visits if v.nurse_id is not None}
    account_of = {
        n.id: n.account_id
        for n in await session.scalars(select(Nurse).where(Nurse.id.in_(nurse_ids)))
        if n.account_id is not None
    }
    accounts = {
        a.id: a
        for a in await session.scalars(
            select(Account).where(
                Account.id.in_(set(account_of.values())), Account.deleted_at.is_(None)
            )
        )
    }
    ctx.nurse_accounts = {n: accounts[a] for n, a in account_of.items() if a in accounts}
    ctx.open_tasks = set(
        await session.scalars(
            select(StaffTask.visit_id).where(
                StaffTask.kind == KIND_UNCONFIRMED,
                StaffTask.resolved_at.is_(None),
                StaffTask.visit_id.in_({v.id for v in visits}),
            )
        )
    )
    # A visit planned after the deadline was never asked; the nurse's note must not say the family
    # "did not answer".
    ctx.asked = set(
        await session.scalars(
            select(Reminder.visit_id).where(
                Reminder.kind == ReminderKind.EVENING_BEFORE_CONFIRM.value,
                Reminder.status == ReminderState.SENT.value,
                Reminder.visit_id.in_({v.id for v in visits if v.nurse_id in ctx.nurse_accounts}),
            )
        )
    )
    return [
        (v, ctx.nurse_accounts[v.nurse_id])
        for v in visits
        if v.nurse_id is not None and v.nurse_id in ctx.nurse_accounts
    ]


def _unconfirmed_key(visit: Visit, account: Account) -> str:
    return f"unconfirmed:{visit.id}:{visit.day.isoformat()}:{account.id}"


def _deadline(
    ctx: _Context, row: Reminder, visit: Visit, patient: Patient, nurse: Nurse | None
) -> None:
    """The confirmation deadline passed: an unanswered visit is flagged for a phone call."""
    if _answered(visit):
        _skip(ctx, row, SKIP_ANSWERED)
        return
    visit.confirmation = "unanswered"
    visit.updated_at = ctx.now
    if visit.id not in ctx.open_tasks:  # as `add_task`: one open task per kind and visit
        ctx.open_tasks.add(visit.id)
        ctx.session.add(
            StaffTask(
                clinic_id=visit.clinic_id,
                kind=KIND_UNCONFIRMED,
                patient_id=patient.id,
                visit_id=visit.id,
                created_at=ctx.now,
            )
        )
    row.status = ReminderState.SENT.value
    row.done_at = ctx.now
    ctx.fired.sent += 1
    ctx.fired.unanswered += 1
    account = ctx.nurse_accounts.get(nurse.id) if nurse is not None else None
    if account is None:
        return
    key = _unconfirmed_key(visit, account)
    if key in ctx.queued:
        return
    ctx.queued[key] = -1  # a second deadline row of the visit adds nothing either
    message = outbox.intent_row(
        chat_id=account.chat_id,
        template="reminders.nurse_unconfirmed",
        params={
            "patient": patient_name(patient),
            "service": visit.service_type,
            "day": visit.day,
            "window": [visit.window_start, visit.window_end],
            "phone": patient.phone,
            "asked": visit.id in ctx.asked,
        },
        kind="nurse_unconfirmed",
        clinic_id=visit.clinic_id,
        account_id=account.id,
        dedupe_key=key,
        expires_at=window_start(visit, ctx.config),
    )
    ctx.session.add(message)
    ctx.new.append((None, message))
