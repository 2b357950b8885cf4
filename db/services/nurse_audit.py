"""A nurse's views of patients' details, written to the audit chain (ids only, never names).

A stop card shows a patient's name, address, phone and complaint; a route (the morning digest,
/jadwal, /besok) shows the day's names and services. Each is recorded as the nurse's view, so a
head can answer "who saw this family's data".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from db.services import audit

SUBJECT_MAX = 120


async def stop_viewed(
    session: AsyncSession, clinic_id: int, account_id: int, visit_id: int, now: datetime
) -> None:
    await audit.append(
        session,
        clinic_id=clinic_id,
        actor_account_id=account_id,
        actor_role="nurse",
        action=audit.NURSE_STOP,
        subject=f"visit:{visit_id}",
        at=now,
    )


def route_subjects(visit_ids: Sequence[int]) -> list[str]:
    """ "visits:1,2,3" subjects, split so none is longer than the chain allows."""
    subjects: list[str] = []
    current = ""
    for vid in visit_ids:
        piece = str(vid)
        candidate = f"{current},{piece}" if current else f"visits:{piece}"
        if len(candidate) > SUBJECT_MAX:
            subjects.append(current)
            candidate = f"visits:{piece}"
        current = candidate
    if current:
        subjects.append(current)
    return subjects


async def route_viewed(
    session: AsyncSession,
    clinic_id: int,
    account_id: int,
    visit_ids: Sequence[int],
    now: datetime,
) -> None:
    for subject in route_subjects(visit_ids):
        await audit.append(
            session,
            clinic_id=clinic_id,
            actor_account_id=account_id,
            actor_role="nurse",
            action=audit.NURSE_ROUTE,
            subject=subject,
            at=now,
        )
