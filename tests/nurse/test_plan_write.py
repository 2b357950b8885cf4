"""The plan's write reads and builds its rows before it takes the write lock (planning/prepare.py):
what changes in between is not overwritten with stale rows, and a write that fails half-way
leaves nothing of the plan behind."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import pytest
import time_machine
from sqlalchemy import func, select

from bot.app import HomecareApp
from db.models import (
    Account,
    OutboxMessage,
    PatientLink,
    PlanRun,
    Reminder,
    Route,
    RouteStop,
    StaffTask,
    Visit,
    VisitStatusChange,
)
from db.services.planning import write as plan_write
from db.services.visit_status import change_status
from scheduler.visits import Actor, VisitStatus
from tests.nurse.helpers import MONDAY, Clinic, wita

NOTICES = ["plan_planned", "plan_moved", "plan_unplaced", "plan_placed_after_all"]


def between_read_and_write(monkeypatch: pytest.MonkeyPatch, change: Any) -> list[Any]:
    """Run `change()` (its own transaction) right after the rows are built, before the lock;
    returns the PlanWrite objects seen."""
    real = plan_write.PlanWrite.prepare
    writes: list[Any] = []

    async def prepare(self: Any, session: Any) -> None:
        await real(self, session)
        if not writes:
            await change()
        writes.append(self)

    monkeypatch.setattr(plan_write.PlanWrite, "prepare", prepare)
    return writes


async def notices_to(app: HomecareApp, account_id: int) -> list[OutboxMessage]:
    async with app.db.read() as s:
        return list(
            await s.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.account_id == account_id, OutboxMessage.kind.in_(NOTICES)
                )
            )
        )


async def test_a_family_linked_or_unlinked_meanwhile_is_told_as_the_links_are_at_the_write(
    app: HomecareApp,
    clinic: Clinic,
    clock: time_machine.Traveller,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gone, kept = clinic.families[0], clinic.families[1]
    newcomer: dict[str, int] = {}

    async def change() -> None:
        async with app.db.transaction() as s:
            link = await s.scalar(
                select(PatientLink).where(PatientLink.account_id == gone.account_id)
            )
            assert link is not None
            link.revoked_at = wita(MONDAY, 18).astimezone(UTC)
            account = Account(telegram_user_id=9901, chat_id=9901, first_name="Nia", language="id")
            s.add(account)
            await s.flush()
            s.add(
                PatientLink(
                    account_id=account.id, patient_id=clinic.patients[1], relation="caregiver"
                )
            )
            newcomer["id"] = account.id

    writes = between_read_and_write(monkeypatch, change)
    clock.move_to(wita(MONDAY, 18))
    [outcome] = await app.jobs.planning.nightly()
    assert outcome.status == "done", outcome
    assert outcome.attempts == 1  # the plan's inputs held: no second solve
    assert len(writes) == 1 and writes[0].rebuilt  # the rows were built again under the lock
    assert await notices_to(app, gone.account_id) == []
    [to_new] = await notices_to(app, newcomer["id"])
    assert (to_new.params or {})["visit_id"] == clinic.visits[1]
    assert len(await notices_to(app, kept.account_id)) == 1
    async with app.db.read() as s:
        recipients = set(
            await s.scalars(
                select(Reminder.recipient_account_id).where(Reminder.visit_id == clinic.visits[1])
            )
        )
        old_family = set(
            await s.scalars(
                select(Reminder.recipient_account_id).where(Reminder.visit_id == clinic.visits[0])
            )
        )
    assert newcomer["id"] in recipients and kept.account_id in recipients
    assert gone.account_id not in old_family


async def test_a_visit_cancelled_meanwhile_stays_cancelled_and_off_the_routes(
    app: HomecareApp,
    clinic: Clinic,
    clock: time_machine.Traveller,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cancelled = clinic.visits[2]
    family = clinic.families[2]

    async def change() -> None:
        async with app.db.transaction() as s:
            visit = await s.get(Visit, cancelled)
            assert visit is not None
            now = wita(MONDAY, 18).astimezone(UTC)
            await change_status(
                s,
                visit,
                VisitStatus.CANCELLED_BY_PATIENT,
                Actor.PATIENT,
                family.account_id,
                "x",
                now,
            )

    writes = between_read_and_write(monkeypatch, change)
    clock.move_to(wita(MONDAY, 18))
    [outcome] = await app.jobs.planning.nightly()
    assert outcome.status == "done", outcome
    assert outcome.attempts == 2 and len(writes) == 2  # the day changed: read and solved again
    assert outcome.assigned == len(clinic.visits) - 1
    async with app.db.read() as s:
        visit = await s.get(Visit, cancelled)
        assert visit is not None
        assert (visit.status, visit.nurse_id, visit.planned_start) == (
            "cancelled_by_patient",
            None,
            None,
        )
        assert await s.scalar(select(RouteStop).where(RouteStop.visit_id == cancelled)) is None
    assert await notices_to(app, family.account_id) == []


async def test_a_write_that_fails_half_way_leaves_no_half_plan(
    app: HomecareApp,
    clinic: Clinic,
    clock: time_machine.Traveller,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = plan_write._insert
    calls: list[int] = []

    async def insert_groups(session: Any, groups: Any) -> None:
        calls.append(len(groups))
        if any(model is Reminder for model, _ in groups):  # the last rows: all else is in
            raise RuntimeError("disk full")
        await real(session, groups)

    monkeypatch.setattr(plan_write, "_insert", insert_groups)
    clock.move_to(wita(MONDAY, 18))
    [outcome] = await app.jobs.planning.nightly()
    assert outcome.status == "failed" and "disk full" in (outcome.error or "")
    assert len(calls) >= 3  # history and notices went in before the failure
    async with app.db.read() as s:

        async def count(model: Any, *where: Any) -> int:
            return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)

        assert await count(Route) == 0
        assert await count(RouteStop) == 0
        assert await count(Reminder) == 0
        assert await count(StaffTask, StaffTask.kind == "visit_unplaced") == 0
        assert await count(OutboxMessage, OutboxMessage.kind.in_(NOTICES)) == 0
        assert await count(VisitStatusChange, VisitStatusChange.actor_role == "system") == 0
        states = set(await s.execute(select(Visit.status, Visit.nurse_id, Visit.planned_start)))
        assert states == {("requested", None, None)}
        run = await s.get(PlanRun, outcome.run_id)
        assert run is not None and run.status == "failed"
        # The heads hear that tomorrow is not planned.
        failure = await s.scalar(
            select(OutboxMessage).where(
                OutboxMessage.kind == "plan_report",
                OutboxMessage.account_id == clinic.head.account_id,
            )
        )
        assert failure is not None and (failure.params or {})["ok"] is False
