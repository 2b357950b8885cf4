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

import re
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
from bot.messages import Reply
from bot.render import nurse as render
from bot.turn import CURRENT_TURN, HomecareContext, Turn
from db.models import Nurse, Visit
from db.services import access, conversation, nurse_visits, planning
from db.services.booking import load_rules
from db.services.route_digest import NurseDay, StopView, load_nurse_day
from db.types import utcnow
from scheduler.booking import is_working_day
from scheduler.vitals import LABELS, InvalidVital, parse_vitals

FLOW = "nurse_done"
_VITALS_START = re.compile(
    r"(?:ttv|tanda[\s-]*vital|vital\s*signs?|vitals|"
    + "|".join(re.escape(label) for label in sorted(LABELS, key=len, reverse=True))
    + r")(?![a-z])",
    re.IGNORECASE,
)
_DAY_RE = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})(?:[/.\-](\d{2}|\d{4}))?$")


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
    day = today if which == "today" else today + timedelta(days=1)
    nurse_day = await load_nurse_day(turn.session, turn.config, nurse, day)
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
    assert result.refusal is not None
    params = {**result.params, **{k: turn.tr(v) for k, v in result.key_params.items()}}
    return turn.tr(result.refusal, **params)


def _refused(turn: Turn, query_id: str, result: nurse_visits.ActionResult) -> None:
    turn.answer(query_id, _refusal(turn, result), alert=True)


