"""GET /staf: the clinic's nurses (skills, daily cap, today's visits, upcoming leave, SATUSEHAT
IHS number); POST forms change a skill or the cap with the same service calls as the bot's /staf
(audited there), or the IHS number (db/services/nurse_ihs.py).

Leave and (de)activation are in bot/web/staff_leave.py.
"""

from __future__ import annotations

from datetime import timedelta

from markupsafe import Markup
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.i18n import Translator
from bot.render.head.common import skill_word
from bot.web.context import check_csrf, hc_of, page, redirect, require_staff, today_of
from bot.web.staff_leave import NOT_OURS
from db.services import staff as staff_service
from db.services.console_auth import Staff
from db.services.nurse_ihs import IhsError, set_ihs_number
from db.types import utcnow


async def staff_page(request: Request) -> Response:
    return await _staff_page(request, await require_staff(request, head=True))


async def _staff_page(
    request: Request, head: Staff, error: str | None = None, status: int = 200
) -> Response:
    hc = hc_of(request)
    today = today_of(request, utcnow())
    async with hc.db.read() as session:
        nurses = await staff_service.list_nurses(session, head.clinic_id, today)
        leave = {
            n.nurse_id: await staff_service.leave_of(session, n.nurse_id, today) for n in nurses
        }
    tr = Translator(head.account.language)
    offered = staff_service.skills_offered(hc.config.services)
    skills = [(s, Markup(skill_word(tr, s))) for s in offered]
    q = request.query_params
    saved = q.get("ok") == "1"
    open_visits = int(q["buka"]) if q.get("buka", "").isdigit() and len(q["buka"]) < 5 else 0
    return page(
        request,
        "staff.html",
        head,
        status_code=status,
        error=error,
        nurses=nurses,
        skills=skills,
        saved=saved,
        open_visits=open_visits,
        leave=leave,
        kinds=staff_service.LEAVE_KINDS,
        today=today,
        last_day=today + timedelta(days=staff_service.LEAVE_DAYS_AHEAD),
    )


async def change(request: Request) -> Response:
    head = await require_staff(request, head=True)
    form = await check_csrf(request)
    raw = str(request.path_params.get("nurse_id", ""))
    what = str(request.path_params.get("what", ""))
    if not raw.isdigit() or len(raw) > 9 or what not in ("skill", "cap"):
        raise HTTPException(404)
    hc = hc_of(request)
    now = utcnow()
    try:
        async with hc.db.transaction(urgent=True) as session:
            if what == "skill":
                offered = staff_service.skills_offered(hc.config.services)
                await staff_service.toggle_skill(
                    session,
                    head.clinic_id,
                    int(raw),
                    str(form.get("skill", "")),
                    offered,
                    head.account,
                    now,
                )
            else:
                delta = {"+1": 1, "-1": -1}.get(str(form.get("delta", "")))
                if delta is None:
                    raise staff_service.StaffError("cap_range")
                await staff_service.change_cap(
                    session, head.clinic_id, int(raw), delta, head.account, now
                )
    except staff_service.StaffError as exc:
        if exc.code in NOT_OURS:
            raise HTTPException(403) from None
        tr = Translator(head.account.language)
        return page(
            request, "refused.html", head, status_code=409, text=tr(f"head.staff_error.{exc.code}")
        )
    return redirect(f"/staf?ok=1#n{raw}")


async def set_ihs(request: Request) -> Response:
    """A nurse's IHS number; a bad one re-shows the page with the reason (400), nothing changed."""
    head = await require_staff(request, head=True)
    form = await check_csrf(request)
    raw = str(request.path_params.get("nurse_id", ""))
    if not raw.isdigit() or len(raw) > 9:
        raise HTTPException(404)
    hc = hc_of(request)
    try:
        async with hc.db.transaction(urgent=True) as session:
            text = str(form.get("ihs", ""))[:40]
            await set_ihs_number(session, head.clinic_id, int(raw), text, head.account, utcnow())
    except IhsError as exc:
        if exc.code == "unknown_nurse":
            raise HTTPException(403) from None
        return await _staff_page(request, head, f"satusehat.ihs_error.{exc.code}", 400)
    return redirect(f"/staf?ok=1#n{raw}")


ROUTES = [
    Route("/staf", staff_page),
    Route("/staf/{nurse_id:int}/ihs", set_ihs, methods=["POST"]),
    Route("/staf/{nurse_id}/{what}", change, methods=["POST"]),
]
