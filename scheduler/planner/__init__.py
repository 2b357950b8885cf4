"""scheduler/planner: the pure visit-planning core (PlanRequest → Plan), see docs/planning.md.

No database, no Telegram: travel times and `now` come in as data; PyVRP does the search.
Import from the submodules (this package file stays empty so that importing the data classes
does not load the solver):

- `model`    the data classes (PlanRequest, Nurse, Visit, Plan, Route, Stop, …), reason codes
- `io`       parse_plan_request / PlanRequestError, request and plan ↔ JSON
- `travel`   great-circle estimate, OSRM table (async) with fallback
- `solver`   solve(), plan_totals(), run_pyvrp() (the PyVRP interface)
- `replan`   replan(), insert_visit(), pin_request(), pinned_stops()
- `checker`  check_plan() → list[Violation], independent of the solver
- `cli`      `homecare plan`
"""
