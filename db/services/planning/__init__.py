"""Planning a clinic day from the database: read, solve in a worker thread, write.

The pure core (`scheduler.planner`) turns a `PlanRequest` into a `Plan`; this module builds the
request from the rows of one clinic-local day, runs the core without blocking the event loop and
without holding a transaction open, and writes the result back: a `PlanRun`, one `Route` with its
`RouteStop`s per nurse, each visit's nurse and planned times, status changes through
`db.services.visit_status.change_status` (actor: system), staff tasks for the heads, and the
messages (outbox) to families, heads and nurses.

The stages are modules of this package: `read` (the day's facts), `solve` (the request and the
core, off the event loop), `prepare` (the plan's rows, built before the write lock), `write`
(those rows executed under it), `tell` (what families and heads
hear, as outbox intents), `run` (one run, and the worker), `queue` (queued runs), `replan`
(same-day changes that queue a re-plan).

Four transactions per run, never one long one:
1. read: nurses, shifts minus leave, visits of the day, patients' positions, current routes;
2. solve (no transaction): travel matrix (OSRM when configured, else the estimate), then PyVRP in
   a child process (homecare/processes.py: PyVRP holds the GIL, a thread would stall the loop);
3. prepare (a read): a snapshot of what the rows depend on (the visits, families, nurses' accounts,
   routes, reminders), and the rows built from it in a worker thread;
4. write: re-read a fingerprint of everything the request was built from (visit statuses,
   windows, assignments, `updated_at`; nurses; leave). If anything changed meanwhile (a nurse
   pressed "Berangkat", a family cancelled), nothing is written and the day is read and solved
   again (up to `MAX_ATTEMPTS` times, the last with a short time limit). Then the snapshot is
   read again: if it changed (a family linked meanwhile), the rows are built again from it;
   then they are executed in batches, all in this one transaction.

Planning runs are queued rows (`PlanRun.status = "queued"`), written in the same transaction as
their cause — a cancelled visit (`on_visit_cancelled`), a nurse who reports sick
(`nurse_reports_sick`) or cannot make a visit (`nurse_cannot_come`), a head's `/rencana`
(`enqueue`), the nightly job — so a crash loses none. `PlanningWorker` (started by
`scheduler.jobs.JobRunner`) runs them one at a time; queued runs for the same day are merged.

How the request is built (documented for heads and developers):
* Nurses: active nurses of the clinic. Shift = `Nurse.shift_start`–`shift_end`, cut by a
  `NurseLeave` row for the day: both `available_from`/`available_until` set = a shortened shift,
  otherwise the whole day off. Declared leave counts before a head approves it, as in booking.
  Daily cap = `Nurse.daily_cap`, skills = `Nurse.skills`. No break is modelled (shifts are short).
* Visits: the day's visits in status requested/scheduled/confirmed/unplaced, plus — when the day
  is under way — those already started (on the way, arrived, done, not at home), which stay where
  they are ("pinned"). Duration and required skills from `config.services` (the visit's own
  `duration_min` when its service type is no longer configured); window = the booked window (it
  bounds the start of service); priority from the visit.
* Position: the patient's shared location (`Patient.lat/lon`). Without one, the mean position of
  the other located patients of the same kelurahan in this clinic (a centroid measured from our
  own data, not a guess), else the clinic itself; such stops are flagged "approximate" to the
  nurse.
* Preferred nurse: the nurse already assigned (once families were told a name, a re-plan keeps
  it unless the gain is worth it), else `Patient.last_nurse_id` (continuity of care).
* A nurse who said she cannot make a visit ("Tidak bisa datang", a `StaffTask` of kind
  `nurse_cannot_come`) is kept off that visit for the day: the visit requires a private skill
  token that every other nurse holds.
* Weights: `[planner] weights` multiply the core's defaults (travel 1 per second, balance 1 per
  second beyond the fair share, continuity 600 s per visit); on a day already planned the
  continuity weight is tripled, so a re-plan moves told families only for a real gain.
* Travel: `[planner] speed_kmh` and `road_factor`, or the OSRM table at `[planner] osrm_url`.
* `now`: for today, the re-plan starts at the current local time; nothing unstarted is planned
  before it. A same-day visit not yet in any route is inserted at least cost
  (`scheduler.planner.replan.insert_visit`) when the run's kind is "insert".
"""

from __future__ import annotations

from db.services.planning.queue import (
    KINDS,
    day_has_run,
    digest_key,
    digest_was_queued,
    enqueue,
    has_requests,
    nightly_run_due,
)
from db.services.planning.read import (
    ASSIGNED,
    PLANNABLE,
    STARTED,
    UNPLACEABLE,
    DayFacts,
    NurseFacts,
    VisitFacts,
    arrival_window,
    local_today,
    patient_positions,
    planner_weights,
    read_day,
)
from db.services.planning.replan import (
    SickResult,
    nurse_cannot_come,
    nurse_reports_sick,
    on_visit_cancelled,
    on_visit_moved,
    queue_urgent_insert,
    replan_after_reassign,
    replan_if_planned,
)
from db.services.planning.run import PlanningWorker, PlanOutcome, run_plan
from db.services.planning.solve import Solved, SolveOptions, build_request, current_plan, solve_day
from db.services.planning.write import FamilyNote

__all__ = [
    "ASSIGNED",
    "KINDS",
    "PLANNABLE",
    "STARTED",
    "UNPLACEABLE",
    "DayFacts",
    "FamilyNote",
    "NurseFacts",
    "PlanOutcome",
    "PlanningWorker",
    "SickResult",
    "SolveOptions",
    "Solved",
    "VisitFacts",
    "arrival_window",
    "build_request",
    "current_plan",
    "day_has_run",
    "digest_key",
    "digest_was_queued",
    "enqueue",
    "has_requests",
    "local_today",
    "nightly_run_due",
    "nurse_cannot_come",
    "nurse_reports_sick",
    "on_visit_cancelled",
    "on_visit_moved",
    "patient_positions",
    "planner_weights",
    "queue_urgent_insert",
    "read_day",
    "replan_after_reassign",
    "replan_if_planned",
    "run_plan",
    "solve_day",
]
