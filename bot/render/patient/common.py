"""Shared parts of the family's replies: callback data, names and dates, housekeeping."""

from __future__ import annotations

from datetime import date
from html import escape
from typing import Any, Protocol

from bot.callbacks import encode
from bot.i18n import Translator
from bot.messages import Button, Reply
from bot.render.formats import visit_code
from bot.render.patient.kin import said
from scheduler.booking import TimeWindow

STEP_PREFIX = "pc"
FEEDBACK_PREFIX = "pf"
START_BOOKING_PREFIX = "pn"
# `pn:0`: book for whichever patient the family then picks (the welcome back has no one patient).
ANY_PATIENT = 0
# "Choose another day for this visit" (e.g. under the planner's "could not place" note).
RESCHEDULE_PREFIX = "pr"
COMPLAINT_MAX = 500
COMMENT_MAX = 500
REASON_MAX = 200
# Upcoming visits listed with buttons: keeps a message under Telegram's 4,096 characters.
MAX_LISTED = 8


class PatientLike(Protocol):
    full_name: str | None
    phone: str | None
    address: str | None
    kelurahan: str | None
    rt_rw: str | None
    landmark: str | None


class VisitLike(Protocol):
    id: int
    code: str
    day: date
    window_start: Any
    window_end: Any
    service_type: str
    status: str


def cb(nonce: str, action: str, *args: str | int) -> str:
    return encode(STEP_PREFIX, nonce, action, *args)


def quit_row(tr: Translator, nonce: str, label: str = "patient.quit") -> tuple[Button, ...]:
    """The step's way out. A list that only shows things is closed ("Tutup"), not "cancelled"."""
    return (Button(tr(label), data=cb(nonce, "q")),)


def with_hint(tr: Translator, hint_key: str | None, reply: Reply, **params: str) -> Reply:
    """The step's question again, with a short note on why the last answer was not taken."""
    if hint_key is None:
        return reply
    hint = tr(hint_key, **params) if params else tr(hint_key)
    return Reply(
        f"{hint}\n\n{reply.text}",
        buttons=reply.buttons,
        keyboard=reply.keyboard,
        remove_keyboard=reply.remove_keyboard,
    )


def joined(lead: Reply | None, reply: Reply) -> Reply:
    """`lead`'s text above `reply` (whose buttons and keyboard it keeps), as one message."""
    if lead is None:
        return reply
    return Reply(
        f"{lead.text}\n\n{reply.text}",
        buttons=reply.buttons,
        keyboard=reply.keyboard,
        remove_keyboard=reply.remove_keyboard,
    )


# --- dates and names -------------------------------------------------------------------------


def window_label(start: Any, end: Any) -> str:
    return TimeWindow(start, end).label


def code_label(code: str) -> str:
    return visit_code(code)


def who_plain(tr: Translator, name: str | None, label: str | None, is_self: bool) -> str:
    """How the family names a patient on a button or in a list (plain text, not escaped)."""
    label = tr("patient.self_label") if is_self else (label and said(tr, label))
    if label and name:
        return f"{label} ({name})"
    return label or name or tr("patient.deleted_name")


def who_in_sentence(tr: Translator, name: str | None, label: str | None, is_self: bool) -> str:
    """The patient inside a question: "Anda" for oneself, else "Ibu Anda" (plain text)."""
    if is_self:
        return tr("patient.you")
    return (label and said(tr, label)) or name or tr("patient.deleted_name")


def who_html(tr: Translator, name: str | None, label: str | None, is_self: bool) -> str:
    return escape(who_plain(tr, name, label, is_self))


def patient_name_html(tr: Translator, patient: PatientLike | None) -> str:
    if patient is None or not patient.full_name:
        return tr("patient.deleted_name")
    return escape(patient.full_name)


# --- conversation housekeeping ---------------------------------------------------------------


def conversation_expired(tr: Translator, flow: str) -> Reply:
    """An idle conversation ended; the family's flows point back to /minta_kunjungan."""
    key = "patient.expired" if flow.startswith("p.") else "patient.expired_other"
    return Reply(tr(key), remove_keyboard=True)


def quit_done(tr: Translator) -> Reply:
    return Reply(tr("patient.quit_done"), remove_keyboard=True)
