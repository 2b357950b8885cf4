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

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from telegram import Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.callbacks import BadCallback, decode_int
from bot.handlers import patient_visits
from bot.handlers.buttons import press
from bot.handlers.patient_flow import Ctx
from bot.i18n import Translator
from bot.messages import Reply
from bot.render import delivery as render
from bot.turn import HomecareContext, Turn
from db.models import Account, Visit
from db.services import access, conversation, my_visits
from db.services import booking as booking_service
from db.services import reminder_answers as reminder_service
from db.services.reminder_answers import QuestionState
from db.types import utcnow


@dataclass(frozen=True)
class _Answer:
    """A press on a reminder that is still open: what each answer works with."""

    turn: Turn
    query_id: str
    message: Any
    visit: Visit
    account: Account
    now: datetime


def _parse(parts: list[str]) -> tuple[int, int, str]:
    action = parts[2]
    if action not in render.ACTIONS:
        raise BadCallback(action)
    return decode_int(parts[0]), decode_int(parts[1]), action


async def confirm_button(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    pressed = press(turn, update, render.CONFIRM_PREFIX, 3, _parse)
    if pressed is None:
        return
    query, (visit_id, day_ordinal, action) = pressed.query, pressed.args
    account = turn.require_account()
    visit = await access.linked_visit(turn.session, account, turn.clinic_id, visit_id)
    if visit is None:
        turn.answer(query.id, turn.tr("delivery.confirm.not_yours"))
        return
    now = utcnow()
    if await _still_open(turn, query.id, query.message, visit, day_ordinal, now):
        await _ANSWERS[action](_Answer(turn, query.id, query.message, visit, account, now))


async def _still_open(
    turn: Turn, query_id: str, message: Any, visit: Visit, day_ordinal: int, now: datetime
) -> bool:
    """The visit is still planned for the asked day and has not begun (else say so)."""
    state = reminder_service.question_state(visit, day_ordinal, turn.config, now)
    if state is QuestionState.STALE:
        turn.answer(query_id, turn.tr("delivery.confirm.stale"), alert=True)
        await _edit(turn, message, None)
        return False
    if state is QuestionState.TOO_LATE:
        phone = turn.config.clinic.phone
        turn.answer(query_id, turn.tr("delivery.confirm.too_late", phone=phone))
        return False
    return True


async def _yes(a: _Answer) -> None:
    turn, visit = a.turn, a.visit
    await reminder_service.confirm_visit(turn.session, turn.config, visit, a.account, a.now)
    turn.answer(a.query_id)
    await _edit(turn, a.message, turn.tr("delivery.confirm.answered_yes"))
    window = (visit.window_start, visit.window_end)
    await turn.reply(Reply(render.confirm_text(turn.tr, "thanks", visit.day, window)))


async def _no(a: _Answer) -> None:
    """Ask once more: a mis-tap must not cancel."""
    visit = a.visit
    a.turn.answer(a.query_id)
    window = (visit.window_start, visit.window_end)
    await a.turn.reply(render.ask_cancel(a.turn.tr, visit.id, visit.day, window))


async def _back(a: _Answer) -> None:
    a.turn.answer(a.query_id)
    await _edit(a.turn, a.message, a.turn.tr("delivery.confirm.kept"), replace=True)


async def _decline(a: _Answer) -> None:
    turn, visit, now = a.turn, a.visit, a.now
    item = await my_visits.visit_item(
        turn.session, turn.config, a.account.id, turn.clinic_id, visit.id, now
    )
    if item is None:
        turn.answer(a.query_id, turn.tr("delivery.confirm.not_yours"))
        return
    # The reason is read by the heads: in the clinic's language.
    reason = Translator("id")("delivery.confirm.decline_reason")
    result = await my_visits.cancel_visit(
        turn.session, config=turn.config, account=a.account, item=item, reason=reason, now=now
    )
    if not result.ok:
        assert result.refusal is not None
        turn.answer(a.query_id, turn.tr(result.refusal, **(result.params or {})), alert=True)
        return
    await reminder_service.record_declined(turn.session, visit, now)
    # Imported here: the planner's module is large and pulls in the solver.
    from db.services import planning

    await planning.on_visit_cancelled(turn.session, visit, now)
    turn.answer(a.query_id)
    window = (visit.window_start, visit.window_end)
    text = render.confirm_text(turn.tr, "cancelled", visit.day, window)
    await _edit(turn, a.message, text, replace=True)


async def _reschedule(a: _Answer) -> None:
    turn, visit = a.turn, a.visit
    item = await my_visits.visit_item(
        turn.session, turn.config, a.account.id, turn.clinic_id, visit.id, a.now
    )
    if item is None:
        turn.answer(a.query_id, turn.tr("delivery.confirm.not_yours"))
        return
    refusal = await _cannot_reschedule(turn, item, visit, a.now)
    if refusal is not None:
        turn.answer(a.query_id, turn.tr(refusal, phone=turn.config.clinic.phone), alert=True)
        return
    # Enter the family's reschedule flow at its day choice, as /kunjungan_saya would.
    conv = await conversation.begin(
        turn.session, a.account.id, patient_visits.FLOW, "rday", {"vid": visit.id}, a.now
    )
    c = Ctx(turn, conv, a.now, query_id=a.query_id)
    turn.answer(a.query_id)
    await c.say(await patient_visits.prompt(c))


async def _cannot_reschedule(
    turn: Turn, item: my_visits.VisitItem, visit: Visit, now: datetime
) -> str | None:
    """The locale key that says why this visit cannot move, or None when there are days."""
    if not item.can_reschedule:
        return "delivery.confirm.cannot_move"
    service = turn.config.service(visit.service_type)
    if service is None:
        return "delivery.confirm.no_days"
    days = await booking_service.days_for_service(
        turn.session, turn.config, turn.clinic_id, service, now
    )
    return None if days else "delivery.confirm.no_days"


_ANSWERS: dict[str, Callable[[_Answer], Awaitable[None]]] = {
    render.YES: _yes,
    render.NO: _no,
    render.BACK: _back,
    render.CANCEL: _decline,
    render.RESCHEDULE: _reschedule,
}


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
