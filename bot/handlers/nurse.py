"""The nurse's day in Telegram: /jadwal, /besok, /cuti, the stop buttons, the "Selesai" note;
and the heads' /rencana (plan now, in the background).

Buttons (bot/render/nurse.py): ``nst:<visit>`` opens a stop, ``nac:<action>:<visit>`` acts on it
(go, arr, done, nh, cc, nonote, back), ``ncf:<nh|cc>:<visit>`` confirms the two that end the visit
for her, ``nsk:<ask|yes|no>`` reports sick, ``nls:<today|tomorrow>`` lists the day. Every part is
checked: the visit must be assigned to the pressing nurse (db.services.access) and the action
must fit its current status (scheduler.visits); otherwise a clear answer and nothing changes.

The note after "Selesai" is typed: while a nurse is in the ``nurse_done`` conversation her next
text is read here; any other text falls through to the next handler (the family's flows, then
common's fallbacks), so a nurse who is also a caregiver keeps her booking flow.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from telegram import Message, Update
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.callbacks import decode_int
from bot.guard import key_of
from bot.handlers.buttons import one_of, press
from bot.handlers.nurse_input import leave_span, split_note
from bot.messages import Reply
from bot.render import nurse as render
from bot.render import series as series_render
from bot.turn import CURRENT_TURN, HomecareContext, Turn
from db.models import Conversation, Nurse, Visit
from db.services import access, conversation, nurse_audit, nurse_visits, planning
from db.services.booking import load_rules
from db.services.route_digest import NurseDay, StopView, load_nurse_day
from db.types import utcnow
from scheduler.booking import next_working_day
from scheduler.vitals import InvalidVital, parse_vitals

FLOW = "nurse_done"


# --- helpers ---------------------------------------------------------------------------------


async def _nurse(turn: Turn) -> Nurse | None:
    return await access.nurse_of(turn.session, turn.require_account(), turn.clinic_id)


def _today(turn: Turn, now: datetime) -> date:
    return now.astimezone(turn.config.clinic.tz).date()


async def _day_and_stop(turn: Turn, nurse: Nurse, visit: Visit) -> tuple[NurseDay, StopView | None]:
    day = await load_nurse_day(turn.session, turn.config, nurse, visit.day)
    return day, next((s for s in day.stops if s.visit_id == visit.id), None)


async def _show(turn: Turn, message: Message | None, reply: Reply) -> None:
    """Edit the pressed message into `reply` (keeps the chat tidy), or send it anew."""
    if message is None or turn.chat_id is None:
        await turn.reply(reply)
        return
    await turn.call(
        "editMessageText",
        render.edit_payload(turn.chat_id, message.message_id, reply),
        chat_id=turn.chat_id,
        kind="edit",
    )


def _message(update: Update) -> Message | None:
    query = update.callback_query
    if query is None or not isinstance(query.message, Message):
        return None
    return query.message


async def _card(turn: Turn, nurse: Nurse, visit: Visit, now: datetime) -> Reply | None:
    day, stop = await _day_and_stop(turn, nurse, visit)
    if stop is None:
        return None
    account_id = turn.require_account().id
    await nurse_audit.stop_viewed(turn.session, turn.clinic_id, account_id, visit.id, now)
    return render.stop_card(turn.tr, turn.config, stop, day, today=visit.day == _today(turn, now))


async def _not_a_nurse(turn: Turn, update: Update) -> None:
    query = update.callback_query
    if query is not None:
        turn.answer(query.id, turn.tr("nurse.not_a_nurse"), alert=True)
    else:
        await turn.reply(Reply(turn.tr("nurse.not_a_nurse")))


# --- the day ---------------------------------------------------------------------------------


async def _overview(turn: Turn, which: str, now: datetime) -> Reply | None:
    nurse = await _nurse(turn)
    if nurse is None:
        return None
    today = _today(turn, now)
    day = today
    if which == "tomorrow":  # /besok: the next day with home visits, so Saturday shows Monday
        day = next_working_day(
            await load_rules(turn.session, turn.config, turn.clinic_id, now), today
        )
        which = "tomorrow" if day == today + timedelta(days=1) else "next"
    nurse_day = await load_nurse_day(turn.session, turn.config, nurse, day)
    seen = [s.visit_id for s in nurse_day.stops]
    await nurse_audit.route_viewed(
        turn.session, turn.clinic_id, turn.require_account().id, seen, now
    )
    return render.day_overview(turn.tr, turn.config, nurse_day, which)


async def schedule_today(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    reply = await _overview(turn, "today", utcnow())
    if reply is None:
        await _not_a_nurse(turn, update)
        return
    await turn.reply(reply)


async def schedule_tomorrow(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    reply = await _overview(turn, "tomorrow", utcnow())
    if reply is None:
        await _not_a_nurse(turn, update)
        return
    await turn.reply(reply)


async def show_list(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    pressed = press(turn, update, render.LIST, 1, lambda a: one_of(a[0], ("today", "tomorrow")))
    if pressed is None:
        return
    query, which = pressed.query, pressed.args
    reply = await _overview(turn, which, utcnow())
    if reply is None:
        await _not_a_nurse(turn, update)
        return
    turn.answer(query.id)
    await _show(turn, _message(update), reply)


async def open_stop(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    pressed = press(turn, update, render.OPEN_STOP, 1, lambda a: decode_int(a[0]))
    if pressed is None:
        return
    query, visit_id = pressed.query, pressed.args
    nurse = await _nurse(turn)
    if nurse is None:
        await _not_a_nurse(turn, update)
        return
    visit = await access.nurse_visit(turn.session, turn.require_account(), turn.clinic_id, visit_id)
    card = await _card(turn, nurse, visit, utcnow()) if visit is not None else None
    if card is None:
        turn.answer(query.id, turn.tr("nurse.not_your_visit"), alert=True)
        return
    turn.answer(query.id)
    # A new message: the digest stays readable above it.
    await turn.reply(card)


# --- status buttons --------------------------------------------------------------------------


async def _pressed(
    update: Update, context: HomecareContext, prefix: str, allowed: tuple[str, ...]
) -> tuple[str, Nurse, Visit] | None:
    """Decode and authorise a stop button; answers and returns None when it is not usable."""
    turn = context.turn
    pressed = press(turn, update, prefix, 2, lambda a: (one_of(a[0], allowed), decode_int(a[1])))
    if pressed is None:
        return None
    query, (action, visit_id) = pressed.query, pressed.args
    nurse = await _nurse(turn)
    if nurse is None:
        await _not_a_nurse(turn, update)
        return None
    visit = await access.nurse_visit(turn.session, turn.require_account(), turn.clinic_id, visit_id)
    if visit is None:
        turn.answer(query.id, turn.tr("nurse.not_your_visit"), alert=True)
        return None
    return action, nurse, visit


def _refusal(turn: Turn, result: nurse_visits.ActionResult) -> str:
    return render.refusal_text(turn.tr, result)


def _refused(turn: Turn, query_id: str, result: nurse_visits.ActionResult) -> None:
    turn.answer(query_id, _refusal(turn, result), alert=True)


@dataclass(frozen=True)
class _StopPress:
    """A stop button that passed `_pressed`: what each branch of `stop_action` works with."""

    turn: Turn
    query_id: str
    action: str
    nurse: Nurse
    visit: Visit
    now: datetime
    message: Message | None


async def _stop_press(
    update: Update, context: HomecareContext, prefix: str, allowed: tuple[str, ...]
) -> _StopPress | None:
    query = update.callback_query
    assert query is not None
    pressed = await _pressed(update, context, prefix, allowed)
    if pressed is None:
        return None
    action, nurse, visit = pressed
    return _StopPress(context.turn, query.id, action, nurse, visit, utcnow(), _message(update))


async def _show_card(p: _StopPress) -> None:
    card = await _card(p.turn, p.nurse, p.visit, p.now)
    if card is not None:
        await _show(p.turn, p.message, card)


async def stop_action(update: Update, context: HomecareContext) -> None:
    p = await _stop_press(update, context, render.ACT, render.ACTIONS)
    if p is not None:
        await _STOP_ACTIONS[p.action](p)


async def _go_or_arrive(p: _StopPress) -> None:
    turn = p.turn
    account = turn.require_account()
    if p.action == "go":
        result = await nurse_visits.depart(
            turn.session, turn.config, p.nurse, account, p.visit, p.now
        )
        text = turn.tr("nurse.went", eta=render.hm(result.eta))
    else:
        result = await nurse_visits.arrive(turn.session, turn.config, account, p.visit, p.now)
        text = turn.tr("nurse.arrived_ack")
    if not result.ok:
        _refused(turn, p.query_id, result)
        return
    turn.answer(p.query_id, text)
    await _show_card(p)


async def _done(p: _StopPress) -> None:
    """ "Selesai" asks for the note; "without a note" finishes at once."""
    turn = p.turn
    check = nurse_visits.check_completable(turn.config, p.visit, p.now)
    if check is not None:
        _refused(turn, p.query_id, check)
        return
    _, stop = await _day_and_stop(turn, p.nurse, p.visit)
    assert stop is not None
    if p.action == "done":
        data = {"visit_id": p.visit.id}
        await conversation.begin(turn.session, turn.require_account().id, FLOW, "note", data, p.now)
        turn.answer(p.query_id)
        await turn.reply(render.done_prompt(turn.tr, stop))
        return
    await _finish_done(turn, p.nurse, p.visit, stop, None, None, p.now, p.message)
    turn.answer(p.query_id)


async def _ask_confirm(p: _StopPress) -> None:
    """The two that end the visit for her ask "sure?" first."""
    turn = p.turn
    _, stop = await _day_and_stop(turn, p.nurse, p.visit)
    if p.action == "nh":
        check = nurse_visits.check_not_home(turn.config, p.visit, p.now)
    else:
        check = nurse_visits.check_cannot_come(p.visit)
    if stop is None or check is not None:
        # A stop gone from her day is stale before it is "not today".
        _refused(
            turn, p.query_id, check if stop is not None and check else nurse_visits.stale(p.visit)
        )
        return
    turn.answer(p.query_id)
    await _show(turn, p.message, render.confirm(turn.tr, p.action, stop))


async def _back(p: _StopPress) -> None:
    """Leave a confirmation or the note prompt, show the stop again."""
    turn = p.turn
    conv = await conversation.load(turn.session, turn.require_account().id)
    if conv is not None and conv.flow == FLOW and (conv.data or {}).get("visit_id") == p.visit.id:
        await conversation.finish(turn.session, conv)
        turn.answer(p.query_id, turn.tr("nurse.done_cancelled"))
    else:
        turn.answer(p.query_id)
    await _show_card(p)


_STOP_ACTIONS: dict[str, Callable[[_StopPress], Awaitable[None]]] = {
    "go": _go_or_arrive,
    "arr": _go_or_arrive,
    "done": _done,
    "nonote": _done,
    "nh": _ask_confirm,
    "cc": _ask_confirm,
    "back": _back,
}


async def confirm_action(update: Update, context: HomecareContext) -> None:
    p = await _stop_press(update, context, render.CONFIRM, render.CONFIRMED_ACTIONS)
    if p is not None:
        await (_not_home(p) if p.action == "nh" else _cannot_come(p))


async def _not_home(p: _StopPress) -> None:
    turn = p.turn
    account = turn.require_account()
    result = await nurse_visits.not_home(
        turn.session, turn.config, p.nurse, account, p.visit, p.now
    )
    if not result.ok:
        _refused(turn, p.query_id, result)
        return
    turn.answer(p.query_id, turn.tr("nurse.not_home_done"))
    await _show_card(p)


async def _cannot_come(p: _StopPress) -> None:
    """Re-planned without her: her day changed, so show the day; else the stop again."""
    turn = p.turn
    check = nurse_visits.check_replan(turn.config, p.visit, p.now)
    if check is not None:
        _refused(turn, p.query_id, check)
        return
    replanned = await planning.nurse_cannot_come(
        turn.session, turn.config, p.nurse, turn.require_account(), p.visit, p.now
    )
    turn.answer(p.query_id, turn.tr("nurse.cannot_done" if replanned else "nurse.cannot_started"))
    if not replanned:
        await _show_card(p)
        return
    reply = await _overview(turn, "today", p.now)
    if reply is not None:
        await _show(turn, p.message, reply)


async def sick_button(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    pressed = press(turn, update, render.SICK, 1, lambda a: one_of(a[0], ("ask", "yes", "no")))
    if pressed is None:
        return
    query, step = pressed.query, pressed.args
    nurse = await _nurse(turn)
    if nurse is None:
        await _not_a_nurse(turn, update)
        return
    message = _message(update)
    turn.answer(query.id)
    if step == "ask":
        await turn.reply(render.sick_confirm(turn.tr))
        return
    if step == "no":
        await _show(turn, message, Reply(turn.tr("nurse.sick_cancelled")))
        return
    result = await planning.nurse_reports_sick(
        turn.session, turn.config, nurse, turn.require_account(), utcnow()
    )
    await _show(turn, message, Reply(turn.tr("nurse.sick_done", count=str(result.visits_affected))))


# --- "Selesai": the note and vitals ----------------------------------------------------------


class _NurseSpeaks(filters.MessageFilter):
    """Text from someone with the nurse role (the turn knows the roles)."""

    def filter(self, message: Message) -> bool:
        turn = CURRENT_TURN.get()
        return turn is not None and "nurse" in turn.roles


async def done_note(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    now = utcnow()
    conv = await _note_conversation(turn, now)
    if conv is None:
        await _fall_through(update, context)
        return
    message = update.effective_message
    read = _read_note(turn, message.text if message is not None and message.text else "")
    if isinstance(read, Reply):
        await turn.reply(read)
    else:
        await _note_done(turn, conv, *read, now)
    raise ApplicationHandlerStop()


async def _note_conversation(turn: Turn, now: datetime) -> Conversation | None:
    """Her live "Selesai" conversation; an idle one ends here (the text is then not a note)."""
    conv = await conversation.load(turn.session, turn.require_account().id)
    if conv is None or conv.flow != FLOW:
        return None
    if conversation.is_idle(conv, now, turn.config.schedule.conversation_idle_min):
        await conversation.finish(turn.session, conv)
        return None
    return conv


def _read_note(turn: Turn, text: str) -> tuple[str, dict[str, Any] | None] | Reply:
    """(note, vitals) from her text, or the reply that says what to fix."""
    note, vitals_line = split_note(text)
    if len(note) > nurse_visits.NOTE_MAX:
        return Reply(turn.tr("nurse.note_too_long", max=str(nurse_visits.NOTE_MAX)))
    if not vitals_line:
        return note, None
    try:
        parsed = parse_vitals(vitals_line)
    except InvalidVital as exc:
        problems = [render.VitalProblem(e.field.value, e.code, e.value) for e in exc.errors]
        return render.vitals_refused(turn.tr, problems)
    return note, None if parsed.is_empty else parsed.as_dict()


async def _note_done(
    turn: Turn, conv: Conversation, note: str, vitals: dict[str, Any] | None, now: datetime
) -> None:
    """The conversation ends whatever happens: the visit is finished, or she hears why not."""
    nurse = await _nurse(turn)
    visit_id = (conv.data or {}).get("visit_id")
    visit = (
        await access.nurse_visit(
            turn.session, turn.require_account(), turn.clinic_id, int(visit_id)
        )
        if nurse is not None and isinstance(visit_id, int)
        else None
    )
    if nurse is None or visit is None:
        await conversation.finish(turn.session, conv)
        await turn.reply(Reply(turn.tr("nurse.not_your_visit")))
        return
    _, stop = await _day_and_stop(turn, nurse, visit)
    await conversation.finish(turn.session, conv)
    if stop is None or not nurse_visits.can_complete(visit):
        await turn.reply(Reply(_refusal(turn, nurse_visits.stale(visit))))
        return
    await _finish_done(turn, nurse, visit, stop, note, vitals, now, None)


async def _finish_done(
    turn: Turn,
    nurse: Nurse,
    visit: Visit,
    stop: StopView,
    note: str | None,
    vitals: dict[str, Any] | None,
    now: datetime,
    message: Message | None,
) -> None:
    account = turn.require_account()
    result = await nurse_visits.complete(
        turn.session, turn.config, nurse, account, visit, now, note=note, vitals=vitals
    )
    if not result.ok:
        await turn.reply(Reply(_refusal(turn, result)))
        return
    conv = await conversation.load(turn.session, account.id)
    if conv is not None and conv.flow == FLOW:
        await conversation.finish(turn.session, conv)
    day, _ = await _day_and_stop(turn, nurse, visit)
    following = next((s for s in day.stops if s.status in render.OPEN), None)
    reply = series_render.with_follow_up(
        turn.tr, render.completed(turn.tr, stop, vitals, following), visit.id
    )
    if message is not None:
        await _show(turn, message, reply)
    else:
        await turn.reply(reply)


def _key(handler: BaseHandler[Any, Any, Any]) -> str:
    return getattr(handler.callback, "__wrapped_key__", None) or key_of(handler.callback)


async def _fall_through(update: Update, context: HomecareContext) -> None:
    """Not ours: hand the text to the first handler after this one that wants it."""
    me = key_of(done_note)
    application = context.application
    for handlers in application.handlers.values():
        keys = [_key(h) for h in handlers]
        if me not in keys:
            continue
        for handler in handlers[keys.index(me) + 1 :]:
            check = handler.check_update(update)
            if check is None or check is False:
                continue
            await handler.handle_update(update, application, check, context)  # type: ignore[arg-type]
            return


# --- leave -----------------------------------------------------------------------------------


async def leave_command(update: Update, context: HomecareContext) -> None:
    """/cuti alone lists her leave days; /cuti DATE [- DATE] asks for leave."""
    turn = context.turn
    nurse = await _nurse(turn)
    if nurse is None:
        await _not_a_nurse(turn, update)
        return
    now = utcnow()
    args = list(context.args or [])
    if not args:
        upcoming = await nurse_visits.upcoming_leave(turn.session, nurse, _today(turn, now))
        await turn.reply(
            render.leave_help(turn.tr, [(lv.day, lv.kind, lv.approved) for lv in upcoming])
        )
        return
    await turn.reply(await _declare_leave(turn, nurse, args, now))


async def _declare_leave(turn: Turn, nurse: Nurse, args: list[str], now: datetime) -> Reply:
    span = leave_span(args, _today(turn, now))
    if isinstance(span, str):
        return Reply(turn.tr("nurse.leave.bad_date", text=span[:40]))
    rules = await load_rules(turn.session, turn.config, turn.clinic_id, now)
    result = await nurse_visits.declare_leave(
        turn.session, rules, nurse, turn.require_account(), *span, now
    )
    if result.refusal is not None:
        return Reply(turn.tr(result.refusal, **result.params))
    return render.leave_saved(turn.tr, result.saved, result.already, result.skipped)


HANDLERS: list[BaseHandler[Any, Any, Any]] = [
    CommandHandler("jadwal", schedule_today),
    CommandHandler("besok", schedule_tomorrow),
    CommandHandler("cuti", leave_command),
    CallbackQueryHandler(open_stop, pattern=r"^nst:"),
    CallbackQueryHandler(stop_action, pattern=r"^nac:"),
    CallbackQueryHandler(confirm_action, pattern=r"^ncf:"),
    CallbackQueryHandler(sick_button, pattern=r"^nsk:"),
    CallbackQueryHandler(show_list, pattern=r"^nls:"),
    MessageHandler(filters.TEXT & ~filters.COMMAND & _NurseSpeaks(), done_note),
]
