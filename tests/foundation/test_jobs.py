"""Jobs wired by build_application: registered with safe defaults; the idle-conversation sweep."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from bot.app import HomecareApp
from db.models import Conversation
from db.types import utcnow


async def test_jobs_are_registered_without_a_misfire_grace(app: HomecareApp) -> None:
    jobs = {job.id: job for job in app.jobs.scheduler.get_jobs()}
    assert "conversations:expire" in jobs
    for job in jobs.values():
        # None: a job that became late still runs (APScheduler's default of 1 s drops it).
        assert job.misfire_grace_time is None, job.id
        assert job.coalesce, job.id


async def test_idle_conversation_ends_with_a_message(app: HomecareApp, client: Any) -> None:
    ani = await client.user("ani")
    await ani.send("/start")  # a newcomer is asked for consent: a conversation starts
    await ani.wait_messages(1)
    async with app.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(Conversation)) == 1

    assert await app.jobs.conversations.sweep(utcnow() + timedelta(minutes=5)) == 0
    ended = await app.jobs.conversations.sweep(utcnow() + timedelta(minutes=31))
    assert ended == 1
    (note,) = await ani.wait_messages(1)
    assert note.text
    async with app.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(Conversation)) == 0
