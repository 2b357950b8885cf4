"""Reassign a visit from its detail page: POST /kunjungan/<visit>/pindah (nurse, CSRF).

The same service call as the bot's buttons (`reassign_notes.reassign`): the stop moves, the day
is re-planned, both nurses and the family are told. A refusal is shown in the head's words.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.i18n import Translator
from bot.web.context import check_csrf, hc_of, page, redirect, require_staff, today_of
from db.services import access, reassign_notes, staff
from db.types import utcnow


def _id(text: object) -> int | None:
    s = str(text or "")
    return int(s) if s.isdigit() and len(s) <= 9 else None


async def choices(request: Request, clinic_id: int, visit_id: int) -> list[tuple[int, str]]:
    """The nurses who could take the visit now (empty when it cannot be reassigned)."""
    hc = hc_of(request)
    async with hc.db.read() as session:
        visit = await access.head_visit(session, clinic_id, visit_id)
        if visit is None or not staff.can_reassign(
            visit.status, visit.day, today_of(request, utcnow())
        ):
            return []
        service = hc.config.service(visit.service_type)
        needed = service.skills if service else ()
        return [
            (n.id, n.name)
            for n, ok in await staff.candidates(session, clinic_id, visit, needed)
            if ok
        ]


async def reassign(request: Request) -> Response:
    head = await require_staff(request, head=True)
    form = await check_csrf(request)
    visit_id = _id(request.path_params.get("visit_id"))
    nurse_id = _id(form.get("perawat"))
    if visit_id is None:
        raise HTTPException(404)
    hc = hc_of(request)
    now = utcnow()
    tr = Translator(head.account.language)
    if nurse_id is None:
        return page(
            request, "refused.html", head, status_code=400, text=tr("console.web.pick_nurse")
        )
    try:
        async with hc.db.transaction(urgent=True) as session:
            visit = await access.head_visit(session, head.clinic_id, visit_id)
            if visit is None:
                raise HTTPException(403)
            service = hc.config.service(visit.service_type)
            await reassign_notes.reassign(
                session,
                head.clinic_id,
                visit_id,
                nurse_id,
                service.skills if service else (),
                head.account,
                now,
                today_of(request, now),
            )
    except staff.StaffError as exc:
        text = tr(f"head.staff_error.{exc.code}")
        return page(request, "refused.html", head, status_code=409, text=text)
    hc.relay.wake()
    return redirect(f"/kunjungan/{visit_id}?dipindah=1")


ROUTES = [Route("/kunjungan/{visit_id}/pindah", reassign, methods=["POST"])]
