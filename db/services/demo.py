"""The demo clinic: a head and three nurses who exist as sandbox users, so a person can chat as
any of them (`homecare chat --as siti`). Idempotent: running the demo again changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Account, Nurse
from db.services.accounts import grant_role


@dataclass(frozen=True)
class DemoStaff:
    login: str  # the sandbox user name: `homecare chat --as <login>`
    name: str
    role: str
    skills: tuple[str, ...] = ()


DEMO_STAFF: tuple[DemoStaff, ...] = (
    DemoStaff("kepala", "dr. Budi Santoso", "head"),
    DemoStaff("siti", "Siti Rahmawati", "nurse", ("wound", "chronic", "elderly", "injection")),
    DemoStaff("andi", "Andi Saputra", "nurse", ("chronic", "lab", "injection", "palliative")),
    DemoStaff("rahma", "Rahma Yusuf", "nurse", ("maternal", "elderly", "wound", "injection")),
)


async def seed_demo_staff(
    session: AsyncSession,
    clinic_id: int,
    user_ids: dict[str, int],
    shift: tuple[time, time],
) -> None:
    for staff in DEMO_STAFF:
        uid = user_ids[staff.login]
        account = await session.scalar(select(Account).where(Account.telegram_user_id == uid))
        if account is None:
            account = Account(
                telegram_user_id=uid,
                chat_id=uid,
                first_name=staff.name.split()[0],
                username=staff.login,
                language="id",
                roles=[],
            )
            session.add(account)
            await session.flush()
        await grant_role(session, account, clinic_id, staff.role)
        if staff.role == "nurse":
            nurse = await session.scalar(select(Nurse).where(Nurse.account_id == account.id))
            if nurse is None:
                session.add(
                    Nurse(
                        clinic_id=clinic_id,
                        account_id=account.id,
                        name=staff.name,
                        skills=list(staff.skills),
                        daily_cap=6,
                        shift_start=shift[0],
                        shift_end=shift[1],
                        active=True,
                    )
                )
