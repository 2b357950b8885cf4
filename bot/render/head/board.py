"""The board: today's visits at a glance."""

from __future__ import annotations

from html import escape

from bot.callbacks import encode
from bot.i18n import Translator
from bot.messages import Button, Reply
from bot.render.formats import day_short
from bot.render.head.common import STATUS_ICON, day_label, fit_lines, hm, service_name
from db.services.board import Board, BoardVisit
from homecare.config import Config


def _board_line(tr: Translator, config: Config, v: BoardVisit, with_day: bool = False) -> str:
    when = day_short(tr, v.day) + " " if with_day else ""
    start = v.planned_start or v.window_start
    flag = " " + tr(f"head.flag.{v.flag}") if v.flag else ""
    urgent = " ‼️" if v.priority == "urgent" else ""
    return (
        f"  {when}{hm(start)} {STATUS_ICON.get(v.status, '•')} "
        f"{escape(v.patient_first_name)} · {escape(v.kelurahan)} · "
        f"{service_name(config, v.service_type, tr.language)}{urgent}{flag}"
    )


def board(tr: Translator, config: Config, b: Board) -> Reply:
    lines = [
        tr("head.board_title", day=day_label(tr, b.day), time=b.at.strftime("%H:%M")),
        tr("head.board_summary", late=b.late, missed=b.missed),
        "",
    ]
    if not b.nurses:
        lines.append(tr("head.board_no_nurses"))
    for n in b.nurses:
        if n.on_leave:
            state = tr("head.board_on_leave")
        else:
            state = tr("head.board_done", done=n.done, total=len(n.visits))
        lines.append(f"<b>{escape(n.name)}</b> — {state}")
        if not n.visits:
            lines.append("  " + tr("head.board_no_visits"))
        lines += [_board_line(tr, config, v) for v in n.visits]
        lines.append("")
    if b.unassigned:
        lines.append(tr("head.board_unassigned", count=len(b.unassigned)))
        lines += [_board_line(tr, config, v) for v in b.unassigned]
        lines.append("")
    lines.append(tr("head.board_unconfirmed", count=b.unconfirmed_total))
    lines += [_board_line(tr, config, v, with_day=True) for v in b.unconfirmed]
    lines.append(tr("head.board_unplaced", count=b.unplaced_total))
    lines += [_board_line(tr, config, v, with_day=True) for v in b.unplaced]
    return Reply(
        fit_lines(lines, tr),
        buttons=((Button(tr("head.refresh"), data=encode("hb", "r")),),),
    )
