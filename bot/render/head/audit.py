"""Invites and the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape
from typing import Any

from bot.i18n import Translator
from bot.messages import Reply
from bot.render.formats import day_long, moment_short
from bot.render.head.common import actor_word, fit_lines, word


def invite_created(tr: Translator, name: str, role: str, link: str, expires: datetime) -> Reply:
    return Reply(
        tr(
            "head.invite_created",
            name=escape(name),
            role=tr(f"common.roles.{role}"),
            link=escape(link),
            expires=f"{day_long(tr, expires.date())} {expires:%H:%M}",
        )
    )


def invite_ask_name(tr: Translator) -> Reply:
    return Reply(
        tr("head.invite_ask_name"),
        extra={
            "reply_markup": {
                "force_reply": True,
                "input_field_placeholder": tr("head.invite_name_placeholder"),
            }
        },
    )


def audit_entries(
    tr: Translator, entries: Sequence[Any], verified: str, tz: Any, names: dict[int, str]
) -> Reply:
    lines = [tr("head.audit_title"), verified, ""]
    if not entries:
        lines.append(tr("head.audit_empty"))
    for e in entries:
        who = escape(names.get(e.actor_account_id, "—")) if e.actor_account_id else "—"
        lines.append(
            f"{moment_short(tr, e.at, tz)} · {who} ({actor_word(tr, e.actor_role)}) · "
            + word(tr, f"head.audit_action.{e.action}", e.action)
            + f" · <code>{escape(e.subject)}</code>"
        )
    return Reply(fit_lines(lines, tr))


def invite_welcome(tr: Translator, name: str, role: str, clinic: str) -> Reply:
    return Reply(
        tr(
            "head.invite_welcome",
            name=escape(name),
            role=tr(f"common.roles.{role}"),
            clinic=escape(clinic),
        )
        + "\n\n"
        + tr(f"head.invite_next.{role}")
    )
