"""Shared parts of the heads' replies: status words, labels, edits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from html import escape
from typing import Any

from bot.i18n import Translator, catalogue
from bot.messages import MAX_TEXT, Reply, to_payload
from bot.render.formats import day_long
from homecare.config import Config
from scheduler.visits import VisitStatus

STATUSES: tuple[str, ...] = tuple(s.value for s in VisitStatus)
STATUS_ICON = {
    "requested": "📝",
    "scheduled": "🗓",
    "confirmed": "✅",
    "on_the_way": "🛵",
    "arrived": "📍",
    "completed": "✔️",
    "not_home": "🚪",
    "cancelled_by_patient": "✖️",
    "cancelled_by_clinic": "✖️",
    "unplaced": "⚠️",
    "expired": "⌛",
    "referred": "🏥",
}
# The vitals a nurse records (keys of scheduler.vitals.Vitals.as_dict()) → locale key and unit.
VITAL_LINES: tuple[tuple[str, str, str], ...] = (
    ("glucose_mg_dl", "glucose", "mg/dL"),
    ("temperature_c", "temperature", "°C"),
    ("spo2_pct", "spo2", "%"),
    ("pulse_per_min", "pulse", "/min"),
    ("respiration_per_min", "respiration", "/min"),
)
SEX = {"L": "male", "M": "male", "P": "female", "F": "female"}


def edit_payload(chat_id: int, message_id: int, reply: Reply) -> dict[str, Any]:
    """editMessageText parameters that turn message `message_id` into `reply`."""
    payload = to_payload(chat_id, reply)
    payload["message_id"] = message_id
    return payload


def fit_lines(lines: Sequence[str], tr: Translator, limit: int = MAX_TEXT - 200) -> str:
    """Join lines, cutting the tail (with a note) so the message stays under Telegram's limit."""
    out: list[str] = []
    size = 0
    for i, line in enumerate(lines):
        if size + len(line) + 1 > limit:
            out.append(tr("head.more_lines", count=len(lines) - i))
            break
        out.append(line)
        size += len(line) + 1
    return "\n".join(out)


def day_label(tr: Translator, day: date) -> str:
    return day_long(tr, day)


def hm(t: time | datetime | None) -> str:
    return t.strftime("%H:%M") if t is not None else "--:--"


def status_label(tr: Translator, status: str) -> str:
    return f"{STATUS_ICON.get(status, '•')} {status_word(tr, status)}"


def word(tr: Translator, key: str, fallback: str) -> str:
    """`tr(key)` when the catalogue has it, else `fallback` (escaped): for values that other
    modules or the configuration may extend (skills, audit actions, statuses)."""
    if key in catalogue(tr.language):
        return tr(key)
    return escape(fallback)


def status_word(tr: Translator, status: str) -> str:
    return word(tr, f"head.status.{status}", status)


def actor_word(tr: Translator, role: str) -> str:
    return word(tr, f"head.actor.{role}", role)


def skill_word(tr: Translator, skill: str) -> str:
    return word(tr, f"head.skill.{skill}", skill)


def service_name(config: Config, code: str, language: str) -> str:
    s = config.service(code)
    return escape(s.name(language) if s else code)
