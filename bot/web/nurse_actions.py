"""The nurse's status buttons on /rute: the same service calls as the bot's stop card
(`db.services.nurse_visits`), so the family hears the same thing whichever she pressed.

POST /rute/<visit>/<action> with the form's CSRF token; "not home" asks "sure?" first, as in
the bot. The visit must be assigned to her (`access.nurse_visit`), else 403.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.i18n import Translator
from bot.render.nurse import refusal_text
from bot.web.context import check_csrf, config_of, hc_of, page, redirect, require_staff
from db.services import access, nurse_visits
from db.types import utcnow

OPEN = ("scheduled", "confirmed")
ACTIONS = ("go", "arr", "done", "nh")


def actions_for(status: str) -> tuple[str, ...]:
    """The buttons a stop shows today, by its status (as the bot's stop card)."""
    if status in OPEN:
        return ("go", "arr", "nh")
    if status == "on_the_way":
        return ("arr", "nh")
    if status == "arrived":
        return ("done", "nh")
    return ()


async def stop_action(request: Request) -> Response:
    staff = await require_staff(request, nurse=True)
    form = await check_csrf(request)
    action = str(request.path_params["action"])
    visit_id = str(request.path_params["visit_id"])
    if action not in ACTIONS or not visit_id.isdigit() or len(visit_id) > 9:
        raise HTTPException(404)
    if action == "nh" and form.get("sure") != "yes":
        return await _confirm(request, int(visit_id))
    hc = hc_of(request)
    now = utcnow()
    async with hc.db.transaction(urgent=True) as session:
        nurse = await access.nurse_of(session, staff.account, staff.clinic_id)
        visit = await access.nurse_visit(session, staff.account, staff.clinic_id, int(visit_id))
        if nurse is None or visit is None:
            raise HTTPException(403)
        account, config = staff.account, config_of(request)
        if action == "go":
            result = await nurse_visits.depart(session, config, nurse, account, visit, now)
        elif action == "arr":
            result = await nurse_visits.arrive(session, config, account, visit, now)
        elif action == "done":
            result = await nurse_visits.complete(
                session, config, nurse, account, visit, now, note=None, vitals=None
            )
        else:
            result = await nurse_visits.not_home(session, config, nurse, account, visit, now)
    # The family's message is in the outbox now: let the relay send it at once.
    hc.relay.wake()
    if not result.ok:
        tr = Translator(staff.account.language)
        return page(request, "refused.html", staff, status_code=409, text=refusal_text(tr, result))
    return redirect(f"/rute#v{visit_id}")


async def _confirm(request: Request, visit_id: int) -> Response:
    staff = await require_staff(request, nurse=True)
    async with hc_of(request).db.read() as session:
        visit = await access.nurse_visit(session, staff.account, staff.clinic_id, visit_id)
    if visit is None:
        raise HTTPException(403)
    return page(request, "not_home.html", staff, visit_id=visit_id)


ROUTES = [Route("/rute/{visit_id}/{action}", stop_action, methods=["POST"])]
