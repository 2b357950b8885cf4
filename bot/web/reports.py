"""GET /laporan?p=w20270412 | m202704: the week's or month's report with its chart, the same
figures and words as the bot's /laporan (db.services.reports, bot.render.head.reports)."""

from __future__ import annotations

import asyncio
import base64

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.i18n import Translator
from bot.render.head.reports import period_label, report_chart, report_text
from bot.web.context import config_of, hc_of, page, require_staff, today_of
from bot.web.satusehat_view import last_submission
from db.services import reports
from db.types import utcnow


async def report_page(request: Request) -> Response:
    staff = await require_staff(request, head=True)
    hc = hc_of(request)
    today = today_of(request, utcnow())
    token = request.query_params.get("p", "")
    period = reports.period_from_token(token) if token else reports.week_of(today)
    error = None
    if period is None or period.start > today:
        error, period = "console.web.bad_period", reports.week_of(today)
    async with hc.db.read() as session:
        report = await reports.build(session, staff.clinic_id, period, config_of(request).clinic.tz)
        sat = await last_submission(session, config_of(request), staff.clinic_id)
    tr = Translator(staff.account.language)
    # matplotlib's Agg figure is CPU work: off the event loop the bot shares.
    chart = base64.b64encode(await asyncio.to_thread(report_chart, tr, report)).decode()
    nxt = period.next()
    kind = reports.month_of(today) if period.kind == "week" else reports.week_of(today)
    return page(
        request,
        "report.html",
        staff,
        status_code=400 if error else 200,
        error=error,
        title=period_label(tr, period),
        # Telegram's HTML subset (b, i, code): valid HTML, escaped values.
        body=Markup(report_text(tr, config_of(request), report)),
        chart=chart,
        prev=period.previous().token(),
        next=nxt.token() if nxt.start <= today else None,
        other=kind.token(),
        other_kind=kind.kind,
        sat=sat,
    )


ROUTES = [Route("/laporan", report_page)]
