"""The nurse's "🔁 Kunjungan lanjutan" under a finished visit: pick 3 / 7 / 14 days, and the same
service is booked for the same patient (db/services/series.py; the family is told by intent).

Buttons ``nfu:ask:<visit>`` and ``nfu:<days>:<visit>`` (bot/render/series.py); the visit must be
hers (db.services.access.nurse_visit) and finished; a second follow-up of one visit is refused.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.callbacks import decode_int
from bot.handlers.buttons import one_of, press
from bot.messages import Reply
from bot.render import series as render
from bot.turn import HomecareContext, Turn
from db.models import Patient, Visit
from db.services import access
from db.services import series as series_service
from db.types import utcnow


def _parse(args: list[str]) -> tuple[str, int]:
    return one_of(args[0], ("ask", *render.FOLLOW_UP_DAYS)), decode_int(args[1])


async def follow_up_button(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    pressed = press(turn, update, render.FOLLOW_UP, 2, _parse)
    if pressed is None:
        return
    (action, visit_id), query_id = pressed.args, pressed.query.id
    visit = await access.nurse_visit(turn.session, turn.require_account(), turn.clinic_id, visit_id)
    if visit is None or visit.status != "completed":
        turn.answer(query_id, turn.tr("nurse.not_your_visit"), alert=True)
        return
    turn.answer(query_id)
    if action == "ask":
        patient = await turn.session.get(Patient, visit.patient_id)
        name = patient.full_name if patient is not None and patient.full_name else ""
        await turn.reply(render.follow_up_choices(turn.tr, name.split(" ")[0], visit.id))
        return
    await turn.reply(await _book(turn, visit, int(action)))


async def _book(turn: Turn, visit: Visit, days: int) -> Reply:
    placed = await series_service.follow_up(
        turn.session, turn.config, turn.require_account(), visit, days, utcnow()
    )
    if placed is None:
        return Reply(turn.tr("series.follow_up_refused"))
    if placed.visit is None:
        return Reply(turn.tr("series.follow_up_none"))
    booked = placed.visit
    window = (booked.window_start, booked.window_end)
    return render.follow_up_booked(turn.tr, booked.day, placed.nominal, window, booked.code)


HANDLERS: list[BaseHandler[Any, Any, Any]] = [
    CallbackQueryHandler(follow_up_button, pattern=rf"^{render.FOLLOW_UP}:"),
]
