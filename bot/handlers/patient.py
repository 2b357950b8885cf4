"""The patient and caregiver journey: commands, buttons and typed answers of the family side.

Entry points: /start for a newcomer (via `begin_onboarding`, called by bot.handlers.start),
/minta_kunjungan, /kunjungan_saya, /pasien, /data_saya, /batal; inline buttons ``pc:`` (a step
of a conversation), ``pf:`` (a rating after a visit), ``pn:`` (book now for a patient).

Typed messages are read only when the person is in one of our flows; otherwise the update falls
through to the next handler registered after ours (another audience's text input, then common's
fallbacks), so several audiences can each own a free-text handler.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from telegram import CallbackQuery, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.callbacks import BadCallback, decode_id, decode_int
from bot.guard import GUARD, allowed, key_of
from bot.handlers import (
    patient_booking,
    patient_data,
    patient_feedback,
    patient_register,
    patient_visits,
)
from bot.handlers.buttons import press
from bot.handlers.patient_flow import (
    Ctx,
    Flow,
    Incoming,
    incoming,
    parse_step_callback,
    pressed_button,
)
from bot.handlers.typed_buttons import typed_press
from bot.messages import Reply
from bot.render import patient as render
from bot.render.common import plain
from bot.turn import HomecareContext, Turn
from db.models import Conversation
from db.services import conversation
from db.services.consent import has_account_consent
from db.services.data_rights import FAMILY_ROLES
from db.services.patients import my_patient
from db.types import utcnow

FLOWS: dict[str, Flow] = {
    m.FLOW: m  # type: ignore[misc]
    for m in (patient_register, patient_booking, patient_visits, patient_feedback, patient_data)
}
# What "quit" says where nothing was cancelled: the visit list only closes; leaving a cancel or
# reschedule half-way leaves the visit as it was.
QUIT_KEYS = {
    ("p.data", "menu"): "patient.closed",
    ("p.data", "fixp"): "patient.closed",
    ("p.data", "fixf"): "patient.closed",
    ("p.reg", "list"): "patient.closed",
    ("p.visits", "list"): "patient.visits.list_closed",
    ("p.visits", "reason"): "patient.visits.kept",
    ("p.visits", "rday"): "patient.visits.kept",
    ("p.visits", "rwin"): "patient.visits.kept",
    ("p.visits", "rconfirm"): "patient.visits.kept",
}


async def _live(turn: Turn, now: datetime) -> Conversation | None:
    """The person's conversation in one of our flows, or None. An idle one ends here, politely."""
    account = turn.require_account()
    conv = await conversation.load(turn.session, account.id)
    if conv is None or conv.flow not in FLOWS:
        return None
    if conversation.is_idle(conv, now, turn.config.schedule.conversation_idle_min):
        await conversation.finish(turn.session, conv)
        await turn.reply(render.conversation_expired(turn.tr, conv.flow))
        return None
    return conv


def _key(handler: BaseHandler[Any, Any, Any]) -> str:
    return getattr(handler.callback, "__wrapped_key__", None) or key_of(handler.callback)


async def _fall_through(
    update: Update, context: HomecareContext, me: str, instead_of_common: Reply | None = None
) -> None:
    """Hand the update to the first handler after ours that wants it (same group).

    The guard already admitted this update once (flood control counted it): the next handler's
    role check is repeated here, then its own callback runs. With `instead_of_common`, that reply
    is sent rather than common's generic fallback.
    """
    turn = context.turn
    application = context.application
    for handlers in application.handlers.values():
        keys = [_key(h) for h in handlers]
        if me not in keys:
            continue
        for handler in handlers[keys.index(me) + 1 :]:
            check = handler.check_update(update)
            if check is None or check is False:
                continue
            key = _key(handler)
            if instead_of_common is not None and key.startswith("bot.handlers.common."):
                await turn.reply(instead_of_common)
                return
            if key in GUARD and not allowed(turn.roles, key):
                await turn.reply(plain(turn.tr, "common.not_allowed"))
                return
            callback: Any = getattr(handler.callback, "__wrapped__", handler.callback)
            target: Any = handler
            target.collect_additional_context(context, update, application, check)
            await callback(update, context)
            return


# --- entry points ----------------------------------------------------------------------------


