"""A nurse's leave and (de)activation from /staf: the same service calls as the bot's /staf
buttons (`db.services.staff_notes`), so the day is re-planned, the families told by the re-plan,
the nurse told and her Telegram menu reset exactly as there.

POST /staf/<nurse>/cuti        leave from `dari` to `sampai` (one day when empty), kind `jenis`
POST /staf/cuti/<leave>/hapus  take back (or refuse) leave from today on
POST /staf/cuti/<leave>/setuju approve leave the nurse asked for
POST /staf/<nurse>/aktif       `jadi`=0|1; without `sure`=yes the confirm page answers first

Every form carries the CSRF token; a nurse or leave of another clinic is 403.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.i18n import Translator
from bot.web.context import check_csrf, hc_of, page, redirect, require_staff, today_of
from db.services import access, staff, staff_notes
from db.services.console_auth import Staff
from db.types import utcnow

# A record of another clinic (or none): the console answers 403, as for a visit.
NOT_OURS = frozenset({"unknown_nurse", "unknown_leave"})


def path_id(request: Request, name: str) -> int:
    raw = str(request.path_params.get(name, ""))
    if not raw.isdigit() or len(raw) > 9:
        raise HTTPException(404)
    return int(raw)


def _day(text: object) -> date | None:
    try:
        return date.fromisoformat(str(text or ""))
    except ValueError:
        return None


def refused(request: Request, head: Staff, key: str, status: int = 409) -> Response:
    text = Translator(head.account.language)(key)
    return page(request, "refused.html", head, status_code=status, text=text)


async def write(
    request: Request, head: Staff, work: Callable[[AsyncSession], Awaitable[str]]
) -> Response:
    """Run `work` in an urgent write; its answer is where to go. A refusal is shown in the
    head's words; another clinic's record is 403."""
    try:
        async with hc_of(request).db.transaction(urgent=True) as session:
            target = await work(session)
    except staff.StaffError as exc:
        if exc.code in NOT_OURS:
            raise HTTPException(403) from None
        return refused(request, head, f"head.staff_error.{exc.code}")
    # The nurse's note and menu are in the outbox now: let the relay send them at once.
    hc_of(request).relay.wake()
    return redirect(target)


def _leave_span(form: Mapping[str, Any]) -> tuple[date, date, str] | None:
    first = _day(form.get("dari"))
    last = _day(form.get("sampai")) if form.get("sampai") else first
    kind = str(form.get("jenis") or "leave")
    if first is None or last is None:
        return None
    return first, last, kind


async def add_leave(request: Request) -> Response:
    head = await require_staff(request, head=True)
    form = await check_csrf(request)
    nurse_id = path_id(request, "nurse_id")
    span = _leave_span(form)
    if span is None:
        return refused(request, head, "staffweb.bad_date", 400)
    first, last, kind = span
    now = utcnow()

    async def work(session: AsyncSession) -> str:
        today = today_of(request, now)
        changes = await staff_notes.record_leave(
            session, head.clinic_id, nurse_id, first, last, kind, head.account, now, today
        )
        open_visits = sum(c.visits_that_day for c in changes)
        return f"/staf?ok=1&buka={open_visits}#n{nurse_id}"

    return await write(request, head, work)


async def decide_leave(request: Request) -> Response:
    head = await require_staff(request, head=True)
    await check_csrf(request)
    leave_id = path_id(request, "leave_id")
    what = request.path_params.get("what")
    if what not in ("setuju", "hapus"):
        raise HTTPException(404)
    approve = what == "setuju"
    now = utcnow()

    async def work(session: AsyncSession) -> str:
        change = await staff_notes.decide_leave(
            session, head.clinic_id, leave_id, approve, head.account, now, today_of(request, now)
        )
        return f"/staf?ok=1#n{change.nurse.id}"

    return await write(request, head, work)


async def set_active(request: Request) -> Response:
    head = await require_staff(request, head=True)
    form = await check_csrf(request)
    nurse_id = path_id(request, "nurse_id")
    if str(form.get("jadi", "")) not in ("0", "1"):
        raise HTTPException(404)
    active = form.get("jadi") == "1"
    if form.get("sure") != "yes":
        return await _confirm(request, head, nurse_id, active)
    now = utcnow()

    async def work(session: AsyncSession) -> str:
        change = await staff_notes.set_active(
            session, head.clinic_id, nurse_id, active, head.account, now, today_of(request, now)
        )
        open_visits = 0 if active else change.open_visits
        return f"/staf?ok=1&buka={open_visits}#n{nurse_id}"

    return await write(request, head, work)


async def _confirm(request: Request, head: Staff, nurse_id: int, active: bool) -> Response:
    async with hc_of(request).db.read() as session:
        nurse = await access.head_nurse(session, head.clinic_id, nurse_id)
    if nurse is None:
        raise HTTPException(403)
    return page(request, "staff_active.html", head, nurse=nurse, active=active)


ROUTES = [
    Route("/staf/cuti/{leave_id}/{what}", decide_leave, methods=["POST"]),
    Route("/staf/{nurse_id}/cuti", add_leave, methods=["POST"]),
    Route("/staf/{nurse_id}/aktif", set_active, methods=["POST"]),
]
