"""Answers to the evening reminder "Will the patient be at home?": Ya / Tidak / Jadwal ulang.

callback_data is ``cf:<visit id>:<visit day ordinal>:<action>`` and is never trusted: the visit
must belong to a patient linked to the presser (else "not your button"), still be planned for
that day (else the reminder is stale: the visit moved or was cancelled) and not have begun.
"Tidak" asks once more before cancelling (a mis-tap would give the place away); the cancellation
goes through the family's own cancel path (`db.services.my_visits.cancel_visit`: status history,
capacity back, heads and nurse told, reminders cancelled) and the planner is told
(`db.services.planning.on_visit_cancelled`). "Jadwal ulang" opens the day choice of the family's
reschedule flow (`bot.handlers.patient_visits`, step "rday").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from telegram import Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.callbacks import BadCallback, decode, decode_int
from bot.handlers import patient_visits
from bot.handlers.patient_flow import Ctx
from bot.i18n import Translator
from bot.messages import Reply
from bot.render import delivery as render
from bot.turn import HomecareContext, Turn
from db.models import Account, Visit
from db.services import access, conversation, my_visits
from db.services import booking as booking_service
from db.services import reminders as reminder_service
from db.services.reminders import QuestionState
from db.types import utcnow


async def confirm_button(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    query = update.callback_query
    assert query is not None
    tr = turn.tr
    try:
        visit_part, day_part, action = decode(query.data, render.CONFIRM_PREFIX, 3)
        visit_id, day_ordinal = decode_int(visit_part), decode_int(day_part)
        if action not in render.ACTIONS:
            raise BadCallback(query.data)
    except BadCallback:
        turn.answer(query.id, tr("common.stale_button"))
        return
    account = turn.require_account()
    visit = await access.linked_visit(turn.session, account, turn.clinic_id, visit_id)
    if visit is None:
        turn.answer(query.id, tr("delivery.confirm.not_yours"))
        return
    now = utcnow()
    state = reminder_service.question_state(visit, day_ordinal, turn.config, now)
    if state is QuestionState.STALE:
        turn.answer(query.id, tr("delivery.confirm.stale"), alert=True)
        await _edit(turn, query.message, None)
        return
    if state is QuestionState.TOO_LATE:
        turn.answer(query.id, tr("delivery.confirm.too_late", phone=turn.config.clinic.phone))
        return
    window = (visit.window_start, visit.window_end)
    if action == render.YES:
        await reminder_service.confirm_visit(turn.session, turn.config, visit, account, now)
        turn.answer(query.id)
        await _edit(turn, query.message, tr("delivery.confirm.answered_yes"))
        await turn.reply(Reply(render.confirm_text(tr, "thanks", visit.day, window)))
    elif action == render.NO:
        turn.answer(query.id)
        await turn.reply(render.ask_cancel(tr, visit.id, visit.day, window))
    elif action == render.BACK:
        turn.answer(query.id)
        await _edit(turn, query.message, tr("delivery.confirm.kept"), replace=True)
    elif action == render.CANCEL:
        await _decline(turn, query.id, query.message, visit, account, now)
    else:
        await _reschedule(turn, query.id, visit, account, now)


async def _decline(
    turn: Turn, query_id: str, message: Any, visit: Visit, account: Account, now: datetime
) -> None:
    tr = turn.tr
    item = await my_visits.visit_item(
        turn.session, turn.config, account.id, turn.clinic_id, visit.id, now
    )
    if item is None:
        turn.answer(query_id, tr("delivery.confirm.not_yours"))
        return
    # The reason is read by the heads: in the clinic's language.
    reason = Translator("id")("delivery.confirm.decline_reason")
    result = await my_visits.cancel_visit(
        turn.session, config=turn.config, account=account, item=item, reason=reason, now=now
    )
    if not result.ok:
        assert result.refusal is not None
        turn.answer(query_id, tr(result.refusal, **(result.params or {})), alert=True)
        return
    await reminder_service.record_declined(turn.session, visit, now)
    # Imported here: the planner's module is large and pulls in the solver.
    from db.services import planning

    await planning.on_visit_cancelled(turn.session, visit, now)
    turn.answer(query_id)
    text = render.confirm_text(tr, "cancelled", visit.day, (visit.window_start, visit.window_end))
    await _edit(turn, message, text, replace=True)


async def _reschedule(
    turn: Turn, query_id: str, visit: Visit, account: Account, now: datetime
) -> None:
    tr = turn.tr
    phone = turn.config.clinic.phone
    item = await my_visits.visit_item(
        turn.session, turn.config, account.id, turn.clinic_id, visit.id, now
    )
    if item is None:
        turn.answer(query_id, tr("delivery.confirm.not_yours"))
        return
    if not item.can_reschedule:
        turn.answer(query_id, tr("delivery.confirm.cannot_move", phone=phone), alert=True)
        return
    service = turn.config.service(visit.service_type)
    days = (
        await booking_service.days_for_service(
            turn.session, turn.config, turn.clinic_id, service, now
        )
        if service is not None
        else []
    )
    if not days:
        turn.answer(query_id, tr("delivery.confirm.no_days", phone=phone), alert=True)
        return
    # Enter the family's reschedule flow at its day choice, as /kunjungan_saya would.
    conv = await conversation.begin(
        turn.session, account.id, patient_visits.FLOW, "rday", {"vid": visit.id}, now
    )
    c = Ctx(turn, conv, now, query_id=query_id)
    turn.answer(query_id)
    await c.say(await patient_visits.prompt(c))


async def _edit(turn: Turn, message: Any, line: str | None, *, replace: bool = False) -> None:
    """Take the buttons off the pressed message; `line` is appended to its text (or replaces
    it), so the chat shows what was answered."""
    if not isinstance(message, Message) or turn.chat_id is None:
        return
    base: dict[str, Any] = {"chat_id": turn.chat_id, "message_id": message.message_id}
    if line is None:
        payload = {**base, "reply_markup": {"inline_keyboard": []}}
        await turn.call("editMessageReplyMarkup", payload, chat_id=turn.chat_id, kind="markup")
        return
    text = line if replace else f"{message.text_html}\n\n{line}"
    payload = {
        **base,
        "text": text,
        "parse_mode": "HTML",
        "reply_markup": {"inline_keyboard": []},
    }
    await turn.call("editMessageText", payload, chat_id=turn.chat_id, kind="markup")


HANDLERS: list[BaseHandler[Any, Any, Any]] = [
    CallbackQueryHandler(confirm_button, pattern=rf"^{render.CONFIRM_PREFIX}:"),
]
