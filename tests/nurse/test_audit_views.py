"""A nurse's views of patients' details go to the audit chain (issue 13 item 4): the morning
digest and /jadwal (the day's names) and every stop card (name, address, phone, complaint),
by visit id only; a digest job run twice records once."""

from __future__ import annotations

from typing import Any

import time_machine
from sqlalchemy import select

from bot.app import HomecareApp
from db.models import AuditEntry
from db.services import audit
from db.services.nurse_audit import SUBJECT_MAX, route_subjects
from tests.nurse.helpers import Clinic, plan_tuesday, routes_of, wait_for


async def _entries(app: HomecareApp, action: str) -> list[AuditEntry]:
    async with app.db.read() as s:
        return list(
            await s.scalars(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
            )
        )


def _ids(entries: list[AuditEntry]) -> list[int]:
    return [int(i) for e in entries for i in e.subject.removeprefix("visits:").split(",")]


async def test_digest_overview_and_stop_card_are_audited_by_id(
    app: HomecareApp, client: Any, clinic: Clinic, clock: time_machine.Traveller
) -> None:
    await plan_tuesday(app, clock)
    routes = await routes_of(app)
    digests = await _entries(app, audit.NURSE_ROUTE)
    assert sorted(_ids(digests)) == sorted(v for r in routes.values() for v in r)
    assert {e.actor_role for e in digests} == {"nurse"}
    assert await app.jobs.planning.morning_routes() == 0  # ran twice: nothing more recorded
    assert len(await _entries(app, audit.NURSE_ROUTE)) == len(digests)

    siti = clinic.siti.user
    await siti.send("/jadwal")
    today = await wait_for(siti, "Jadwal hari ini")
    after_overview = await _entries(app, audit.NURSE_ROUTE)
    assert _ids(after_overview[len(digests) :]) == routes[clinic.siti_id]
    await siti.press("1", message_id=today.message_id)
    await wait_for(siti, "Kunjungan 1")
    [card] = await _entries(app, audit.NURSE_STOP)
    assert card.subject == f"visit:{routes[clinic.siti_id][0]}"
    async with app.db.read() as s:
        assert (await audit.verify(s)).ok
        subjects = [e.subject for e in await s.scalars(select(AuditEntry))]
    assert not any("Ani" in x or "Jl." in x for x in subjects)  # ids only, never names


def test_route_subjects_stay_within_the_chain_limit() -> None:
    ids = list(range(100_000, 100_060))
    subjects = route_subjects(ids)
    assert len(subjects) > 1 and all(len(s) <= SUBJECT_MAX for s in subjects)
    assert [int(i) for s in subjects for i in s.removeprefix("visits:").split(",")] == ids
    assert route_subjects([]) == []
