"""The heads' /rencana [hari_ini | DATE]: plan a day now, in the background (the worker
reports back when done)."""

from __future__ import annotations

from datetime import date
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.handlers.nurse_input import parse_day
from bot.messages import Reply
from bot.render import nurse as render
from bot.turn import HomecareContext, Turn
from db.services import planning
from db.services.booking import load_rules
from db.types import utcnow
from scheduler.booking import BookingRules, next_working_day
from scheduler.plan_day import plan_day_refusal


def _plan_day(turn: Turn, args: list[str], rules: BookingRules, today: date) -> date | Reply:
    """The day /rencana asks for (none: the next working day), or the reply that refuses it."""
    if not args:
        day = next_working_day(rules, today)
    elif args[0].lower() in ("hari_ini", "hariini", "today", "sekarang"):
        day = today
    else:
        parsed = parse_day(args[0], today)
        if parsed is None or len(args) > 1:
            return Reply(turn.tr("nurse.rencana_bad_date", text=" ".join(args)[:40]))
        day = parsed
    refusal = plan_day_refusal(rules, today, day)
    if refusal == "past":
        return Reply(turn.tr("nurse.rencana_past"))
    if refusal == "closed":
        return Reply(turn.tr("nurse.rencana_closed", day=render.day_label(turn.tr, day)))
    return day


async def plan_now(update: Update, context: HomecareContext) -> None:
    """/rencana [hari_ini | DATE]: queue a planning run; the worker reports back when done."""
    turn = context.turn
    now = utcnow()
    rules = await load_rules(turn.session, turn.config, turn.clinic_id, now)
    day = _plan_day(
        turn, list(context.args or []), rules, now.astimezone(turn.config.clinic.tz).date()
    )
    if isinstance(day, Reply):
        await turn.reply(day)
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


HANDLERS: list[BaseHandler[Any, Any, Any]] = [CommandHandler("rencana", plan_now)]
