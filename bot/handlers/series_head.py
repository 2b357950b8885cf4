"""The head's /seri: regular visits for a patient, from one of the patient's visit codes (its
patient, service and window): ``/seri KODE 3 5`` or ``/seri KODE sen,kam 31-01-2027``.
Every-N series start N days after that visit; weekly ones the day after it (never before the
earliest bookable day). db/services/series.py books each occurrence and tells the family."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.handlers.head import today
from bot.handlers.series_input import parse_rule_args
from bot.messages import Reply
from bot.render import series as render
from bot.turn import HomecareContext, Turn
from db.models import Patient, Visit
from db.services import series as series_service
from db.types import utcnow
from homecare.config import ServiceType
from scheduler.booking import TimeWindow
from scheduler.series import EveryNDays, SeriesRule


async def series_command(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    args = list(context.args or [])
    usage = turn.tr("series.head.usage")
    rule = parse_rule_args(args[1:], today(turn)) if args else None
    if rule is None:
        await turn.reply(Reply(turn.tr("series.head.bad_rule", usage=usage) if args else usage))
        return
    visit = await series_service.visit_by_code(turn.session, turn.clinic_id, args[0])
    service = turn.config.service(visit.service_type) if visit is not None else None
    patient = await turn.session.get(Patient, visit.patient_id) if visit is not None else None
    if visit is None or service is None or patient is None:
        await turn.reply(Reply(turn.tr("series.head.not_found", code=args[0][:16])))
        return
    await turn.reply(await _create(turn, visit, patient, service, rule))


async def _create(
    turn: Turn, visit: Visit, patient: Patient, service: ServiceType, rule: SeriesRule
) -> Reply:
    gap = rule.interval if isinstance(rule, EveryNDays) else 1
    window = TimeWindow(visit.window_start, visit.window_end)
    done = await series_service.create_series(
        turn.session,
        turn.config,
        turn.require_account(),
        patient,
        service,
        rule,
        visit.day + timedelta(days=gap),
        window,
        utcnow(),
    )
    moved = [p.visit.day for p in done.placed if p.visit is not None and p.moved]
    missed = [p.nominal for p in done.placed if p.visit is None]
    name = (patient.full_name or "").split(" ")[0]
    return render.head_created(turn.tr, name, len(done.booked), moved, missed)


HANDLERS: list[BaseHandler[Any, Any, Any]] = [
    CommandHandler(["seri", "series"], series_command),
]
