"""Reports (/laporan minggu|bulan, with a chart) and exports (/ekspor: CSV, XLSX, FHIR) for heads,
and the weekly report pushed to every head on Monday morning (`send_weekly_reports`, run by
bot.jobs)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.callbacks import BadCallback, decode
from bot.handlers.head import callback, edit, head_role, parse_range, preset_range, stale, today
from bot.i18n import Translator
from bot.messages import Reply, to_payload
from bot.render import head as render
from bot.render.common import plain
from bot.turn import HomecareContext, Turn
from db.services import audit, exports, outbox, reports
from db.types import utcnow
from homecare.config import Config

if TYPE_CHECKING:
    from bot.ports import Homecare

log = logging.getLogger(__name__)

WEEK_WORDS = ("minggu", "week", "mingguan", "pekan")
MONTH_WORDS = ("bulan", "month", "bulanan")
MAX_EXPORT_DAYS = 366


# --- reports -------------------------------------------------------------------------------------


def report_messages(
    tr: Translator, config: Config, report: reports.Report, today_: date, chat_id: int
) -> list[tuple[str, dict[str, Any], bytes | None]]:
    """The Bot API calls that show one report: the chart as a photo, then the numbers as text
    (with buttons to move between periods)."""
    png = render.report_chart(tr, report)
    photo: dict[str, Any] = {
        "chat_id": chat_id,
        "caption": tr("head.report_caption", period=render.period_label(tr, report.period)),
        "__attachment__": {"field": "photo", "filename": "laporan.png"},
    }
    text = Reply(
        render.report_text(tr, config, report),
        buttons=render.report_buttons(tr, report, today_),
    )
    return [("sendPhoto", photo, png), ("sendMessage", to_payload(chat_id, text), None)]


async def _send_report(turn: Turn, period: reports.Period) -> None:
    assert turn.chat_id is not None
    report = await reports.build(turn.session, turn.clinic_id, period, turn.config.clinic.tz)
    for method, payload, attachment in report_messages(
        turn.tr, turn.config, report, today(turn), turn.chat_id
    ):
        await turn.call(method, payload, chat_id=turn.chat_id, attachment=attachment)


async def report_command(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    args = [a.lower() for a in context.args or []]
    day = today(turn)
    if not args or args[0] in WEEK_WORDS:
        period = reports.week_of(day)
    elif args[0] in MONTH_WORDS:
        period = reports.month_of(day)
    else:
        await turn.reply(plain(turn.tr, "head.report_usage"))
        return
    await _send_report(turn, period)


async def report_period(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    query = callback(update)
    try:
        (token,) = decode(query.data, "hp", 1)
        period = reports.period_from_token(token)
        if period is None or period.start > today(turn):
            raise BadCallback(query.data)
    except BadCallback:
        stale(turn, query)
        return
    turn.answer(query.id)
    await _send_report(turn, period)


async def send_weekly_reports(
    hc: Homecare, now: datetime | None = None, clinic_id: int | None = None
) -> list[int]:
    """Queue last week's report (Monday to Sunday before `now`'s week) to every head of the
    clinic (each clinic when None). Once per head and week: the outbox's dedupe keys make a
    second run, or a catch-up after a restart, add nothing. Returns the outbox ids queued."""
    if clinic_id is None:
        ids: list[int] = []
        for one, _ in hc.clinics.scopes():
            ids += await send_weekly_reports(hc, now, one)
        return ids
    return await _weekly_report(hc, now or utcnow(), clinic_id)


async def _weekly_report(hc: Homecare, now: datetime, clinic_id: int) -> list[int]:
    config = hc.clinics.config_for(clinic_id)
    tz = config.clinic.tz
    today_ = now.astimezone(tz).date()
    period = reports.last_complete_week(today_)
    ids: list[int] = []
    async with hc.db.transaction() as session:
        heads = await reports.report_readers(session, clinic_id)
        if not heads:
            return []
        report = await reports.build(session, clinic_id, period, tz)
        for account in heads:
            tr = Translator(account.language)
            ids += await outbox.queue_calls(
                session,
                report_messages(tr, config, report, today_, account.chat_id),
                chat_id=account.chat_id,
                kind="weekly_report",
                clinic_id=clinic_id,
                account_id=account.id,
                dedupe_prefix=f"weekly-report:{clinic_id}:{period.token()}:{account.id}",
            )
    if ids:
        hc.relay.wake(ids)
        log.info("weekly report %s queued (%d messages)", period.token(), len(ids))
    return ids


# --- exports -------------------------------------------------------------------------------------

EXPORT_PRESETS = ("w", "lw", "m", "p", "30")


def _ranges(day: date) -> list[tuple[str, date, date]]:
    out = []
    for key in EXPORT_PRESETS:
        span = preset_range(key, day)
        assert span is not None
        out.append((key, span[0], span[1]))
    return out


def _compact(text: str) -> date | None:
    try:
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        return None


def _valid_span(start: date | None, end: date | None) -> bool:
    return (
        start is not None
        and end is not None
        and start <= end
        and (end - start).days < MAX_EXPORT_DAYS
    )


# Exports run outside the update's turn: a month of a busy clinic takes seconds to write and
# validate, and updates are handled one at a time. The turn audits the request and answers at
# once; after its commit a task builds the files (in a thread) and queues them. A crash in between
# loses the files, not the request's audit entry: the head asks again.
_EXPORT_TASKS: set[asyncio.Task[Any]] = set()


async def run_export(
    turn: Turn, context: HomecareContext, start: date, end: date, fmt: str
) -> None:
    """Audit the export, say it is coming, and start building it once the turn is committed."""
    assert turn.chat_id is not None
    account = turn.require_account()
    await audit.append(
        turn.session,
        clinic_id=turn.clinic_id,
        actor_account_id=account.id,
        actor_role=head_role(turn),
        action=audit.EXPORT,
        subject=f"export:{start.isoformat()}..{end.isoformat()}:{fmt}",
    )
    await turn.reply(plain(turn.tr, "head.export_started"))
    job = ExportJob(
        chat_id=turn.chat_id,
        account_id=account.id,
        language=turn.language,
        clinic_id=turn.clinic_id,
        start=start,
        end=end,
        fmt=fmt,
        key=f"export:{turn.update_id}",
    )
    _start_after_commit(turn, context.hc, job)


def _start_after_commit(turn: Turn, hc: Homecare, job: ExportJob) -> None:
    """Build the files only once the audit entry is committed (see _EXPORT_TASKS)."""

    def after_commit(_session: Any) -> None:
        task = asyncio.get_running_loop().create_task(job.run(hc), name=job.key)
        _EXPORT_TASKS.add(task)
        task.add_done_callback(_EXPORT_TASKS.discard)

    event.listen(turn.session.sync_session, "after_commit", after_commit, once=True)


@dataclass(frozen=True)
class ExportJob:
    chat_id: int
    account_id: int
    language: str
    clinic_id: int
    start: date
    end: date
    fmt: str
    key: str  # dedupe key prefix: the files are queued once per request

    async def run(self, hc: Homecare) -> list[int]:
        calls = await self._calls(hc)
        async with hc.db.transaction() as session:
            ids = await outbox.queue_calls(
                session,
                calls,
                chat_id=self.chat_id,
                kind="export",
                clinic_id=self.clinic_id,
                account_id=self.account_id,
                dedupe_prefix=self.key,
            )
        hc.relay.wake(ids)
        return ids

    async def _calls(self, hc: Homecare) -> list[tuple[str, dict[str, Any], bytes | None]]:
        """The files and summary, or a "failed" message: the head hears either way."""
        tr = Translator(self.language)
        c = hc.clinic(self.clinic_id)
        try:
            async with hc.db.read() as session:
                data = await exports.load(
                    session, self.clinic_id, c.code, self.start, self.end, c.tz
                )
            result = await asyncio.to_thread(exports.render_files, data, self.fmt)
        except Exception:
            log.exception("export %s failed", self.key)
            reply = plain(tr, "head.export_failed")
            return [("sendMessage", to_payload(self.chat_id, reply), None)]
        return render.export_messages(tr, self.chat_id, result, self.fmt, self.start, self.end)


async def export_command(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    args = list(context.args or [])
    if not args:
        await turn.reply(render.export_ranges(turn.tr, _ranges(today(turn))))
        return
    fmt = args.pop().lower() if args and args[-1].lower() in exports.FORMATS else None
    span = parse_range(args, today(turn)) if args else None
    if span is None or not _valid_span(*span):
        await turn.reply(plain(turn.tr, "head.export_usage"))
        return
    if fmt is None:
        await turn.reply(render.export_formats(turn.tr, *span))
        return
    await run_export(turn, context, span[0], span[1], fmt)


async def export_range(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    query = callback(update)
    try:
        a, b = decode(query.data, "hx", 2)
        start, end = _compact(a), _compact(b)
        if not _valid_span(start, end):
            raise BadCallback(query.data)
    except BadCallback:
        stale(turn, query)
        return
    assert start is not None and end is not None
    await edit(turn, query, render.export_formats(turn.tr, start, end))
    turn.answer(query.id)


async def export_run(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    query = callback(update)
    try:
        a, b, fmt = decode(query.data, "hxr", 3)
        start, end = _compact(a), _compact(b)
        if not _valid_span(start, end) or fmt not in exports.FORMATS:
            raise BadCallback(query.data)
    except BadCallback:
        stale(turn, query)
        return
    assert start is not None and end is not None
    turn.answer(query.id)
    await run_export(turn, context, start, end, fmt)


HANDLERS: list[BaseHandler[Any, Any, Any]] = [
    CommandHandler(["laporan", "report"], report_command),
    CallbackQueryHandler(report_period, pattern=r"^hp:"),
    CommandHandler(["ekspor", "export"], export_command),
    CallbackQueryHandler(export_range, pattern=r"^hx:"),
    CallbackQueryHandler(export_run, pattern=r"^hxr:"),
]
