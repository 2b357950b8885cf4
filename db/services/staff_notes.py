"""A head's staff changes and what the nurse hears: leave, (de)activation, her command menu.

One service call for the bot's /staf buttons and the web console's /staf page: the `staff`
functions change, audit and queue the re-plan of a planned day (whose families the re-plan
tells); this adds the intents to the nurse (`staff.leave_note`, `staff.active_note`) and, when
her roles changed, her chat's command menu (`staff.menu`), each rendered in her language at
send time.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Account
from db.services import staff
from db.services.accounts import roles_of
from db.services.patients import Notes, tell_note

# The longest span a head records in one go (each day is its own leave row, as in the bot).
MAX_LEAVE_SPAN_DAYS = 31


def leave_days(first: date, last: date, kind: str, today: date) -> list[date]:
    """The days of a span of leave, each checked by the service's rule; StaffError if not."""
    if last < first or (last - first).days >= MAX_LEAVE_SPAN_DAYS:
        raise staff.StaffError("leave_span")
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    for day in (first, last):
        staff.check_leave(day, kind, today)
    return days


async def _tell_nurse(
    session: AsyncSession,
    notes: Notes | None,
    clinic_id: int,
    account: Account | None,
    template: str,
    params: dict[str, object],
    key: str,
    *,
    kind: str = "head_notice",
    method: str = "sendMessage",
) -> None:
    if account is None or account.deleted_at is not None:
        return
    await tell_note(
        session,
        notes,
        chat_id=account.chat_id,
        template=template,
        params=params,
        kind=kind,
        method=method,
        clinic_id=clinic_id,
        account_id=account.id,
        dedupe_key=f"{key}:{account.id}",
    )


async def record_leave(
    session: AsyncSession,
    clinic_id: int,
    nurse_id: int,
    first: date,
    last: date,
    kind: str,
    head: Account,
    now: datetime,
    today: date,
    notes: Notes | None = None,
) -> list[staff.LeaveChange]:
    """`staff.record_leave` for each day from `first` to `last` (all checked before any is
    written), then one note to the nurse for the span."""
    days = leave_days(first, last, kind, today)
    changes = [
        await staff.record_leave(session, clinic_id, nurse_id, day, kind, head, now, today)
        for day in days
    ]
    params = {"first": first, "last": last, "kind": kind, "outcome": "approved"}
    key = f"leave:{nurse_id}:{first}:{last}:{int(now.timestamp())}"
    await _tell_nurse(
        session, notes, clinic_id, changes[0].account, "staff.leave_note", params, key
    )
    return changes


async def decide_leave(
    session: AsyncSession,
    clinic_id: int,
    leave_id: int,
    approve: bool,
    head: Account,
    now: datetime,
    today: date,
    notes: Notes | None = None,
) -> staff.LeaveChange:
    """`staff.decide_leave` (approve, refuse, or take back approved leave), then the note."""
    change = await staff.decide_leave(session, clinic_id, leave_id, approve, head, now, today)
    outcome = "approved" if approve else ("removed" if change.was_approved else "refused")
    params = {"first": change.day, "last": change.day, "kind": change.kind, "outcome": outcome}
    key = f"leave:{leave_id}:{outcome}:{int(now.timestamp())}"
    await _tell_nurse(session, notes, clinic_id, change.account, "staff.leave_note", params, key)
    return change


async def set_active(
    session: AsyncSession,
    clinic_id: int,
    nurse_id: int,
    active: bool,
    head: Account,
    now: datetime,
    today: date,
    notes: Notes | None = None,
) -> staff.ActiveChange:
    """`staff.set_active`, then the note to her and her chat's menu for her roles now."""
    change = await staff.set_active(session, clinic_id, nurse_id, active, head, now, today)
    account = change.account
    if account is None:
        return change
    key = f"active:{nurse_id}:{int(active)}:{int(now.timestamp())}"
    await _tell_nurse(
        session, notes, clinic_id, account, "staff.active_note", {"active": active}, key
    )
    roles = sorted(roles_of(account, clinic_id))
    await _tell_nurse(
        session,
        notes,
        clinic_id,
        account,
        "staff.menu",
        {"roles": roles},
        f"menu:{key}",
        kind="menu",
        method="setMyCommands",
    )
    return change


__all__ = ["MAX_LEAVE_SPAN_DAYS", "decide_leave", "leave_days", "record_leave", "set_active"]
