"""Download exactly what the visit log shows: the log's filter (dates, nurse, status, kelurahan,
service, search text) applied to the export tables, audited like every export."""

from __future__ import annotations

import dataclasses
import hashlib
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Account, Patient, Visit
from db.services import audit, exports
from db.services.visit_log import LogFilter, conditions


async def filtered(
    session: AsyncSession, clinic_id: int, clinic_code: str, f: LogFilter, tz: ZoneInfo
) -> exports.ExportData:
    data = await exports.load(session, clinic_id, clinic_code, f.start, f.end, tz)
    ids = set(
        await session.scalars(
            select(Visit.id)
            .join(Patient, Patient.id == Visit.patient_id)
            .where(*conditions(clinic_id, f))
        )
    )
    tables = {
        name: [row for row in rows if row.get("visit_id") in ids]
        for name, rows in data.tables.items()
    }
    niks = {vid: nik for vid, nik in data.niks.items() if vid in ids}
    return dataclasses.replace(data, tables=tables, niks=niks)


SUBJECT_MAX = 120  # AuditEntry.subject's length


def subject(f: LogFilter, fmt: str) -> str:
    """The audit subject: the range, the format and which filters were on (ids, not names)."""
    parts = [f"export:{f.start.isoformat()}..{f.end.isoformat()}:{fmt}:web"]
    for key, value in (
        ("n", f.nurse_id),
        ("s", f.status),
        ("k", f.kelurahan),
        ("v", f.service_type),
    ):
        if value is not None:
            parts.append(f"{key}={value}")
    if f.text:
        # The search text in full when it fits the subject column, else its digest (an
        # auditor holding the text can still match it); never cut.
        fits = ";".join([*parts, f"q={f.text}"])
        digest = hashlib.sha256(f.text.encode()).hexdigest()[:16]
        parts.append(f"q={f.text}" if len(fits) <= SUBJECT_MAX else f"q#sha256:{digest}")
    return ";".join(parts)[:SUBJECT_MAX]


async def record(
    session: AsyncSession, clinic_id: int, viewer: Account, role: str, f: LogFilter, fmt: str
) -> None:
    await audit.append(
        session,
        clinic_id=clinic_id,
        actor_account_id=viewer.id,
        actor_role=role,
        action=audit.EXPORT,
        subject=subject(f, fmt),
    )
