"""Seeding and reading helpers for the delivery tests (import as `tests.delivery.helpers`)."""
# ruff: noqa: ASYNC109  (`timeout` here is a polling budget, not a cancellation)

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.app import HomecareApp
from bot.messages import Reply, to_payload
from db.models import (
    Account,
    AccountRole,
    Nurse,
    OutboxMessage,
    Patient,
    PatientLink,
    Reminder,
    StaffTask,
    Visit,
)
from db.services import outbox
from db.services.reminders import sync_visit_reminders
from db.session import Database
from homecare.config import Config

WITA = ZoneInfo("Asia/Makassar")
# The visit day of most tests: Tuesday 1 December 2026 (a working day, no holiday).
VISIT_DAY = date(2026, 12, 1)
_codes = itertools.count(1)


def wita(day: date, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    """A clinic-local wall time as an aware UTC datetime."""
    return datetime.combine(day, time(hh, mm, ss), tzinfo=WITA).astimezone(UTC)


@dataclass
class Person:
    user: Any  # sandbox.client.SandboxUser
    account: Account


@dataclass
class Family:
    patient: Patient
    people: list[Person]  # the patient's own account first, then caregivers


@dataclass
class Staff:
    nurse: Nurse
    nurse_person: Person
    head: Person


async def person(
    hc: HomecareApp,
    client: Any,
    name: str,
    roles: tuple[str, ...],
    language: str = "id",
    started: bool = True,
) -> Person:
    """A sandbox user (who has started the bot, unless told otherwise) with an account."""
    user = await client.user(name, language_code=language, started=started)
    async with hc.db.transaction() as s:
        account = Account(
            telegram_user_id=user.id,
            chat_id=user.id,
            first_name=user.first_name,
            language=language,
            roles=[AccountRole(clinic_id=hc.clinic_id, role=r) for r in roles],
        )
        s.add(account)
    return Person(user, account)


async def seed_staff(hc: HomecareApp, client: Any, prefix: str = "") -> Staff:
    nurse_p = await person(hc, client, f"{prefix}nurse", ("nurse",))
    head_p = await person(hc, client, f"{prefix}head", ("head",))
    async with hc.db.transaction() as s:
        nurse = Nurse(
            clinic_id=hc.clinic_id,
            account_id=nurse_p.account.id,
            name="Sri Wahyuni",
            skills=["wound", "chronic", "elderly"],
        )
        s.add(nurse)
    return Staff(nurse, nurse_p, head_p)


async def seed_family(
    hc: HomecareApp,
    client: Any,
    name: str,
    *,
    caregivers: int = 0,
    phone: str = "+6281234567890",
    self_account: bool = True,
) -> Family:
    people = []
    if self_account:
        people.append(await person(hc, client, name, ("patient",)))
    for i in range(caregivers):
        people.append(await person(hc, client, f"{name}-family{i}", ("caregiver",)))
    async with hc.db.transaction() as s:
        patient = Patient(
            clinic_id=hc.clinic_id,
            full_name=name.capitalize(),
            phone=phone,
            address="Jl. Kassi-Kassi No. 7",
            kelurahan="Kassi-Kassi",
            rt_rw="02/03",
            landmark="dekat masjid",
        )
        s.add(patient)
        await s.flush()
        for i, p in enumerate(people):
            relation = "self" if self_account and i == 0 else "caregiver"
            s.add(PatientLink(account_id=p.account.id, patient_id=patient.id, relation=relation))
    return Family(patient, people)


async def seed_visit(
    hc: HomecareApp,
    family: Family,
    *,
    now: datetime,
    day: date = VISIT_DAY,
    window: tuple[int, int] = (8, 10),
    status: str = "scheduled",
    nurse: Nurse | None = None,
    arrival: datetime | None = None,
) -> Visit:
    """A visit as the booking flow and planner leave it, with its reminders synced."""
    async with hc.db.transaction() as s:
        visit = Visit(
            clinic_id=hc.clinic_id,
            code=f"T{next(_codes):05d}",
            patient_id=family.patient.id,
            service_type="wound_care",
            day=day,
            window_start=time(window[0]),
            window_end=time(window[1]),
            duration_min=45,
            capacity_min=0,
            status=status,
            nurse_id=nurse.id if nurse else None,
            planned_arrival=arrival,
            created_at=now,
        )
        s.add(visit)
        await s.flush()
        await sync_visit_reminders(s, visit, hc.config, now)
    return visit


async def reminders_of(db: Database, visit_id: int) -> list[Reminder]:
    async with db.read() as s:
        return list(
            await s.scalars(
                select(Reminder).where(Reminder.visit_id == visit_id).order_by(Reminder.id)
            )
        )


async def tasks(db: Database) -> list[StaffTask]:
    async with db.read() as s:
        return list(await s.scalars(select(StaffTask).order_by(StaffTask.id)))


async def fresh_visit(db: Database, visit_id: int) -> Visit:
    async with db.read() as s:
        visit = await s.get(Visit, visit_id)
        assert visit is not None
        return visit


async def queue_texts(
    hc: HomecareApp,
    chat_texts: list[tuple[int, str]],
    *,
    kind: str = "reminder_test",
    account_ids: dict[int, int] | None = None,
) -> list[int]:
    """Queue one sendMessage per (chat, text) in one transaction and wake the relay."""
    ids = []
    async with hc.db.transaction() as s:
        for chat_id, text in chat_texts:
            row = await outbox.queue(
                s,
                chat_id=chat_id,
                method="sendMessage",
                payload=to_payload(chat_id, Reply(text)),
                kind=kind,
                clinic_id=hc.clinic_id,
                account_id=(account_ids or {}).get(chat_id),
            )
            assert row is not None
            ids.append(row.id)
    hc.relay.wake(ids)
    return ids


async def outbox_rows(db: Database, ids: list[int] | None = None) -> list[OutboxMessage]:
    async with db.read() as s:
        q = select(OutboxMessage).order_by(OutboxMessage.id)
        if ids is not None:
            q = q.where(OutboxMessage.id.in_(ids))
        return list(await s.scalars(q))


async def wait_until(predicate: Any, timeout: float = 30.0, every: float = 0.05) -> None:
    """Poll an async predicate until true (an AssertionError naming it after `timeout`)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        if await predicate():
            return
        if loop.time() > end:
            raise AssertionError(f"condition not met within {timeout}s: {predicate.__name__}")
        await asyncio.sleep(every)


async def settled(db: Database, ids: list[int]) -> bool:
    """Every given outbox row has a final status."""
    rows = await outbox_rows(db, ids)
    return all(r.status not in ("pending", "sending") for r in rows)


async def copies(client: Any, chat_ids: list[int]) -> Counter[str]:
    """How many times each text arrived, over the given chats (the sandbox's view)."""
    seen: Counter[str] = Counter()
    for chat_id in chat_ids:
        for m in await client.messages(chat_id):
            seen[m.plain_text] += 1
    return seen


def fast_delivery(config: Config, **changes: Any) -> Config:
    """Pacing off for tests that are not about pacing (still through the same code)."""
    import dataclasses

    values: dict[str, Any] = {
        "per_chat_interval_s": 0.01,
        "per_chat_burst": 100,
        "global_burst": 100,
    }
    values.update(changes)
    return config.replace(delivery=dataclasses.replace(config.delivery, **values))


def after(moment: datetime, **delta: float) -> datetime:
    return moment + timedelta(**delta)
