"""Follow-up and series texts and buttons (pure): values in, text and keyboards out.

Buttons: ``nfu:ask:<visit>`` offers the follow-up days, ``nfu:<days>:<visit>`` books one (nurse);
``scr:<ask|yes>:<visit>`` cancels the rest of a series from that visit on (family).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, time
from html import escape
from typing import Any

from bot.callbacks import encode
from bot.i18n import Translator
from bot.messages import Button, Reply
from bot.render.formats import day_long, day_short, visit_code
from homecare.config import Config

FOLLOW_UP = "nfu"
CANCEL_REST = "scr"
FOLLOW_UP_DAYS = ("3", "7", "14")


def window_label(window: Sequence[time]) -> str:
    return f"{window[0]:%H:%M}–{window[1]:%H:%M}"


def service_name(config: Config, code: str, language: str) -> str:
    service = config.service(code)
    return escape(service.name(language) if service else code)


def with_follow_up(tr: Translator, reply: Reply, visit_id: int) -> Reply:
    """The "Selesai" answer with the follow-up button under what it already offers."""
    row = (Button(tr("series.btn_follow_up"), data=encode(FOLLOW_UP, "ask", visit_id)),)
    return Reply(reply.text, buttons=(*reply.buttons, row))


def follow_up_choices(tr: Translator, who: str, visit_id: int) -> Reply:
    row = tuple(
        Button(tr("series.btn_days", days=d), data=encode(FOLLOW_UP, d, visit_id))
        for d in FOLLOW_UP_DAYS
    )
    return Reply(tr("series.follow_up_ask", who=escape(who)), buttons=(row,))


def follow_up_booked(
    tr: Translator, day: date, nominal: date, window: Sequence[time], code: str
) -> Reply:
    lines = [
        tr(
            "series.follow_up_booked",
            day=day_long(tr, day),
            window=window_label(window),
            code=visit_code(code),
        )
    ]
    if day != nominal:
        lines.append(tr("series.follow_up_moved", nominal=day_long(tr, nominal)))
    return Reply("\n".join(lines))


def family_follow_up(tr: Translator, config: Config, p: Mapping[str, Any]) -> Reply:
    lines = [
        tr(
            "series.family.follow_up",
            name=escape(p["patient_first_name"]),
            service=service_name(config, p["service_type"], tr.language),
            day=day_long(tr, p["day"]),
            window=window_label(p["window"]),
            code=visit_code(p["code"]),
        )
    ]
    if p["moved"]:
        lines.append(
            tr(
                "series.family.moved",
                nominal=day_long(tr, p["nominal"]),
                day=day_long(tr, p["day"]),
            )
        )
    lines.append(tr("series.family.see"))
    return Reply("\n".join(lines))


def family_created(tr: Translator, config: Config, p: Mapping[str, Any]) -> Reply:
    lines = []
    for v in p["visits"]:
        key = "series.family.line" if v["day"] == v["nominal"] else "series.family.line_moved"
        lines.append(
            tr(
                key,
                day=day_short(tr, v["day"]),
                code=visit_code(v["code"]),
                nominal=day_short(tr, v["nominal"]),
            )
        )
    text = tr(
        "series.family.created",
        name=escape(p["patient_first_name"]),
        service=service_name(config, p["service_type"], tr.language),
        window=window_label(p["window"]),
        lines="\n".join(lines),
    )
    parts = [text]
    if p["missed"]:
        parts.append(
            tr("series.family.missed", days=", ".join(day_short(tr, d) for d in p["missed"]))
        )
    parts.append(tr("series.family.see"))
    return Reply("\n\n".join(parts))


def mark(tr: Translator, series_id: int | None, follow_up_of: int | None) -> str:
    """The little tag a visit line gets in /kunjungan_saya ("" for an ordinary visit)."""
    if series_id is not None:
        return tr("series.mark")
    if follow_up_of is not None:
        return tr("series.mark_follow_up")
    return ""


def cancel_rest_button(tr: Translator, visit_id: int) -> Button:
    return Button(tr("series.btn_cancel_rest"), data=encode(CANCEL_REST, "ask", visit_id))


def cancel_rest_ask(tr: Translator, day: date, count: int, visit_id: int) -> Reply:
    buttons = (
        (
            Button(tr("series.btn_cancel_rest_yes"), data=encode(CANCEL_REST, "yes", visit_id)),
            Button(tr("series.btn_keep"), data=encode(CANCEL_REST, "no", visit_id)),
        ),
    )
    return Reply(
        tr("series.family.cancel_rest_ask", day=day_long(tr, day), count=str(count)),
        buttons=buttons,
    )


def cancelled_rest(tr: Translator, done: int, late: int, phone: str) -> Reply:
    lines = [tr("series.family.cancelled_rest", count=str(done))]
    if late:
        lines.append(tr("series.family.cancelled_rest_late", count=str(late), phone=phone))
    return Reply("\n".join(lines))


def head_created(
    tr: Translator, name: str, booked: int, moved: Sequence[date], missed: Sequence[date]
) -> Reply:
    lines = [tr("series.head.created", name=escape(name), booked=str(booked))]
    if moved:
        lines.append(tr("series.head.moved", days=", ".join(day_short(tr, d) for d in moved)))
    if missed:
        lines.append(tr("series.head.missed", days=", ".join(day_short(tr, d) for d in missed)))
    return Reply("\n".join(lines))
