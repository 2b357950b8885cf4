"""The day's capacity counter on the services level: built from nurses' shifts and leave, kept
up to date when staffing changes, and days offered only with a nurse who has the skill."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, time

from sqlalchemy import select

from db.models import Account, DayCapacity, Nurse, NurseLeave, Patient, PatientLink
from db.services.accounts import ensure_clinic
from db.services.booking import (
    book_visit,
    days_for_service,
    duty_by_day,
    recompute_day_capacity,
    remaining_by_day,
)
from db.session import Database
from homecare.config import Config
from scheduler.booking import TimeWindow
from tests.patient.helpers import NOW, TUESDAY

WEDNESDAY = date(2026, 11, 11)
W8 = TimeWindow(time(8), time(10))


async def clinic(db: Database, config: Config) -> tuple[int, list[int], tuple[int, int]]:
    """Two nurses 08:00–14:00: Ana (wound care only) and Bea (injections only); one patient."""
    async with db.transaction() as session:
        c = config.clinic
        clinic_id = await ensure_clinic(session, c.code, c.name, c.timezone)
        ana = Nurse(clinic_id=clinic_id, name="Ana", skills=["wound"], active=True)
        bea = Nurse(clinic_id=clinic_id, name="Bea", skills=["injection"], active=True)
        for n in (ana, bea):
            n.shift_start, n.shift_end = time(8), time(14)
        account = Account(telegram_user_id=1, chat_id=1, first_name="K")
        patient = Patient(clinic_id=clinic_id, full_name="P", kelurahan="Tidung")
        session.add_all([ana, bea, account, patient])
        await session.flush()
        session.add(PatientLink(account_id=account.id, patient_id=patient.id, relation="self"))
        return clinic_id, [ana.id, bea.id], (account.id, patient.id)


async def test_shifts_and_leave_make_the_day(
    database: Database, make_config: Callable[..., Config]
) -> None:
    config = make_config()
    clinic_id, (ana, bea), _ = await clinic(database, config)
    async with database.transaction() as session:
        session.add(NurseLeave(nurse_id=ana, day=TUESDAY, kind="leave"))
        session.add(
            NurseLeave(
                nurse_id=bea,
                day=WEDNESDAY,
                kind="training",
                available_from=time(10),
                available_until=time(14),
            )
        )
    async with database.read() as session:
        duties = await duty_by_day(session, clinic_id, [TUESDAY, WEDNESDAY])
        remaining = await remaining_by_day(session, config, clinic_id, [TUESDAY, WEDNESDAY])
    assert [d.nurse_id for d in duties[TUESDAY]] == [bea]
    assert [(d.nurse_id, d.shift.start, d.shift.end) for d in duties[WEDNESDAY]] == [
        (ana, time(8), time(14)),
        (bea, time(10), time(14)),
    ]
    # 6 h × 75 % = 270 min for a full shift; 4 h × 75 % = 180 min.
    assert remaining == {TUESDAY: 270, WEDNESDAY: 450}


async def test_a_day_is_offered_only_with_a_nurse_who_has_the_skill(
    database: Database, make_config: Callable[..., Config]
) -> None:
    config = make_config()
    clinic_id, (ana, _), _ = await clinic(database, config)
    async with database.transaction() as session:
        session.add(NurseLeave(nurse_id=ana, day=TUESDAY, kind="sick"))
    wound, injection = config.service("wound_care"), config.service("injection")
    assert wound is not None and injection is not None
    async with database.read() as session:
        wound_days = await days_for_service(session, config, clinic_id, wound, NOW)
        injection_days = await days_for_service(session, config, clinic_id, injection, NOW)
    assert TUESDAY not in wound_days and WEDNESDAY in wound_days
    assert TUESDAY in injection_days


async def test_the_counter_follows_staffing_changes(
    database: Database, make_config: Callable[..., Config]
) -> None:
    config = make_config()
    clinic_id, (ana, bea), (account_id, patient_id) = await clinic(database, config)
    wound = config.service("wound_care")
    assert wound is not None
    async with database.transaction() as session:
        outcome = await book_visit(
            session,
            config=config,
            clinic_id=clinic_id,
            account_id=account_id,
            patient_id=patient_id,
            service=wound,
            complaint=None,
            day=TUESDAY,
            window=W8,
            now=NOW,
        )
        assert outcome.ok
    async with database.read() as session:
        [row] = list(await session.scalars(select(DayCapacity)))
    assert (row.total_min, row.remaining_min) == (540, 495)
    # Bea is given Tuesday off after the counter exists: Tuesday now has Ana's 270 minutes,
    # 45 of them booked. The read path sees it at once, the counter when next touched.
    async with database.transaction() as session:
        session.add(NurseLeave(nurse_id=bea, day=TUESDAY, kind="leave", approved=True))
    async with database.read() as session:
        assert (await remaining_by_day(session, config, clinic_id, [TUESDAY]))[TUESDAY] == 225
    async with database.transaction() as session:
        assert await recompute_day_capacity(session, config, clinic_id, TUESDAY, NOW) == 225
    async with database.read() as session:
        [row] = list(await session.scalars(select(DayCapacity)))
    assert (row.total_min, row.remaining_min) == (270, 225)
    # A nurse deactivated: nothing left that day beyond what is booked.
    async with database.transaction() as session:
        nurse = await session.get(Nurse, ana)
        assert nurse is not None
        nurse.active = False
    async with database.transaction() as session:
        assert await recompute_day_capacity(session, config, clinic_id, TUESDAY, NOW) == 0
