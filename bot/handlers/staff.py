"""/staf — the head manages nurses: skills, daily cap, active or not, leave.

All in one message edited in place: the list, a nurse's card, the leave pickers. Every change is
audited by the service; the nurse concerned is told (and her menu refreshed when her role goes)
through the intents `db.services.staff_notes` queues, the same calls as the web console's.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.callbacks import BadCallback, decode_int
from bot.handlers.buttons import head_nurse, press, record_press
from bot.handlers.head import callback, edit, today
from bot.messages import Reply
from bot.render import head as render
from bot.turn import HomecareContext, Turn
from db.services import staff, staff_notes
from db.services.patients import Notes
from db.types import utcnow

LEAVE_DAYS_AHEAD = 14


def _notes(turn: Turn) -> Notes:
    """The intents the services queue count as this update's (the relay sends them soon)."""
    return Notes(turn.update_id, turn.outbox_ids)


def _offered(turn: Turn) -> list[str]:
    return staff.skills_offered(turn.config.services)


async def _list_reply(turn: Turn) -> Reply:
    nurses = await staff.list_nurses(turn.session, turn.clinic_id, today(turn))
    return render.staff_list(turn.tr, nurses)


async def _card_reply(turn: Turn, nurse_id: int) -> Reply | None:
    day = today(turn)
    nurses = await staff.list_nurses(turn.session, turn.clinic_id, day)
    summary = next((n for n in nurses if n.nurse_id == nurse_id), None)
    if summary is None:
        return None
    leave = await staff.leave_of(turn.session, nurse_id, day)
    return render.nurse_card(turn.tr, summary, _offered(turn), leave)


async def _show_card(turn: Turn, update: Update, nurse_id: int, note: str | None = None) -> None:
    query = callback(update)
    reply = await _card_reply(turn, nurse_id)
    if reply is None:
        turn.answer(query.id, turn.tr("head.staff_error.unknown_nurse"), alert=True)
        return
    await edit(turn, query, reply)
    turn.answer(query.id, note)