async def stop_action(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    query = update.callback_query
    assert query is not None
    pressed = await _pressed(update, context, render.ACT, render.ACTIONS)
    if pressed is None:
        return
    action, nurse, visit = pressed
    account = turn.require_account()
    now = utcnow()
    tr = turn.tr
    message = _message(update)
    if action in ("go", "arr"):
        if action == "go":
            result = await nurse_visits.depart(
                turn.session, turn.config, nurse, account, visit, now
            )
        else:
            result = await nurse_visits.arrive(turn.session, turn.config, account, visit, now)
        if not result.ok:
            _refused(turn, query.id, result)
            return
        text = (
            tr("nurse.went", eta=render.hm(result.eta))
            if action == "go"
            else tr("nurse.arrived_ack")
        )
        turn.answer(query.id, text)
        card = await _card(turn, nurse, visit, now)
        if card is not None:
            await _show(turn, message, card)
        return
    if action in ("done", "nonote"):
        check = nurse_visits.check_today(turn.config, visit, now)
        if check is None and not nurse_visits.can_complete(visit):
            check = nurse_visits.ActionResult(
                refusal="nurse.stale_status",
                params={
                    "status": tr(f"visit.status.{visit.status}"),
                    "reason": tr("visit.error.not_allowed"),
                },
            )
        if check is not None:
            _refused(turn, query.id, check)
            return
        _, stop = await _day_and_stop(turn, nurse, visit)
        assert stop is not None
        if action == "done":
            await conversation.begin(
                turn.session, account.id, FLOW, "note", {"visit_id": visit.id}, now
            )
            turn.answer(query.id)
            await turn.reply(render.done_prompt(tr, stop))
            return
        await _finish_done(turn, nurse, visit, stop, None, None, now, message)
        turn.answer(query.id)
        return
    if action in render.CONFIRMED_ACTIONS:
        _, stop = await _day_and_stop(turn, nurse, visit)
        reachable = ("scheduled", "confirmed", "on_the_way") + (
            ("arrived",) if action == "nh" else ()
        )
        if stop is None or visit.status not in reachable:
            _refused(turn, query.id, _stale(turn, visit))
            return
        if action == "nh":
            check = nurse_visits.check_today(turn.config, visit, now)
            if check is not None:
                _refused(turn, query.id, check)
                return
        turn.answer(query.id)
        await _show(turn, message, render.confirm(tr, action, stop))
        return
    # "back": leave a confirmation or the note prompt, show the stop again.
    conv = await conversation.load(turn.session, account.id)
    if conv is not None and conv.flow == FLOW and (conv.data or {}).get("visit_id") == visit.id:
        await conversation.finish(turn.session, conv)
        turn.answer(query.id, tr("nurse.done_cancelled"))
    else:
        turn.answer(query.id)
    card = await _card(turn, nurse, visit, now)
    if card is not None:
        await _show(turn, message, card)


def _stale(turn: Turn, visit: Visit) -> nurse_visits.ActionResult:
    return nurse_visits.ActionResult(
        refusal="nurse.stale_status",
        params={
            "status": turn.tr(f"visit.status.{visit.status}"),
            "reason": turn.tr("visit.error.not_allowed"),
        },
    )


async def confirm_action(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    query = update.callback_query
    assert query is not None
    pressed = await _pressed(update, context, render.CONFIRM, render.CONFIRMED_ACTIONS)
    if pressed is None:
        return
    action, nurse, visit = pressed
    account = turn.require_account()
    now = utcnow()
    message = _message(update)
    if action == "nh":
        result = await nurse_visits.not_home(turn.session, turn.config, nurse, account, visit, now)
        if not result.ok:
            _refused(turn, query.id, result)
            return
        turn.answer(query.id, turn.tr("nurse.not_home_done"))
    else:
        if visit.status not in ("scheduled", "confirmed", "on_the_way"):
            _refused(turn, query.id, _stale(turn, visit))
            return
        if visit.day < _today(turn, now):
            _refused(
                turn,
                query.id,
                nurse_visits.check_today(turn.config, visit, now) or _stale(turn, visit),
            )
            return
        replanned = await planning.nurse_cannot_come(
            turn.session, turn.config, nurse, account, visit, now
        )
        turn.answer(query.id, turn.tr("nurse.cannot_done" if replanned else "nurse.cannot_started"))
        if replanned:
            reply = await _overview(turn, "today", now)
            if reply is not None:
                await _show(turn, message, reply)
            return
    card = await _card(turn, nurse, visit, now)
    if card is not None:
        await _show(turn, message, card)


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


def split_note(text: str) -> tuple[str, str]:
    """(note, vitals line): the first line is the note, the rest the vitals — unless the
    message starts with a vitals label, then it is all vitals."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return "", ""
    if _VITALS_START.match(lines[0]):
        return "", ", ".join(lines)
    return lines[0], ", ".join(lines[1:])


async def done_note(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    now = utcnow()
    account = turn.require_account()
    conv = await conversation.load(turn.session, account.id)
    if conv is None or conv.flow != FLOW:
        await _fall_through(update, context)
        return
    if conversation.is_idle(conv, now, turn.config.schedule.conversation_idle_min):
        await conversation.finish(turn.session, conv)
        await _fall_through(update, context)
        return
    raise_stop = ApplicationHandlerStop()
    message = update.effective_message
    text = message.text if message is not None and message.text else ""
    note, vitals_line = split_note(text)
    if len(note) > nurse_visits.NOTE_MAX:
        await turn.reply(Reply(turn.tr("nurse.note_too_long", max=str(nurse_visits.NOTE_MAX))))
        raise raise_stop
    vitals: dict[str, Any] | None = None
    if vitals_line:
        try:
            parsed = parse_vitals(vitals_line)
        except InvalidVital as exc:
            problems = [render.VitalProblem(e.field.value, e.code, e.value) for e in exc.errors]
            await turn.reply(render.vitals_refused(turn.tr, problems))
            raise raise_stop from None
        vitals = None if parsed.is_empty else parsed.as_dict()
    nurse = await _nurse(turn)
    visit_id = (conv.data or {}).get("visit_id")
    visit = (
        await access.nurse_visit(turn.session, account, turn.clinic_id, int(visit_id))
        if nurse is not None and isinstance(visit_id, int)
        else None
    )
    if nurse is None or visit is None:
        await conversation.finish(turn.session, conv)
        await turn.reply(Reply(turn.tr("nurse.not_your_visit")))
        raise raise_stop
    _, stop = await _day_and_stop(turn, nurse, visit)
    if stop is None or not nurse_visits.can_complete(visit):
        await conversation.finish(turn.session, conv)
        await turn.reply(Reply(_refusal(turn, _stale(turn, visit))))
        raise raise_stop
    await conversation.finish(turn.session, conv)
    await _finish_done(turn, nurse, visit, stop, note, vitals, now, None)
    raise raise_stop


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
    reply = render.completed(turn.tr, stop, vitals, following)
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


def parse_day(text: str, today: date) -> date | None:
    """ "15/12", "15-12-2026", "15.12.26" (day first) or "2026-12-15"; the next such day."""
    text = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
        m = _DAY_RE.fullmatch(text)
        if m is None:
            return None
        d, mo = int(m.group(1)), int(m.group(2))
        if m.group(3):
            year = int(m.group(3))
            return date(year + 2000 if year < 100 else year, mo, d)
        day = date(today.year, mo, d)
        return day if day >= today else date(today.year + 1, mo, d)
    except ValueError:
        return None


async def leave_command(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    nurse = await _nurse(turn)
    if nurse is None:
        await _not_a_nurse(turn, update)
        return
    now = utcnow()
    today = _today(turn, now)
    args = list(context.args or [])
    if not args:
        upcoming = await nurse_visits.upcoming_leave(turn.session, nurse, today)
        await turn.reply(
            render.leave_help(turn.tr, [(lv.day, lv.kind, lv.approved) for lv in upcoming])
        )
        return
    words = [a for a in args if a.lower() not in ("-", "s/d", "sd", "sampai", "to", "until")]
    days = [parse_day(w, today) for w in words[:2]]
    bad = next((w for w, d in zip(words, days, strict=False) if d is None), None)
    if bad is not None or len(words) > 2:
        shown = bad if bad is not None else " ".join(words)
        await turn.reply(Reply(turn.tr("nurse.leave.bad_date", text=shown[:40])))
        return
    first = days[0]
    last = days[-1]
    assert first is not None and last is not None
    rules = await load_rules(turn.session, turn.config, turn.clinic_id, now)
    result = await nurse_visits.declare_leave(
        turn.session, rules, nurse, turn.require_account(), first, last, now
    )
    if result.refusal is not None:
        await turn.reply(Reply(turn.tr(result.refusal, **result.params)))
        return
    await turn.reply(render.leave_saved(turn.tr, result.saved, result.already, result.skipped))


# --- heads: plan now -------------------------------------------------------------------------


async def plan_now(update: Update, context: HomecareContext) -> None:
    """/rencana [hari_ini | DATE]: queue a planning run; the worker reports back when done."""
    turn = context.turn
    now = utcnow()
    today = _today(turn, now)
    rules = await load_rules(turn.session, turn.config, turn.clinic_id, now)
    args = list(context.args or [])
    if not args:
        day = today + timedelta(days=1)
        for _ in range(366):
            if is_working_day(rules, day):
                break
            day += timedelta(days=1)
    elif args[0].lower() in ("hari_ini", "hariini", "today", "sekarang"):
        day = today
    else:
        parsed = parse_day(args[0], today)
        if parsed is None or len(args) > 1:
            await turn.reply(Reply(turn.tr("nurse.rencana_bad_date", text=" ".join(args)[:40])))
            return
        day = parsed
    if day < today:
        await turn.reply(Reply(turn.tr("nurse.rencana_past")))
        return
    if not is_working_day(rules, day):
        await turn.reply(Reply(turn.tr("nurse.rencana_closed", day=render.day_label(turn.tr, day))))
        return
    await planning.enqueue(
        turn.session,
        turn.clinic_id,
        day,
        "manual",
        now,
        reason="/rencana",
        requested_by_account_id=turn.require_account().id,
    )
    await turn.reply(render.plan_queued(turn.tr, day))


HANDLERS: list[BaseHandler[Any, Any, Any]] = [
    CommandHandler("jadwal", schedule_today),
    CommandHandler("besok", schedule_tomorrow),
    CommandHandler("cuti", leave_command),
    CommandHandler("rencana", plan_now),
    CallbackQueryHandler(open_stop, pattern=r"^nst:"),
    CallbackQueryHandler(stop_action, pattern=r"^nac:"),
    CallbackQueryHandler(confirm_action, pattern=r"^ncf:"),
    CallbackQueryHandler(sick_button, pattern=r"^nsk:"),
    CallbackQueryHandler(show_list, pattern=r"^nls:"),
    MessageHandler(filters.TEXT & ~filters.COMMAND & _NurseSpeaks(), done_note),
]
