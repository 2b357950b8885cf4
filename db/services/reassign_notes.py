"""A head gives a visit to another nurse, and both nurses and the family hear it (intents).

One service call for the bot's buttons and the web console: `staff.reassign` moves the visit
and queues the re-plan; this adds what to tell whom (`staff.reassigned_*` templates), each in
the recipient's language at send time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Account
from db.services import staff
from db.services.patients import Notes, tell_note


def _params(done: staff.Reassigned) -> dict[str, Any]:
    v, p = done.visit, done.patient
    return {
        "visit_id": v.id,
        "code": v.code,
        "day": v.day,
        "window": [v.window_start, v.window_end],
        "service_type": v.service_type,
        "patient_first_name": (p.full_name or "").split(" ")[0] or "—",
        "kelurahan": p.kelurahan or "—",
        "nurse_first_name": done.new_nurse.name.split(" ")[0],
    }


async def reassign(
    session: AsyncSession,
    clinic_id: int,
    visit_id: int,
    nurse_id: int,
    needed: Sequence[str],
    head: Account,
    now: datetime,
    today: date,
    notes: Notes | None = None,
) -> staff.Reassigned:
    """`staff.reassign` (raises `staff.StaffError`), then the three notices."""
    done = await staff.reassign(session, clinic_id, visit_id, nurse_id, needed, head, now, today)
    params = _params(done)
    stamp = int(now.timestamp())

    async def tell(account: Account | None, template: str, kind: str = "head_notice") -> None:
        if account is None or account.deleted_at is not None:
            return
        await tell_note(
            session,
            notes,
            chat_id=account.chat_id,
            template=template,
            params=params,
            kind=kind,
            clinic_id=clinic_id,
            account_id=account.id,
            dedupe_key=f"reassigned:{visit_id}:{nurse_id}:{account.id}:{stamp}",
        )

    await tell(done.old_account, "staff.reassigned_old")
    await tell(done.new_account, "staff.reassigned_new")
    for account in done.family:
        await tell(account, "staff.reassigned_family", "visit_update")
    return done


__all__ = ["reassign"]