async def begin_onboarding(turn: Turn, welcome: Reply | None = None) -> None:
    """/start from someone without a role: continue where they were, or start with consent.

    `welcome` (common's greeting) is sent as the head of the same message.
    """
    now = utcnow()
    account = turn.require_account()
    if account.deleted_at is not None:
        # They deleted their data earlier and now ask to use the service again.
        account.deleted_at = None
    conv = await _live(turn, now)
    if conv is not None:
        # Mid-way: say where they are and how to go on or stop, then the question again.
        question = await FLOWS[conv.flow].prompt(Ctx(turn, conv, now))
        where = Reply(turn.tr("patient.where", doing=turn.tr(f"patient.doing.{conv.flow}")))
        await turn.reply(render.joined(where, question))
    elif turn.roles.intersection(FAMILY_ROLES):
        await turn.reply(render.welcome_back(turn.tr, welcome))
    else:
        # Registering from /start goes on to the visit request, as /minta_kunjungan does.
        await patient_register.begin(turn, now, then="book", lead=welcome)


async def request_visit(update: Update, context: HomecareContext) -> None:
    await patient_booking.begin(context.turn, utcnow())


async def my_visits(update: Update, context: HomecareContext) -> None:
    await patient_visits.begin(context.turn, utcnow())


async def patients_command(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    now = utcnow()
    if not await _has_consent(turn):
        await patient_register.begin(turn, now)
        return
    await patient_register.begin_list(turn, now)


async def my_data(update: Update, context: HomecareContext) -> None:
    await patient_data.begin(context.turn, utcnow())


async def quit_command(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    conv = await _live(turn, utcnow())
    if conv is None:
        nothing = Reply(turn.tr("patient.nothing_to_quit"))
        await _fall_through(update, context, key_of(quit_command), instead_of_common=nothing)
        return
    await conversation.finish(turn.session, conv)
    await turn.reply(render.quit_done(turn.tr))


async def _has_consent(turn: Turn) -> bool:
    account = turn.require_account()
    return await has_account_consent(turn.session, account.id, turn.config.privacy.consent_version)


# --- buttons ---------------------------------------------------------------------------------


async def on_step_button(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    query = update.callback_query
    assert query is not None
    now = utcnow()
    pressed = await _step_press(turn, query, now)
    if pressed is None:
        return
    conv, action, args = pressed
    message = query.message
    html, label = pressed_button(message, query.data)
    message_id = message.message_id if message else None
    c = Ctx(turn, conv, now, query.id, message_id, pressed_html=html, pressed_label=label)
    if action == "q":
        await _quit_step(c)
    else:
        try:
            await FLOWS[conv.flow].on_button(c, action, args)
        except BadCallback:
            c.stale()
    c.answer()


async def _step_press(
    turn: Turn, query: CallbackQuery, now: datetime
) -> tuple[Conversation, str, list[str]] | None:
    """(conversation, action, args) of a step button pressed in the person's own chat, for the
    step they are in; otherwise the press is answered here and None returned."""
    message = query.message
    if message is not None and message.chat.id != turn.require_account().chat_id:
        turn.answer(query.id, turn.tr("common.not_your_button"))
        return None
    try:
        nonce, action, args = parse_step_callback(query.data)
    except BadCallback:
        turn.answer(query.id, turn.tr("common.stale_button"))
        return None
    conv = await _live(turn, now)
    if conv is None or conv.nonce != nonce:
        turn.answer(query.id, turn.tr("common.stale_button"))
        return None
    return conv, action, args


async def _quit_step(c: Ctx) -> None:
    await c.accepted_press()
    key = QUIT_KEYS.get((c.conv.flow, c.conv.step))
    await c.end()
    await c.turn.reply(Reply(c.tr(key)) if key else render.quit_done(c.tr))


def _rating(parts: list[str]) -> tuple[int, int]:
    rating = decode_int(parts[1])
    if not 1 <= rating <= 5:
        raise BadCallback(parts[1])
    return decode_int(parts[0]), rating


async def on_feedback_button(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    pressed = press(turn, update, render.FEEDBACK_PREFIX, 2, _rating)
    if pressed is None:
        return
    query, (visit_id, rating) = pressed.query, pressed.args
    refusal = await patient_feedback.rate(turn, utcnow(), visit_id, rating)
    if refusal is not None:
        turn.answer(query.id, turn.tr(refusal))
        return
    message = query.message
    if message is not None and turn.chat_id is not None:
        # One rating per visit: the buttons go.
        await turn.call(
            "editMessageReplyMarkup",
            {
                "chat_id": turn.chat_id,
                "message_id": message.message_id,
                "reply_markup": {"inline_keyboard": []},
            },
            chat_id=turn.chat_id,
            kind="markup",
        )
    turn.answer(query.id)


async def on_book_now_button(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    query = update.callback_query
    assert query is not None
    try:
        patient_id = decode_id(query.data, render.START_BOOKING_PREFIX)
    except BadCallback:
        turn.answer(query.id, turn.tr("common.stale_button"))
        return
    account = turn.require_account()
    if patient_id == render.ANY_PATIENT:
        turn.answer(query.id)
        await patient_booking.begin(turn, utcnow())  # asks which patient when there are several
        return
    if await my_patient(turn.session, account.id, turn.clinic_id, patient_id) is None:
        turn.answer(query.id, turn.tr("common.not_your_button"))
        return
    turn.answer(query.id)
    await patient_booking.begin(turn, utcnow(), patient_id=patient_id)


async def on_other_day_button(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    query = update.callback_query
    assert query is not None
    try:
        visit_id = decode_id(query.data, render.RESCHEDULE_PREFIX)
    except BadCallback:
        turn.answer(query.id, turn.tr("common.stale_button"))
        return
    refusal = await patient_visits.begin_reschedule(turn, utcnow(), visit_id)
    params = {"phone": turn.config.clinic.phone}
    turn.answer(query.id, turn.tr(refusal, **params) if refusal else None)


# --- typed answers ---------------------------------------------------------------------------


async def on_message(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    message = update.message  # edits of old messages are not answers: they fall through
    account = turn.account
    conv = None
    if message is not None and account is not None:
        conv = await conversation.load(turn.session, account.id)
    if message is None or conv is None or conv.flow not in FLOWS:
        await _fall_through(update, context, key_of(on_message))
        return
    now = utcnow()
    if conversation.is_idle(conv, now, turn.config.schedule.conversation_idle_min):
        # What they typed was meant for a step that has expired: say so, use nothing.
        await conversation.finish(turn.session, conv)
        await turn.reply(render.conversation_expired(turn.tr, conv.flow))
        return
    c, msg = Ctx(turn, conv, now), incoming(message)
    if not await _typed_button(c, msg):
        await FLOWS[conv.flow].on_message(c, msg)


# Longer texts are answers to type (a name, a complaint), never a button's words.
_TYPED_BUTTON_MAX = 40


async def _typed_button(c: Ctx, msg: Incoming) -> bool:
    """A typed "tidak"/"batal"/"kassi kassi" that names one of the step's buttons presses it."""
    if msg.kind != "text" or len(msg.text) > _TYPED_BUTTON_MAX:
        return False
    flow = FLOWS[c.conv.flow]
    question = await flow.prompt(c)
    button = typed_press(msg.text, (b for row in question.buttons for b in row))
    if button is None:
        return False
    try:
        _nonce, action, args = parse_step_callback(button.data)
        if action == "q":
            await _quit_step(c)
        else:
            await flow.on_button(c, action, args)
    except BadCallback:
        return False  # not a step button after all: the step asks again
    return True


HANDLERS: list[BaseHandler[Any, Any, Any]] = [
    CommandHandler("minta_kunjungan", request_visit),
    CommandHandler("kunjungan_saya", my_visits),
    CommandHandler("pasien", patients_command),
    CommandHandler("data_saya", my_data),
    CommandHandler("batal", quit_command),
    CallbackQueryHandler(on_step_button, pattern=r"^pc:"),
    CallbackQueryHandler(on_feedback_button, pattern=r"^pf:"),
    CallbackQueryHandler(on_book_now_button, pattern=r"^pn:"),
    CallbackQueryHandler(on_other_day_button, pattern=r"^pr:"),
    MessageHandler(filters.ALL & ~filters.COMMAND, on_message),
]