async def staff_command(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    await turn.reply(await _list_reply(turn))


async def staff_list(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    pressed = press(turn, update, "hS", 0, lambda _: None)
    if pressed is None:
        return
    await edit(turn, pressed.query, await _list_reply(turn))
    turn.answer(pressed.query.id)


async def nurse_card(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    pressed = press(turn, update, "hn", 1, lambda a: decode_int(a[0]))
    if pressed is not None:
        await _show_card(turn, update, pressed.args)


async def _refuse(turn: Turn, update: Update, exc: staff.StaffError) -> None:
    turn.answer(callback(update).id, turn.tr(f"head.staff_error.{exc.code}"), alert=True)


async def skill_toggle(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    offered = _offered(turn)
    pressed = press(turn, update, "hk", 2, lambda a: (decode_int(a[0]), offered[decode_int(a[1])]))
    if pressed is None:
        return
    nurse_id, skill = pressed.args
    try:
        await staff.toggle_skill(
            turn.session,
            turn.clinic_id,
            nurse_id,
            skill,
            offered,
            turn.require_account(),
            utcnow(),
        )
    except staff.StaffError as exc:
        await _refuse(turn, update, exc)
        return
    await _show_card(turn, update, nurse_id, turn.tr("head.saved"))


async def cap_change(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    pressed = press(turn, update, "hc", 2, lambda a: (decode_int(a[0]), {"u": 1, "d": -1}[a[1]]))
    if pressed is None:
        return
    nurse_id, delta = pressed.args
    try:
        await staff.change_cap(
            turn.session, turn.clinic_id, nurse_id, delta, turn.require_account(), utcnow()
        )
    except staff.StaffError as exc:
        await _refuse(turn, update, exc)
        return
    await _show_card(turn, update, nurse_id, turn.tr("head.saved"))


def _flag(text: str) -> bool:
    if text not in ("0", "1"):
        raise BadCallback(text)
    return text == "1"


def _nurse_flag(parts: list[str]) -> tuple[int, bool]:
    return decode_int(parts[0]), _flag(parts[1])


async def active_ask(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    pressed = press(turn, update, "ha", 2, _nurse_flag)
    if pressed is None:
        return
    query, (nurse_id, active) = pressed.query, pressed.args
    nurses = await staff.list_nurses(turn.session, turn.clinic_id, today(turn))
    nurse = next((n for n in nurses if n.nurse_id == nurse_id), None)
    if nurse is None:
        turn.answer(query.id, turn.tr("head.staff_error.unknown_nurse"), alert=True)
        return
    await edit(turn, query, render.confirm_active(turn.tr, nurse_id, nurse.name, active))
    turn.answer(query.id)


async def active_set(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    pressed = press(turn, update, "hA", 2, _nurse_flag)
    if pressed is None:
        return
    nurse_id, active = pressed.args
    now = utcnow()
    try:
        # The note to her and her menu reset are intents the service queues.
        change = await staff_notes.set_active(
            turn.session,
            turn.clinic_id,
            nurse_id,
            active,
            turn.require_account(),
            now,
            today(turn),
            _notes(turn),
        )
    except staff.StaffError as exc:
        await _refuse(turn, update, exc)
        return
    answer = turn.tr("head.saved")
    if not active and change.open_visits:
        answer = turn.tr("head.nurse_open_visits", count=change.open_visits)
    await _show_card(turn, update, nurse_id, answer)


def _day(text: str) -> date:
    try:
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raise BadCallback(text) from None


UNKNOWN_NURSE = "head.staff_error.unknown_nurse"


async def leave_menu(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    pressed = await record_press(
        turn, update, "hv", 1, lambda a: (decode_int(a[0]), None), head_nurse, UNKNOWN_NURSE
    )
    if pressed is None:
        return
    query, nurse_id, name = pressed.query, pressed.record.id, pressed.record.name
    first = today(turn)
    days = [first + timedelta(days=i) for i in range(LEAVE_DAYS_AHEAD)]
    await edit(turn, query, render.leave_days(turn.tr, nurse_id, name, days))
    turn.answer(query.id)


async def leave_day(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    pressed = await record_press(
        turn, update, "hvd", 2, lambda a: (decode_int(a[0]), _day(a[1])), head_nurse, UNKNOWN_NURSE
    )
    if pressed is None:
        return
    query, nurse, day = pressed.query, pressed.record, pressed.args
    await edit(
        turn, query, render.leave_kinds(turn.tr, nurse.id, nurse.name, day, staff.LEAVE_KINDS)
    )
    turn.answer(query.id)


def _leave_answer(turn: Turn, change: staff.LeaveChange) -> str:
    if change.approved and change.visits_that_day:
        return turn.tr("head.leave_visits_warning", count=change.visits_that_day)
    return turn.tr("head.saved")


async def leave_record(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    pressed = press(turn, update, "hvk", 3, lambda a: (decode_int(a[0]), _day(a[1]), a[2]))
    if pressed is None:
        return
    nurse_id, day, kind = pressed.args
    now = utcnow()
    try:
        [change] = await staff_notes.record_leave(
            turn.session,
            turn.clinic_id,
            nurse_id,
            day,
            day,
            kind,
            turn.require_account(),
            now,
            today(turn, now),
            _notes(turn),
        )
    except staff.StaffError as exc:
        await _refuse(turn, update, exc)
        return
    await _show_card(turn, update, nurse_id, _leave_answer(turn, change))


async def _decide(update: Update, context: HomecareContext, prefix: str, approve: bool) -> None:
    turn = context.turn
    pressed = press(turn, update, prefix, 1, lambda a: decode_int(a[0]))
    if pressed is None:
        return
    leave_id = pressed.args
    now = utcnow()
    try:
        change = await staff_notes.decide_leave(
            turn.session,
            turn.clinic_id,
            leave_id,
            approve,
            turn.require_account(),
            now,
            today(turn, now),
            _notes(turn),
        )
    except staff.StaffError as exc:
        await _refuse(turn, update, exc)
        return
    await _show_card(turn, update, change.nurse.id, _leave_answer(turn, change))


async def leave_approve(update: Update, context: HomecareContext) -> None:
    await _decide(update, context, "hva", True)


async def leave_refuse(update: Update, context: HomecareContext) -> None:
    await _decide(update, context, "hvr", False)


HANDLERS: list[BaseHandler[Any, Any, Any]] = [
    CommandHandler(["staf", "staff"], staff_command),
    CallbackQueryHandler(staff_list, pattern=r"^hS$"),
    CallbackQueryHandler(nurse_card, pattern=r"^hn:"),
    CallbackQueryHandler(skill_toggle, pattern=r"^hk:"),
    CallbackQueryHandler(cap_change, pattern=r"^hc:"),
    CallbackQueryHandler(active_ask, pattern=r"^ha:"),
    CallbackQueryHandler(active_set, pattern=r"^hA:"),
    CallbackQueryHandler(leave_menu, pattern=r"^hv:"),
    CallbackQueryHandler(leave_day, pattern=r"^hvd:"),
    CallbackQueryHandler(leave_record, pattern=r"^hvk:"),
    CallbackQueryHandler(leave_approve, pattern=r"^hva:"),
    CallbackQueryHandler(leave_refuse, pattern=r"^hvr:"),
]
