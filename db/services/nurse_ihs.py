"""A nurse's SATUSEHAT IHS number, set by a head on the console or by the operator's
`homecare nurse-ihs`: checked (11 digits), unique within the clinic, audited.

Bad input raises IhsError with a code (`satusehat.ihs_error.<code>` for people) and changes
nothing. The audit row names the nurse, never the number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Account, Nurse
from db.services import audit
from homecare.errors import HomecareError
from homecare.satusehat import parse_ihs_number


class IhsError(HomecareError):
    """format | taken | unknown_nurse"""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(code)


@dataclass(frozen=True)
class IhsSet:
    nurse_id: int
    name: str
    ihs_number: str | None


async def set_ihs_number(
    session: AsyncSession,
    clinic_id: int,
    nurse_id: int,
    text: str,
    actor: Account | None,
    now: datetime,
) -> IhsSet:
    """Record `text` as the nurse's IHS number ("" removes it). `actor` None: the operator."""
    number = parse_ihs_number(text)
    if number is None:
        raise IhsError("format")
    nurse = await session.get(Nurse, nurse_id)
    if nurse is None or nurse.clinic_id != clinic_id:
        raise IhsError("unknown_nurse")
    if number:
        other = await session.scalar(
            select(Nurse.id).where(
                Nurse.clinic_id == clinic_id, Nurse.ihs_number == number, Nurse.id != nurse.id
            )
        )
        if other is not None:
            raise IhsError("taken")
    nurse.ihs_number = number or None
    await audit.append(
        session,
        clinic_id=clinic_id,
        actor_account_id=actor.id if actor else None,
        actor_role="head" if actor else "system",
        action=audit.NURSE_CHANGED,
        subject=f"nurse:{nurse.id}:ihs",
        at=now,
    )
    return IhsSet(nurse.id, nurse.name, nurse.ihs_number)
