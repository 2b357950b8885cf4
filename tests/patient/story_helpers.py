"""Read-back helpers shared by the family story tests (tests/patient/test_stories_*.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.app import HomecareApp
from db.models import (
    Account,
)
from tests.patient.helpers import (
    HEAD_USER_ID,
    failed_updates,
)


async def rows(hc: HomecareApp, model: Any, *where: Any) -> list[Any]:
    async with hc.db.read() as session:
        return list(await session.scalars(select(model).where(*where)))


async def account_of(hc: HomecareApp, telegram_id: int) -> Account:
    [account] = await rows(hc, Account, Account.telegram_user_id == telegram_id)
    return account


async def head_user(client: Any) -> Any:
    return await client.user("kepala", user_id=HEAD_USER_ID, started=True)


async def no_failures(hc: HomecareApp) -> None:
    assert await failed_updates(hc) == []
