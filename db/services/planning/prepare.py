"""Planning, stage 3a: the plan's rows, built before the write lock is taken.

SQLite has one writer: while the plan's write transaction runs, a person's /help waits for it
(bench/plan_loop.py). So everything the write needs beyond the solver's inputs is read into a
`Snapshot` of plain tuples in a read transaction, and `build` turns snapshot and plan into rows
(the visits' changes, route stops, history, staff tasks, family notices, reminders) — pure
Python, run in a worker thread so the event loop keeps answering people. Under the lock the
write (stage 3b, write.py) reads the snapshot again: if anything in it changed meanwhile (a
family linked, a reminder sent) the rows are built again from what the lock now holds still;
then it only executes batched statements.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.bulk import Groups, group_values
from db.models import (
    Account,
    Nurse,
    OutboxMessage,
    Patient,
    PatientLink,
    Reminder,
    Route,
    StaffTask,
    Visit,
    VisitStatusChange,
)
from db.services import outbox
from db.services.planning import tell
from db.services.planning.read import UNPLACEABLE, DayFacts, S, arrival_window, instant
from db.services.planning.solve import Solved
from db.services.reminders import follow, reminder_rules
from db.services.visit_status import event_values, moved
from homecare.config import Config
from scheduler.geo import outside_radius
from scheduler.planner import model as pm
from scheduler.reminders import (
    ExistingReminder,
    Recipient,
    ReminderKind,
    ReminderRules,
    ReminderState,
)
from scheduler.visits import Actor

log = logging.getLogger(__name__)

# What the write reads of each visit of the plan, and which of those it may change.
VISIT_COLUMNS = (
    "id",
    "clinic_id",
    "code",
    "patient_id",
    "service_type",
    "day",
    "window_start",
    "window_end",
    "status",
    "nurse_id",
    "planned_arrival",
    "planned_start",
    "planned_end",
    "unplaced_reason",
    "capacity_min",
    "confirmation",
    "updated_at",
)
_NURSE, _START = VISIT_COLUMNS.index("nurse_id"), VISIT_COLUMNS.index("planned_start")
REMINDER_COLUMNS = ("id", "visit_id", "kind", "recipient_role", "due_at", "status", "seq")


@dataclass(frozen=True)
class FamilyNote:
    """One family message the run queued (tests and the head's report read these)."""

    visit_id: int
    kind: str  # "planned" | "moved" | "unplaced" | "placed_after_all"


@dataclass(frozen=True)
class Snapshot:
    """What the plan's rows are built from besides `DayFacts` and the plan, as plain tuples
    (equal snapshots: equal rows)."""

    visits: tuple[tuple[Any, ...], ...]  # VISIT_COLUMNS of the plan's visits, by id
    patients: tuple[tuple[Any, ...], ...]  # id, full name, lat, lon
    families: tuple[tuple[int, int, int], ...]  # patient, account, chat of each live link
    nurses: tuple[tuple[int, str, int | None], ...]  # id, name, account of the clinic's nurses
    nurse_accounts: frozenset[int]  # those accounts not deleted
    routes: tuple[tuple[int, int], ...]  # id, nurse of the day's stored routes
    reminders: tuple[tuple[Any, ...], ...]  # REMINDER_COLUMNS + recipient account, by id
    taken: frozenset[str]  # the run's notice dedupe keys already in the outbox


async def read_snapshot(
    session: AsyncSession, facts: DayFacts, solved: Solved, run_id: int
) -> Snapshot:
    """A handful of column queries for the whole day (run again under the lock to compare)."""
    ids = sorted(int(v.id) for v in solved.request.visits)
    visits = tuple(
        tuple(r)
        for r in await session.execute(
            select(*(getattr(Visit, c) for c in VISIT_COLUMNS))
            .where(Visit.id.in_(ids))
            .order_by(Visit.id)
        )
    )
    patient_ids = sorted({r[3] for r in visits})
    patients = tuple(
        tuple(r)
        for r in await session.execute(
            select(Patient.id, Patient.full_name, Patient.lat, Patient.lon)
            .where(Patient.id.in_(patient_ids))
            .order_by(Patient.id)
        )
    )
    families = tuple(
        (int(p), int(a), int(c))
        for p, a, c in await session.execute(
            select(PatientLink.patient_id, Account.id, Account.chat_id)
            .join(Account, Account.id == PatientLink.account_id)
            .where(
                PatientLink.patient_id.in_(patient_ids),
                PatientLink.revoked_at.is_(None),
                Account.deleted_at.is_(None),
            )
            .order_by(Account.id, PatientLink.patient_id)
        )
    )
    nurses = tuple(
        (int(i), str(n), a)
        for i, n, a in await session.execute(
            select(Nurse.id, Nurse.name, Nurse.account_id)
            .where(Nurse.clinic_id == facts.clinic_id)
            .order_by(Nurse.id)
        )
    )
    accounts = [a for _, _, a in nurses if a]
    nurse_accounts = frozenset(
        await session.scalars(
            select(Account.id).where(Account.id.in_(accounts), Account.deleted_at.is_(None))
        )
    )
    routes = tuple(
        (int(i), int(n))
        for i, n in await session.execute(
            select(Route.id, Route.nurse_id)
            .where(Route.clinic_id == facts.clinic_id, Route.day == facts.day)
            .order_by(Route.id)
        )
    )
    reminders = tuple(
        tuple(r)
        for r in await session.execute(
            select(*(getattr(Reminder, c) for c in REMINDER_COLUMNS), Reminder.recipient_account_id)
            .where(Reminder.visit_id.in_(ids))
            .order_by(Reminder.id)
        )
    )
    family_of: dict[int, list[int]] = {}
    for patient_id, account_id, _ in families:
        family_of.setdefault(patient_id, []).append(account_id)
    keys = [tell.notice_key(run_id, r[0], a) for r in visits for a in family_of.get(r[3], [])]
    taken = frozenset(await outbox.taken_keys(session, keys))
    return Snapshot(visits, patients, families, nurses, nurse_accounts, routes, reminders, taken)


@dataclass
class Built:
    """The plan's rows, ready for the write lock (`write.execute`)."""

    old_routes: list[int] = field(default_factory=list)  # their stops go
    routes_gone: list[int] = field(default_factory=list)  # nurses the plan no longer has
    routes_kept: list[dict[str, Any]] = field(default_factory=list)  # {"id": …, column: value}
    routes_new: list[dict[str, Any]] = field(default_factory=list)
    stops: list[tuple[int, list[dict[str, Any]]]] = field(default_factory=list)  # by nurse
    visit_changes: list[dict[str, Any]] = field(default_factory=list)  # {"id": …, column: …}
    released_min: int = 0  # booked minutes unplaced visits give back to the day
    far_pins: list[tuple[int, dict[str, Any], str]] = field(default_factory=list)
    tasks: Groups = field(default_factory=list)
    history: Groups = field(default_factory=list)
    notices: Groups = field(default_factory=list)
    reminders_new: Groups = field(default_factory=list)
    reminder_changes: list[dict[str, Any]] = field(default_factory=list)
    notes: list[FamilyNote] = field(default_factory=list)
    changed_nurses: set[int] = field(default_factory=set)
    newly_unplaced: list[tuple[Visit, str]] = field(default_factory=list)


def build(
    config: Config, facts: DayFacts, solved: Solved, snap: Snapshot, run_id: int, now: datetime
) -> Built:
    """The rows the old one-visit-at-a-time write produced, from plain data (no database)."""
    return _Builder(config, facts, solved, snap, run_id, now).build()


class _Builder:
    def __init__(
        self,
        config: Config,
        facts: DayFacts,
        solved: Solved,
        snap: Snapshot,
        run_id: int,
        now: datetime,
    ) -> None:
        self.config, self.facts, self.solved, self.snap = config, facts, solved, snap
        self.run_id, self.now, self.tz = run_id, now, config.clinic.tz
        self.out = Built()
        self.before = {r[0]: r for r in snap.visits}
        # Plain copies (no ORM bookkeeping: this is the hot part); the shared helpers only read
        # and set a Visit's attributes.
        self.visits = {
            r[0]: cast(Visit, SimpleNamespace(**dict(zip(VISIT_COLUMNS, r, strict=True))))
            for r in snap.visits
        }
        self.patients = {r[0]: r for r in snap.patients}
        self.nurses = {n[0]: n for n in snap.nurses}
        self.families: dict[int, list[Account]] = {}
        for patient_id, account_id, chat_id in snap.families:
            account = cast(Account, SimpleNamespace(id=account_id, chat_id=chat_id))
            self.families.setdefault(patient_id, []).append(account)
        self.history: list[dict[str, Any]] = []
        self.tasks: list[dict[str, Any]] = []
        self.to_tell: list[dict[str, Any]] = []
        self.to_remind: dict[int, Visit] = {}

    def build(self) -> Built:
        out, plan = self.out, self.solved.plan
        old_order = {
            nid: tuple(vid for vid in order if vid in self.visits)
            for nid, order in self.facts.route_order.items()
        }
        self._routes()
        for route in plan.routes:
            for stop in route.stops:
                if stop.kind != "visit" or stop.visit is None or stop.fixed:
                    continue  # a pinned stop keeps everything it had
                self._assign(self.visits[int(stop.visit)], int(route.nurse), stop)
        for item in plan.unassigned:
            self._unplace(self.visits[int(item.visit)], item.reason)
        self._visit_changes()
        out.tasks = group_values(StaffTask, self.tasks)
        out.history = group_values(VisitStatusChange, self.history)
        out.notices = group_values(OutboxMessage, self._unseen(self.to_tell))
        self._reminders()
        new_order = {
            int(r.nurse): tuple(int(s.visit) for s in r.stops if s.visit is not None)
            for r in plan.routes
        }
        for nurse_id in set(old_order) | set(new_order):
            if old_order.get(nurse_id, ()) != new_order.get(nurse_id, ()):
                out.changed_nurses.add(nurse_id)
        return out

    def _routes(self) -> None:
        """Replace the day's routes with the plan's (pinned stops are in the plan too; a stop of
        a visit the plan does not cover — cancelled meanwhile — goes)."""
        out, facts = self.out, self.facts
        existing = {nurse_id: route_id for route_id, nurse_id in self.snap.routes}
        out.old_routes = sorted(existing.values())
        for planned in self.solved.plan.routes:
            nurse_id = int(planned.nurse)
            stops = [s for s in planned.stops if s.kind == "visit" and s.visit is not None]
            route_id = existing.pop(nurse_id, None)
            if not stops:
                if route_id is not None:
                    out.routes_gone.append(route_id)
                continue
            values = {
                "plan_run_id": self.run_id,
                "travel_s": planned.travel_s,
                "distance_m": planned.distance_m,
                "updated_at": self.now,
            }
            if route_id is None:
                out.routes_new.append(
                    {"clinic_id": facts.clinic_id, "nurse_id": nurse_id, "day": facts.day, **values}
                )
            else:
                out.routes_kept.append({"id": route_id, **values})
            rows = [
                {
                    "visit_id": int(s.visit),  # type: ignore[arg-type]
                    "seq": i + 1,
                    "arrive": instant(facts.day, s.arrive, self.tz),
                    "start": instant(facts.day, s.start, self.tz),
                    "end": instant(facts.day, s.end, self.tz),
                }
                for i, s in enumerate(stops)
            ]
            out.stops.append((nurse_id, rows))
        out.routes_gone += existing.values()  # nurses the plan no longer has (whole day away)

    def _assign(self, visit: Visit, nurse_id: int, stop: pm.Stop) -> None:
        day = self.facts.day
        arrive = instant(day, stop.arrive, self.tz)
        start = instant(day, stop.start, self.tz)
        end = instant(day, stop.end, self.tz)
        was_unplaced = visit.status == S.UNPLACED.value
        if visit.status in (S.REQUESTED.value, S.UNPLACED.value):
            self._move(visit, S.SCHEDULED, f"plan run {self.run_id}")
        old = self.before[visit.id]
        old_nurse, old_start = old[_NURSE], old[_START]
        visit.nurse_id = nurse_id
        visit.planned_arrival, visit.planned_start, visit.planned_end = arrive, start, end
        visit.unplaced_reason = None
        visit.updated_at = self.now
        if (old_nurse, old_start) != (nurse_id, start):
            # The family's export tells who comes and when, and every later change of it.
            detail = {"event": "plan", "nurse_id": nurse_id, "start": start.isoformat()}
            self.history.append(event_values(visit, detail, Actor.SYSTEM, None, self.now))
            self.to_remind[visit.id] = visit  # the "before arrival" reminder follows the time
        window = (visit.window_start, visit.window_end)
        if old_nurse == nurse_id and old_start is not None:
            low, high = arrival_window(old_start, window, self.tz)
            local = start.astimezone(self.tz).time()
            if low <= local <= high:
                return  # what the family was told still holds
        kind = "placed_after_all" if was_unplaced else ("moved" if old_start else "planned")
        self.out.notes.append(FamilyNote(visit.id, kind))
        self._tell_family(visit, self.nurses[nurse_id][1], kind)

    def _move(self, visit: Visit, target: S, note: str) -> None:
        capacity = visit.capacity_min or 0
        change, row = moved(visit, target, Actor.SYSTEM, None, note, self.now)
        if change.releases_capacity and capacity > 0:
            self.out.released_min += capacity
        self.history.append(row)

    def _far_pin_km(self, visit: Visit, reason: str) -> float | None:
        """km from the puskesmas when the home cannot be reached and its pin lies outside the
        service radius: then the pin, not the day, is the likely cause."""
        patient = self.patients.get(visit.patient_id)
        if reason != pm.WINDOW_UNREACHABLE or patient is None:
            return None
        _, _, lat, lon = patient
        if lat is None or lon is None:
            return None
        clinic = self.config.clinic
        centre = (clinic.location.lat, clinic.location.lon)
        return outside_radius(lat, lon, centre, clinic.service_radius_km)

    def _unplace(self, visit: Visit, reason: str) -> None:
        km = self._far_pin_km(visit, reason)
        if km is not None:
            reason = pm.LOCATION_FAR
        if visit.status == S.UNPLACED.value:
            visit.unplaced_reason = reason
            return
        if visit.status not in UNPLACEABLE:
            log.warning("plan run %s left visit %s (%s) out", self.run_id, visit.id, visit.status)
            return
        self._move(visit, S.UNPLACED, reason)
        visit.unplaced_reason = reason
        visit.nurse_id = None
        visit.planned_arrival = visit.planned_start = visit.planned_end = None
        visit.updated_at = self.now
        self.out.newly_unplaced.append((visit, reason))
        self.out.notes.append(FamilyNote(visit.id, "unplaced"))
        self.to_remind[visit.id] = visit
        reached = self._tell_family(visit, "", "unplaced", reason=reason, km=km)
        if km is not None:
            params = {"code": visit.code, "day": visit.day, "km": round(km, 1)}
            key = f"far-pin:{visit.id}:{visit.day.isoformat()}"
            self.out.far_pins.append((visit.clinic_id, params, key))
        detail = f"{visit.code} {self.facts.day.isoformat()}: {reason}"
        if not reached:
            detail += " (no family account: phone)"
        self.tasks.append(
            {
                "clinic_id": visit.clinic_id,
                "kind": "visit_unplaced",
                "patient_id": visit.patient_id,
                "visit_id": visit.id,
                "detail": detail[:300],
                "created_at": self.now,
            }
        )

    def _tell_family(
        self, visit: Visit, nurse_name: str, kind: str, reason: str = "", km: float | None = None
    ) -> bool:
        """The message to every account linked to the patient; False when there is none."""
        accounts = self.families.get(visit.patient_id, [])
        patient = self.patients.get(visit.patient_id)
        notice = tell.visit_notice(
            visit,
            patient_first_name=tell.first_name(patient[1] if patient else None),
            nurse_first_name=tell.first_name(nurse_name),
            arrival=arrival_window(
                visit.planned_start, (visit.window_start, visit.window_end), self.tz
            )
            if visit.planned_start is not None
            else None,
            reason=reason,
            km=km,
        )
        self.to_tell += tell.family_rows(visit, accounts, notice, kind, self.run_id)
        return bool(accounts)

    def _visit_changes(self) -> None:
        for visit_id, old in self.before.items():
            visit = self.visits[visit_id]
            change = {
                c: getattr(visit, c)
                for i, c in enumerate(VISIT_COLUMNS)
                if getattr(visit, c) != old[i]
            }
            if change:
                self.out.visit_changes.append({"id": visit_id, **change})

    def _reminders(self) -> None:
        """Each changed visit's reminders follow it (as `reminders.sync_many`)."""
        if not self.to_remind:
            return
        rules: ReminderRules = reminder_rules(self.config)
        existing: dict[int, list[ExistingReminder]] = {}
        for row_id, visit_id, kind, role, due_at, status, seq, account_id in self.snap.reminders:
            existing.setdefault(visit_id, []).append(
                ExistingReminder(
                    id=row_id,
                    kind=ReminderKind(kind),
                    recipient=Recipient(role),
                    due_at=due_at,
                    status=ReminderState(status),
                    seq=seq,
                    recipient_id=account_id,
                )
            )
        live = self.snap.nurse_accounts
        created: list[dict[str, Any]] = []
        for visit in self.to_remind.values():
            nurse = self.nurses.get(visit.nurse_id) if visit.nurse_id is not None else None
            recipients: dict[Recipient, list[int | None]] = {
                Recipient.PATIENT: [a.id for a in self.families.get(visit.patient_id, [])],
                Recipient.NURSE: [nurse[2]] if nurse and nurse[2] in live else [],
                Recipient.HEADS: [None],
            }
            new, changes = follow(rules, visit, recipients, existing.get(visit.id, []), self.now)
            created += new
            self.out.reminder_changes += changes
        self.out.reminders_new = group_values(Reminder, created)

    def _unseen(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """`outbox.add_new`'s dedupe: a key already in the outbox, or met before, goes."""
        seen = set(self.snap.taken)
        fresh: list[dict[str, Any]] = []
        for row in rows:
            key = row["dedupe_key"]
            if key is not None:
                if key in seen:
                    continue
                seen.add(key)
            fresh.append(row)
        return fresh
