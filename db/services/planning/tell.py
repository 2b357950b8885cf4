"""Planning: what a run tells families and heads, recorded as intents.

The texts are rendered at send time by the templates in `bot/templates/nurse.py`, in the
recipient's language of that moment; the parameters here are plain values (ids, names, times).
Kinds and dedupe keys are those the outbox has always had for these messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Account, Visit
from db.services import outbox
from db.services.patients import head_accounts
from scheduler.planner import model as pm


def first_name(name: str | None) -> str:
    return (name or "").split()[0] if (name or "").strip() else ""


def visit_notice(
    visit: Visit,
    *,
    patient_first_name: str,
    nurse_first_name: str,
    arrival: tuple[time, time] | None,
    reason: str = "",
    km: float | None = None,
) -> dict[str, Any]:
    """What a family hears about a planned (or unplaced) visit: the template's parameters."""
    return {
        "visit_id": visit.id,
        "patient_id": visit.patient_id,
        "code": visit.code,
        "service_type": visit.service_type,
        "day": visit.day,
        "patient_first_name": patient_first_name,
        "nurse_first_name": nurse_first_name,
        "arrival": list(arrival) if arrival is not None else None,
        "reason": reason,
        "km": round(km, 1) if km is not None else None,
    }


def notice_key(run_id: int, visit_id: int, account_id: int) -> str:
    return f"plan:{run_id}:{visit_id}:{account_id}"


def family_rows(
    visit: Visit,
    accounts: Sequence[Account],
    notice: dict[str, Any],
    kind: str,
    run_id: int,
) -> list[dict[str, Any]]:
    """The notice to every account linked to the patient, as outbox rows' values (the write
    adds them all at once, deduplicated by run, visit and account)."""
    template = "nurse.visit_unplaced" if kind == "unplaced" else "nurse.visit_planned"
    return [
        outbox.intent_values(
            chat_id=account.chat_id,
            template=template,
            params={**notice, "kind": kind},
            kind=f"plan_{kind}",
            clinic_id=visit.clinic_id,
            account_id=account.id,
            dedupe_key=notice_key(run_id, visit.id, account.id),
        )
        for account in accounts
    ]


def report(
    day: date, kind: str, plan: pm.Plan, unplaced: Sequence[tuple[Visit, str]]
) -> dict[str, Any]:
    """A done run's report to the head who asked (parameters of "nurse.plan_report")."""
    t = plan.totals
    return {
        "day": day,
        "kind": kind,
        "ok": True,
        "visits": t.visits,
        "assigned": t.assigned,
        "unassigned": t.unassigned,
        "nurses_used": t.nurses_used,
        "travel_min": round(t.travel_s / 60),
        "distance_km": round(t.distance_m / 1000, 1),
        "unplaced": [[v.code, reason] for v, reason in unplaced],
    }


def failure(day: date, kind: str, error: str) -> dict[str, Any]:
    return {"day": day, "kind": kind, "ok": False, "error": error}


async def tell_report(
    session: AsyncSession, account: Account, clinic_id: int, params: dict[str, Any], run_id: int
) -> None:
    await outbox.tell(
        session,
        chat_id=account.chat_id,
        template="nurse.plan_report",
        params=params,
        kind="plan_report",
        clinic_id=clinic_id,
        account_id=account.id,
        dedupe_key=f"plan-report:{run_id}:{account.id}",
    )


async def tell_heads(
    session: AsyncSession, clinic_id: int, template: str, params: dict[str, Any], key: str
) -> None:
    """A staff alert to every head of the clinic, once per head and `key`."""
    for head in await head_accounts(session, clinic_id):
        await outbox.tell(
            session,
            chat_id=head.chat_id,
            template=template,
            params=params,
            kind="staff_alert",
            clinic_id=clinic_id,
            account_id=head.id,
            dedupe_key=f"{key}:{head.id}",
        )
