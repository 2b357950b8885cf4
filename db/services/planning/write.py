"""Planning, stage 3: apply a solved plan to the database in the write transaction — the day's
`Route`s and `RouteStop`s, each visit's nurse and planned times, status changes (actor: system),
staff tasks for unplaced visits, reminders, and what families and the asking head are told.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from db.bulk import insert_all
from db.models import (
    Account,
    Nurse,
    OutboxMessage,
    Patient,
    PatientLink,
    PlanRun,
    Route,
    RouteStop,
    StaffTask,
    Visit,
    VisitStatusChange,
)
from db.services import outbox
from db.services.planning import tell
from db.services.planning.read import UNPLACEABLE, DayFacts, S, arrival_window, instant
from db.services.planning.solve import Solved
from db.services.reminders import sync_many
from db.services.visit_status import change_status, record_event
from homecare.config import Config
from scheduler.geo import outside_radius
from scheduler.planner import model as pm
from scheduler.reminders import Recipient
from scheduler.visits import Actor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FamilyNote:
    """One family message the run queued (tests and the head's report read these)."""

    visit_id: int
    kind: str  # "planned" | "moved" | "unplaced" | "placed_after_all"


@dataclass
class PlanWriter:
    session: AsyncSession
    config: Config
    facts: DayFacts
    solved: Solved
    run: PlanRun
    now: datetime
    notes: list[FamilyNote] = field(default_factory=list)
    changed_nurses: set[int] = field(default_factory=set)
    newly_unplaced: list[tuple[Visit, str]] = field(default_factory=list)
    patients: dict[int, Patient] = field(default_factory=dict)
    families: dict[int, list[Account]] = field(default_factory=dict)
    # Written at the end in one go (the write lock is held: a person's /help waits meanwhile).
    to_tell: list[OutboxMessage] = field(default_factory=list)
    to_remind: dict[int, Visit] = field(default_factory=dict)
    history: list[VisitStatusChange] = field(default_factory=list)

    @property
    def tz(self) -> ZoneInfo:
        return self.config.clinic.tz

    async def apply(self) -> None:
        session, facts, plan = self.session, self.facts, self.solved.plan
        ids = [int(v.id) for v in self.solved.request.visits]
        visits = {v.id: v for v in await session.scalars(select(Visit).where(Visit.id.in_(ids)))}
        nurses = {
            n.id: n
            for n in await session.scalars(select(Nurse).where(Nurse.clinic_id == facts.clinic_id))
        }
        before = {v.id: (v.nurse_id, v.planned_start) for v in visits.values()}
        await self._load_families({v.patient_id for v in visits.values()})
        old_order = {
            nid: tuple(vid for vid in order if vid in visits)
            for nid, order in facts.route_order.items()
        }
        await self._routes(visits)
        for route in plan.routes:
            nurse_id = int(route.nurse)
            for stop in route.stops:
                if stop.kind != "visit" or stop.visit is None or stop.fixed:
                    continue  # a pinned stop keeps everything it had
                visit = visits[int(stop.visit)]
                await self._assign(visit, nurses[nurse_id], stop, before[visit.id])
        for item in plan.unassigned:
            await self._unplace(visits[int(item.visit)], item.reason)
        await self._write_batches(nurses)
        new_order: dict[int, tuple[int, ...]] = {
            int(r.nurse): tuple(int(s.visit) for s in r.stops if s.visit is not None)
            for r in plan.routes
        }
        for nurse_id in set(old_order) | set(new_order):
            if old_order.get(nurse_id, ()) != new_order.get(nurse_id, ()):
                self.changed_nurses.add(nurse_id)
        await self._tell_heads()

    async def _routes(self, visits: dict[int, Visit]) -> None:
        """Replace the day's routes with the plan's (pinned stops are in the plan too; a stop of
        a visit the plan does not cover — cancelled meanwhile — goes)."""
        session, facts, plan = self.session, self.facts, self.solved.plan
        existing: dict[int, Route] = {
            r.nurse_id: r
            for r in await session.scalars(
                select(Route).where(Route.clinic_id == facts.clinic_id, Route.day == facts.day)
            )
        }
        if existing:
            ids = [r.id for r in existing.values()]
            await session.execute(
                delete(RouteStop).where(RouteStop.route_id.in_(ids)),
                execution_options={"synchronize_session": False},
            )
            for old in existing.values():  # the loaded stops are gone: forget them quietly
                for stop in old.stops:
                    session.expunge(stop)
                set_committed_value(old, "stops", [])
        stops_of: list[tuple[Route, list[RouteStop]]] = []
        for planned in plan.routes:
            nurse_id = int(planned.nurse)
            stops = [s for s in planned.stops if s.kind == "visit" and s.visit is not None]
            route = existing.pop(nurse_id, None)
            if not stops:
                if route is not None:
                    await session.delete(route)
                continue
            if route is None:
                route = Route(clinic_id=facts.clinic_id, nurse_id=nurse_id, day=facts.day)
                session.add(route)
            route.plan_run_id = self.run.id
            route.travel_s = planned.travel_s
            route.distance_m = planned.distance_m
            route.updated_at = self.now
            rows = [
                RouteStop(
                    visit_id=int(s.visit),  # type: ignore[arg-type]
                    seq=i + 1,
                    arrive=instant(facts.day, s.arrive, self.tz),
                    start=instant(facts.day, s.start, self.tz),
                    end=instant(facts.day, s.end, self.tz),
                )
                for i, s in enumerate(stops)
            ]
            stops_of.append((route, rows))
        for gone in existing.values():  # nurses the plan no longer has (whole day away)
            await session.delete(gone)
        await session.flush()  # new routes get their ids
        for route, rows in stops_of:
            for row in rows:
                row.route_id = route.id
        await insert_all(session, [row for _, rows in stops_of for row in rows])

    async def _assign(
        self,
        visit: Visit,
        nurse: Nurse,
        stop: pm.Stop,
        before: tuple[int | None, datetime | None],
    ) -> None:
        day = self.facts.day
        arrive = instant(day, stop.arrive, self.tz)
        start = instant(day, stop.start, self.tz)
        end = instant(day, stop.end, self.tz)
        was_unplaced = visit.status == S.UNPLACED.value
        if visit.status in (S.REQUESTED.value, S.UNPLACED.value):
            await change_status(
                self.session,
                visit,
                S.SCHEDULED,
                Actor.SYSTEM,
                None,
                f"plan run {self.run.id}",
                self.now,
                keep=self.history,
            )
        old_nurse, old_start = before
        visit.nurse_id = nurse.id
        visit.planned_arrival, visit.planned_start, visit.planned_end = arrive, start, end
        visit.unplaced_reason = None
        visit.updated_at = self.now
        if (old_nurse, old_start) != (nurse.id, start):
            # The family's export tells who comes and when, and every later change of it.
            detail = {"event": "plan", "nurse_id": nurse.id, "start": start.isoformat()}
            await record_event(
                self.session, visit, detail, Actor.SYSTEM, None, self.now, keep=self.history
            )
            self.to_remind[visit.id] = visit  # the "before arrival" reminder follows the time
        window = (visit.window_start, visit.window_end)
        if old_nurse == nurse.id and old_start is not None:
            low, high = arrival_window(old_start, window, self.tz)
            local = start.astimezone(self.tz).time()
            if low <= local <= high:
                return  # what the family was told still holds
        kind = "placed_after_all" if was_unplaced else ("moved" if old_start else "planned")
        self.notes.append(FamilyNote(visit.id, kind))
        self._tell_family(visit, nurse, kind)

    def _far_pin_km(self, visit: Visit, reason: str) -> float | None:
        """km from the puskesmas when the home cannot be reached and its pin lies outside the
        service radius: then the pin, not the day, is the likely cause."""
        patient = self.patients.get(visit.patient_id)
        if reason != pm.WINDOW_UNREACHABLE or patient is None:
            return None
        if patient.lat is None or patient.lon is None:
            return None
        clinic = self.config.clinic
        centre = (clinic.location.lat, clinic.location.lon)
        return outside_radius(patient.lat, patient.lon, centre, clinic.service_radius_km)

    async def _unplace(self, visit: Visit, reason: str) -> None:
        km = self._far_pin_km(visit, reason)
        if km is not None:
            reason = pm.LOCATION_FAR
        if visit.status == S.UNPLACED.value:
            visit.unplaced_reason = reason
            return
        if visit.status not in UNPLACEABLE:
            log.warning("plan run %s left visit %s (%s) out", self.run.id, visit.id, visit.status)
            return
        await change_status(
            self.session, visit, S.UNPLACED, Actor.SYSTEM, None, reason, self.now, keep=self.history
        )
        visit.unplaced_reason = reason
        visit.nurse_id = None
        visit.planned_arrival = visit.planned_start = visit.planned_end = None
        visit.updated_at = self.now
        self.newly_unplaced.append((visit, reason))
        self.notes.append(FamilyNote(visit.id, "unplaced"))
        self.to_remind[visit.id] = visit
        reached = self._tell_family(visit, None, "unplaced", reason=reason, km=km)
        if km is not None:
            await tell.tell_heads(
                self.session,
                visit.clinic_id,
                "location.head_unplaced",
                {"code": visit.code, "day": visit.day, "km": round(km, 1)},
                key=f"far-pin:{visit.id}:{visit.day.isoformat()}",
            )
        self.session.add(
            StaffTask(
                clinic_id=visit.clinic_id,
                kind="visit_unplaced",
                patient_id=visit.patient_id,
                visit_id=visit.id,
                detail=(
                    f"{visit.code} {self.facts.day.isoformat()}: {reason}"
                    + ("" if reached else " (no family account: phone)")
                )[:300],
                created_at=self.now,
            )
        )

    def _tell_family(
        self,
        visit: Visit,
        nurse: Nurse | None,
        kind: str,
        reason: str = "",
        km: float | None = None,
    ) -> bool:
        """The message to every account linked to the patient (added with the batches);
        False when there is none."""
        accounts = self.families.get(visit.patient_id, [])
        patient = self.patients.get(visit.patient_id)
        notice = tell.visit_notice(
            visit,
            patient_first_name=tell.first_name(patient.full_name if patient else None),
            nurse_first_name=tell.first_name(nurse.name) if nurse else "",
            arrival=arrival_window(
                visit.planned_start, (visit.window_start, visit.window_end), self.tz
            )
            if visit.planned_start is not None
            else None,
            reason=reason,
            km=km,
        )
        self.to_tell += tell.family_rows(visit, accounts, notice, kind, self.run.id)
        return bool(accounts)

    async def _load_families(self, patient_ids: set[int]) -> None:
        """Patients and the accounts that hear about them, in two queries for the whole day
        (the write transaction holds the database's write lock: keep it short)."""
        ids = sorted(patient_ids)
        self.patients = {
            p.id: p for p in await self.session.scalars(select(Patient).where(Patient.id.in_(ids)))
        }
        self.families = {}
        for patient_id, account in await self.session.execute(
            select(PatientLink.patient_id, Account)
            .join(Account, Account.id == PatientLink.account_id)
            .where(
                PatientLink.patient_id.in_(ids),
                PatientLink.revoked_at.is_(None),
                Account.deleted_at.is_(None),
            )
            .order_by(Account.id)
        ):
            self.families.setdefault(patient_id, []).append(account)

    async def _write_batches(self, nurses: dict[int, Nurse]) -> None:
        """The family notices and the reminders of every changed visit, with two queries and
        one flush for the whole day instead of several per visit."""
        await self.session.flush()  # the visits' new state first (history and stops refer to it)
        await insert_all(self.session, self.history)
        await outbox.add_new(self.session, self.to_tell)
        visits = list(self.to_remind.values())
        accounts = {
            a.id
            for a in await self.session.scalars(
                select(Account).where(
                    Account.id.in_([n.account_id for n in nurses.values() if n.account_id]),
                    Account.deleted_at.is_(None),
                )
            )
        }
        recipients: dict[int, dict[Recipient, list[int | None]]] = {}
        for visit in visits:
            nurse = nurses.get(visit.nurse_id) if visit.nurse_id is not None else None
            nurse_ids = [nurse.account_id] if nurse and nurse.account_id in accounts else []
            recipients[visit.id] = {
                Recipient.PATIENT: [a.id for a in self.families.get(visit.patient_id, [])],
                Recipient.NURSE: list(nurse_ids),
                Recipient.HEADS: [None],
            }
        await sync_many(self.session, visits, self.config, self.now, recipients)
        await self.session.flush()

    async def _tell_heads(self) -> None:
        """The report to whoever asked (/rencana); heads see unplaced visits as staff tasks."""
        if self.run.requested_by_account_id is None:
            return
        account = await self.session.get(Account, self.run.requested_by_account_id)
        if account is None or account.deleted_at is not None:
            return
        report = tell.report(self.facts.day, self.run.kind, self.solved.plan, self.newly_unplaced)
        await tell.tell_report(self.session, account, self.facts.clinic_id, report, self.run.id)
