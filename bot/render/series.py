"""Follow-up and series texts and buttons (pure): values in, text and keyboards out.

Buttons: ``nfu:ask:<visit>`` offers the follow-up days, ``nfu:<days>:<visit>`` books one (nurse);
cancelling the rest of a series is a step of the family's /kunjungan_saya flow (``xs``, ``ys``).
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
from scheduler.series import EveryNDays, parse_rule

FOLLOW_UP = "nfu"
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


def staff_cancelled_rest(tr: Translator, p: Mapping[str, Any], patient: str) -> Reply:
    days = ", ".join(f"{day_short(tr, v['day'])} ({visit_code(v['code'])})" for v in p["visits"])
    lines = [
        tr(
            "series.staff.cancelled_rest",
            patient=patient,
            count=str(len(p["visits"])),
            days=days,
        )
    ]
    if p.get("reason"):
        lines.append(tr("patient.staff.reason", reason=escape(p["reason"])))
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


def rule_text(tr: Translator, key: str) -> str:
    """ "tiap 3 hari, 7 kali" / "tiap Sen, Kam sampai Sab 29 Mei" from the stored rule key."""
    try:
        rule = parse_rule(key)
    except ValueError:
        return escape(key)
    if isinstance(rule, EveryNDays):
        return tr("series.head.rule_every", interval=str(rule.interval), count=str(rule.count))
    days = ", ".join(tr(f"patient.weekday_short.{d}") for d in sorted(rule.weekdays))
    return tr("series.head.rule_weekly", days=days, until=day_short(tr, rule.until))


def log_lines(
    tr: Translator, series: tuple[int, str, bool] | None, follow_up_of: str | None
) -> list[str]:
    """The visit detail's lines for a series (id, rule key, closed) or a follow-up."""
    lines = []
    if series is not None:
        sid, key, closed = series
        name = "series.head.detail_series_closed" if closed else "series.head.detail_series"
        lines.append(tr(name, id=str(sid), rule=rule_text(tr, key)))
    if follow_up_of is not None:
        lines.append(tr("series.head.detail_follow_up", code=visit_code(follow_up_of)))
    return lines
