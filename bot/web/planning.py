"""The head's planning page: GET /rencana?hari=DATE shows the day's routes per nurse (map + list),
the visits left without a nurse and the last run; POST /rencana (CSRF) runs a plan.

Running is the bot's /rencana: `planning.enqueue` queues a manual run that the planning worker
(the same one the nightly job uses) solves off the event loop, so the console keeps answering.
A second run while one is queued or running is refused; the page refreshes itself meanwhile.
"""

from __future__ import annotations

from datetime import date, datetime

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.i18n import Translator
from bot.render.formats import day_long
from bot.render.nurse import reason_label
from bot.web.context import check_csrf, config_of, hc_of, page, redirect, require_staff, today_of
from bot.web.map_data import MapRoute, MapStop, colour, map_data
from db.services import plan_view
from db.services.booking import load_rules
from db.services.console_auth import Staff
from db.types import utcnow
from scheduler.booking import next_working_day
from scheduler.plan_day import plan_day_refusal

REFRESH_S = 3


def _day(text: object) -> date | None:
    try:
        return date.fromisoformat(str(text or ""))
    except ValueError:
        return None


async def _default_day(request: Request, staff: Staff, now: datetime) -> date:
    """The next working day, by the same rules (holidays, closures) as the bot's /rencana."""
    hc = hc_of(request)
    async with hc.db.read() as session:
        rules = await load_rules(session, config_of(request), staff.clinic_id, now)
    return next_working_day(rules, today_of(request, now))


async def _show(
    request: Request, staff: Staff, day: date, *, error: str = "", status_code: int = 200
) -> Response:
    hc = hc_of(request)
    tz = config_of(request).clinic.tz
    async with hc.db.read() as session:
        view = await plan_view.load(session, config_of(request), staff.clinic_id, day)
    tr = Translator(staff.account.language)
    routes = [
        MapRoute(r.nurse_name, [MapStop(s.seq, s.lat, s.lon, _label(s)) for s in r.stops])
        for r in view.routes
    ]
    loc = config_of(request).clinic.location
    data = map_data(hc.config.web, (loc.lat, loc.lon), tr("console_plan.start"), routes)
    return page(
        request,
        "planning.html",
        staff,
        status_code=status_code,
        view=view,
        map=data if any(r.stops for r in view.routes) else None,
        colour=colour,
        local=lambda dt: dt.astimezone(tz),
        reason=lambda code: Markup(reason_label(tr, code)),
        error=error,
        started=request.query_params.get("mulai") == "1",
        refresh_s=REFRESH_S if view.busy else None,
    )


def _label(s: plan_view.PlanStop) -> str:
    return f"{s.seq}. {s.patient_first_name} {s.start.strftime('%H:%M') if s.start else ''}"


async def plan_page(request: Request) -> Response:
    staff = await require_staff(request, head=True)
    asked = request.query_params.get("hari")
    day = _day(asked) if asked else await _default_day(request, staff, utcnow())
    if day is None:
        tr = Translator(staff.account.language)
        default = await _default_day(request, staff, utcnow())
        return await _show(
            request, staff, default, error=tr("console_plan.bad_date"), status_code=400
        )
    return await _show(request, staff, day)


async def run_plan(request: Request) -> Response:
    staff = await require_staff(request, head=True)
    form = await check_csrf(request)
    hc = hc_of(request)
    tr = Translator(staff.account.language)
    now = utcnow()
    day = _day(form.get("hari"))
    if day is None:
        default = await _default_day(request, staff, now)
        return await _show(
            request, staff, default, error=tr("console_plan.bad_date"), status_code=400
        )
    async with hc.db.transaction(urgent=True) as session:
        rules = await load_rules(session, config_of(request), staff.clinic_id, now)
        refusal = plan_day_refusal(rules, today_of(request, now), day)
        busy = None
        if refusal is None:
            try:
                await plan_view.request_run(session, staff.clinic_id, day, staff.account.id, now)
            except plan_view.PlanBusy as exc:
                busy = exc.run
    if refusal is not None:
        text = tr(f"console_plan.{refusal}", day=day_long(tr, day))
        return await _show(request, staff, day, error=text, status_code=400)
    if busy is not None:
        at = busy.started_at.astimezone(config_of(request).clinic.tz).strftime("%H:%M")
        return await _show(
            request, staff, day, error=tr("console_plan.busy", at=at), status_code=409
        )
    return redirect(f"/rencana?hari={day.isoformat()}&mulai=1")


ROUTES = [
    Route("/rencana", plan_page),
    Route("/rencana", run_plan, methods=["POST"]),
]
