"""Erasing a person's traces beyond their own rows: raw updates, messages, files, free text.

`data_rights.delete_my_data` nulls the identity columns; the same values also sit in copies — the
raw Telegram updates of the person's chat, messages sent to them or naming them (staff notes),
files waiting to be sent (exports), planner snapshots, typed reasons and notes. This module finds
and erases those copies, and holds the retention sweep that empties raw updates and sent messages
once they are old (`[privacy] raw_retention_hours`), keeping only their ids for deduplication.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    Account,
    InboxUpdate,
    OutboxMessage,
    Patient,
    PlanRun,
    StaffTask,
    StoredFile,
    Visit,
    VisitStatusChange,
)

# Shorter values are not searched for: "3/5" or a two-letter name would match unrelated text.
MIN_VALUE_LEN = 4
ERASED = "—"
SETTLED = ("sent", "failed", "expired", "undeliverable")


@dataclass
class Traces:
    """What identifies the person (or describes their health), gathered before it is nulled."""

    texts: set[str] = field(default_factory=set)
    numbers: set[float] = field(default_factory=set)  # coordinates of the home
    user_id: int | None = None
    chat_id: int | None = None

    def add(self, *values: Any) -> None:
        for v in values:
            if isinstance(v, float):
                self.numbers.add(v)
            elif v is not None and len(str(v).strip()) >= MIN_VALUE_LEN:
                self.texts.add(str(v).strip())

    def found_in(self, value: Any) -> bool:
        return scrub(value, self) != value


def gather_patient(traces: Traces, patient: Patient) -> None:
    traces.add(
        patient.full_name,
        patient.phone,
        patient.nik,
        patient.address,
        patient.landmark,
        patient.lat,
        patient.lon,
    )
    if patient.phone and patient.phone.startswith("+"):
        traces.add(patient.phone[1:])  # Telegram's contact payload has no "+"
    if patient.birth_date is not None:
        traces.add(patient.birth_date.isoformat(), f"{patient.birth_date:%d-%m-%Y}")


def gather_visit(traces: Traces, visit: Visit) -> None:
    traces.add(visit.complaint, visit.cancel_reason)


def gather_account(traces: Traces, account: Account) -> None:
    traces.add(account.first_name, account.username)
    traces.user_id, traces.chat_id = account.telegram_user_id, account.chat_id


def scrub(value: Any, traces: Traces) -> Any:
    """`value` (JSON-like) with every trace replaced by "—" (strings) or None (coordinates)."""
    if isinstance(value, str):
        for t in traces.texts:
            if t.casefold() in value.casefold():
                value = _replace_folded(value, t)
        return value
    if isinstance(value, float):
        return None if value in traces.numbers else value
    if isinstance(value, dict):
        return {k: scrub(v, traces) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, traces) for v in value]
    return value


def _replace_folded(text: str, needle: str) -> str:
    low, n = text.casefold(), needle.casefold()
    if len(low) != len(text):  # casefold changed lengths (ß…): fall back to an exact replace
        return text.replace(needle, ERASED)
    out, i = [], 0
    while (j := low.find(n, i)) >= 0:
        out += [text[i:j], ERASED]
        i = j + len(n)
    return "".join(out) + text[i:]


def _mentions_chat(payload: Any, traces: Traces) -> bool:
    ids = {traces.user_id, traces.chat_id} - {None}
    if isinstance(payload, dict):
        if payload.get("id") in ids and ("first_name" in payload or "type" in payload):
            return True
        return any(_mentions_chat(v, traces) for v in payload.values())
    if isinstance(payload, list):
        return any(_mentions_chat(v, traces) for v in payload)
    return False


def _file_text(data: bytes) -> str:
    """The bytes, and for a zip (xlsx) its members, as text to search."""
    parts = [data.decode("utf-8", "ignore")]
    if data[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                parts += [z.read(n).decode("utf-8", "ignore") for n in z.namelist()]
        except zipfile.BadZipFile:
            pass
    return "\n".join(parts)


async def erase_copies(
    session: AsyncSession,
    traces: Traces,
    account_id: int,
    visit_ids: Iterable[int],
    patient_ids: Iterable[int],
    now: datetime,
) -> None:
    """Erase the copies of `traces` (see the module doc); the caller nulls the source rows."""
    visit_ids, patient_ids = list(visit_ids) or [0], list(patient_ids) or [0]
    await _erase_inbox(session, traces, now)
    await _erase_outbox(session, traces, account_id, now)
    await _erase_files(session, traces, account_id, now)
    # Typed free text: cancel reasons and notes in the status history, staff task details.
    await session.execute(
        update(VisitStatusChange).where(VisitStatusChange.visit_id.in_(visit_ids)).values(note=None)
    )
    await session.execute(
        update(Visit).where(Visit.id.in_(visit_ids)).values(complaint=None, cancel_reason=None)
    )
    for visit in await session.scalars(select(Visit).where(Visit.id.in_(visit_ids))):
        visit.nurse_note = scrub(visit.nurse_note, traces)
    tasks = await session.scalars(
        select(StaffTask).where(
            or_(
                StaffTask.patient_id.in_(patient_ids),
                StaffTask.visit_id.in_(visit_ids),
                StaffTask.account_id == account_id,
                StaffTask.detail.is_not(None),
            )
        )
    )
    for task in tasks:
        mine = (
            task.patient_id in patient_ids
            or task.visit_id in visit_ids
            or task.account_id == account_id
        )
        task.detail = None if mine else scrub(task.detail, traces)
    for run in await session.scalars(select(PlanRun)):
        if traces.found_in(run.request) or traces.found_in(run.result):
            run.request, run.result = scrub(run.request, traces), scrub(run.result, traces)


async def _erase_inbox(session: AsyncSession, traces: Traces, now: datetime) -> None:
    rows = await session.scalars(select(InboxUpdate).where(InboxUpdate.pruned_at.is_(None)))
    for row in rows:
        if _mentions_chat(row.payload, traces):
            # The update in hand (the "yes, delete" press) too: it is parsed already.
            row.payload = {"update_id": row.update_id}
            row.pruned_at = now
        elif traces.found_in(row.payload):
            row.payload = scrub(row.payload, traces)


async def _erase_outbox(
    session: AsyncSession, traces: Traces, account_id: int, now: datetime
) -> None:
    rows = await session.scalars(
        select(OutboxMessage).where(
            or_(OutboxMessage.pruned_at.is_(None), OutboxMessage.attachment.is_not(None))
        )
    )
    for row in rows:
        to_them = row.account_id == account_id or row.chat_id == traces.chat_id
        if row.status in SETTLED and (to_them or traces.found_in([row.payload, row.params])):
            _prune_outbox(row, now)
        elif traces.found_in([row.payload, row.params]):
            # Still to be sent (a note to staff, a reminder): sent without the person's details.
            row.payload, row.params = scrub(row.payload, traces), scrub(row.params, traces)
        if row.attachment is not None and (
            to_them or _found_in_text(_file_text(row.attachment), traces)
        ):
            row.attachment = None


def _found_in_text(text: str, traces: Traces) -> bool:
    folded = text.casefold()
    return any(t.casefold() in folded for t in traces.texts)


async def _erase_files(
    session: AsyncSession, traces: Traces, account_id: int, now: datetime
) -> None:
    doomed = [
        f.id
        for f in await session.scalars(select(StoredFile))
        if f.account_id == account_id or _found_in_text(_file_text(f.data), traces)
    ]
    if not doomed:
        return
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.file_id.in_(doomed), OutboxMessage.status == "pending")
        .values(status="expired", last_error="file erased on a deletion request")
    )
    await session.execute(
        update(OutboxMessage).where(OutboxMessage.file_id.in_(doomed)).values(file_id=None)
    )
    await session.execute(delete(StoredFile).where(StoredFile.id.in_(doomed)))


def _prune_outbox(row: OutboxMessage, now: datetime) -> None:
    row.payload = None
    row.params = None
    row.attachment = None
    row.pruned_at = now


# --- retention ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pruned:
    inbox: int
    outbox: int


async def prune(session: AsyncSession, now: datetime, retention_hours: int) -> Pruned:
    """Empty handled updates and settled messages older than the retention (ids stay)."""
    cutoff = now - timedelta(hours=retention_hours)
    inbox = list(
        await session.scalars(
            select(InboxUpdate).where(
                InboxUpdate.pruned_at.is_(None),
                InboxUpdate.status.in_(("done", "failed")),
                InboxUpdate.received_at < cutoff,
            )
        )
    )
    for row in inbox:
        row.payload = {"update_id": row.update_id}
        row.pruned_at = now
    outbox = list(
        await session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.pruned_at.is_(None),
                OutboxMessage.status.in_(SETTLED),
                OutboxMessage.created_at < cutoff,
                or_(OutboxMessage.sent_at.is_(None), OutboxMessage.sent_at < cutoff),
            )
        )
    )
    for out in outbox:
        _prune_outbox(out, now)
    await session.flush()
    return Pruned(len(inbox), len(outbox))
