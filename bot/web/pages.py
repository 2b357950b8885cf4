"""Console pages: the head's board, visit log and visit detail; the nurse's route for today.

Each page: who is signed in (`require_staff`), one service call, one template. Views of a
patient's details are written to the audit chain by the same service calls the bot uses.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.i18n import Translator
from bot.render.route_map import MapPoint, directions_url, route_links
from bot.web.context import config_of, hc_of, page, require_staff, today_of
from bot.web.map_data import MapRoute, MapStop, map_data
from bot.web.nurse_actions import actions_for
from bot.web.reassign import choices as reassign_choices
from db.models import Nurse
from db.services import access, board, nurse_audit, visit_log
from db.services.route_digest import load_nurse_day
from db.services.visit_log import LogFilter
from db.types import utcnow
from scheduler.visits import VisitStatus

STATUSES = tuple(s.value for s in VisitStatus)


async def board_page(request: Request) -> Response:
    staff = await require_staff(request, head=True)
    hc = hc_of(request)
    async with hc.db.read() as session:
        today = await board.load(session, staff.clinic_id, utcnow(), config_of(request).clinic.tz)
    return page(request, "board.html", staff, board=today, refresh_s=60)


def _day(text: str | None, default: date) -> date | None:
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() and len(text) <= 9 else None


def log_filter(request: Request, today: date, kelurahan: tuple[str, ...]) -> LogFilter | str:
    """The filter in the query string, or the locale key saying what is wrong with it."""
    q = request.query_params
    start = _day(q.get("dari"), today - timedelta(days=6))
    end = _day(q.get("sampai"), today)
    if start is None or end is None:
        return "console.web.bad_date"
    if end < start or (end - start).days > visit_log.MAX_RANGE_DAYS:
        return "console.web.bad_range"
    text = (q.get("q") or "").strip() or None
    if text is not None and len(text) > visit_log.MAX_TEXT:
        return "staffweb.search_too_long"
    status = q.get("status") or None
    kel = q.get("kelurahan") or None
    if (status is not None and status not in STATUSES) or (
        kel is not None and kel not in kelurahan
    ):
        return "console.web.bad_filter"
    return LogFilter(
        start=start,
        end=end,
        nurse_id=_int(q.get("perawat")),
        status=status,
        kelurahan=kel,
        service_type=q.get("layanan") or None,
        text=text,
    )


async def log_page(request: Request) -> Response:
    staff = await require_staff(request, head=True)
    hc = hc_of(request)
    today = today_of(request, utcnow())
    found = log_filter(request, today, config_of(request).clinic.service_area)
    error = found if isinstance(found, str) else None
    f = found if isinstance(found, LogFilter) else LogFilter(today - timedelta(days=6), today)
    pg = _int(request.query_params.get("hal")) or 1
    async with hc.db.read() as session:
        result = await visit_log.search(session, staff.clinic_id, f, pg - 1)
        nurses = list(
            await session.execute(
                select(Nurse.id, Nurse.name)
                .where(Nurse.clinic_id == staff.clinic_id)
                .order_by(Nurse.name)
            )
        )
    query = {k: v for k, v in request.query_params.items() if k != "hal"}
    return page(
        request,
        "log.html",
        staff,
        status_code=400 if error else 200,
        error=error,
        f=f,
        result=result,
        nurses=nurses,
        statuses=STATUSES,
        kelurahan=config_of(request).clinic.service_area,
        services=hc.config.services,
        query=query,
    )


async def detail_page(request: Request) -> Response:
    staff = await require_staff(request, head=True)
    hc = hc_of(request)
    visit_id = _int(request.path_params.get("visit_id"))
    if visit_id is None:
        raise HTTPException(404)
    async with hc.db.transaction(urgent=True) as session:
        # The same record rule as the bot's visit log; the view is audited by `detail`.
        d = await visit_log.detail(
            session,
            staff.clinic_id,
            visit_id,
            config_of(request).clinic.tz,
            viewer=staff.account,
            viewer_role=staff.role,
            now=utcnow(),
        )
    if d is None:
        raise HTTPException(403)
    nurses = await reassign_choices(request, staff.clinic_id, visit_id)
    moved = request.query_params.get("dipindah") == "1"
    return page(request, "detail.html", staff, d=d, nurses=nurses, moved=moved)


async def route_page(request: Request) -> Response:
    staff = await require_staff(request, nurse=True)
    hc = hc_of(request)
    now = utcnow()
    async with hc.db.transaction(urgent=True) as session:
        nurse = await access.nurse_of(session, staff.account, staff.clinic_id)
        if nurse is None:
            raise HTTPException(403)
        day = await load_nurse_day(session, config_of(request), nurse, today_of(request, now))
        await nurse_audit.route_viewed(
            session, staff.clinic_id, staff.account.id, [s.visit_id for s in day.stops], now
        )
    clinic = MapPoint(day.clinic.lat, day.clinic.lon)
    links = route_links(clinic, [MapPoint(s.lat, s.lon) for s in day.stops])
    stop_links = {
        s.visit_id: directions_url(None, MapPoint(s.lat, s.lon), navigate=True) for s in day.stops
    }
    # Status buttons only on today's page (the services refuse another day anyway).
    actions = {s.visit_id: actions_for(s.status) for s in day.stops}
    tr = Translator(staff.account.language)
    stops = [MapStop(s.seq, s.lat, s.lon, f"{s.seq}. {s.patient_first_name}") for s in day.stops]
    route = map_data(
        hc.config.web,
        (day.clinic.lat, day.clinic.lon),
        tr("console_plan.start"),
        [MapRoute(staff.account.first_name or "", stops)],
    )
    return page(
        request,
        "route.html",
        staff,
        nurse_day=day,
        links=links,
        stop_links=stop_links,
        actions=actions,
        map=route if day.stops else None,
    )


ROUTES = [
    Route("/papan", board_page),
    Route("/kunjungan", log_page),
    Route("/kunjungan/{visit_id}", detail_page),
    Route("/rute", route_page),
]
