"""Reminders, the evening "will you be at home?" question and its answers, the heads' digest.

Pure: values in, `Reply` out. Names and addresses come from people and are escaped here.
"""

from __future__ import annotations

from datetime import date, datetime, time
from html import escape
from zoneinfo import ZoneInfo

from bot.callbacks import encode
from bot.i18n import Translator, catalogue
from bot.messages import MAX_TEXT, Button, Reply
from bot.render.formats import day_long, visit_code
from db.services.escalations import (
    KIND_UNCONFIRMED,
    KIND_UNDELIVERED,
    KIND_UNPLACED,
    KIND_UNREACHABLE,
    Digest,
    DigestItem,
)

CONFIRM_PREFIX = "cf"
# Button actions: yes, no (asks again), reschedule, cancel confirmed, back to the question.
YES, NO, RESCHEDULE, CANCEL, BACK = "y", "n", "r", "x", "b"
ACTIONS = frozenset({YES, NO, RESCHEDULE, CANCEL, BACK})


def confirm_data(visit_id: int, day: date, action: str) -> str:
    """callback_data of the question's buttons: the day ties a button to the visit's date, so a
    reminder for a visit that was moved since is recognised as stale."""
    return encode(CONFIRM_PREFIX, visit_id, day.toordinal(), action)


def day_text(tr: Translator, day: date) -> str:
    """ "Senin, 30 November 2026" / "Monday, 30 November 2026"."""
    return day_long(tr, day)


def window_text(window: tuple[time, time]) -> str:
    return f"{window[0]:%H:%M}–{window[1]:%H:%M}"


def clock(moment: datetime, tz: ZoneInfo) -> str:
    return f"{moment.astimezone(tz):%H:%M}"


# --- reminders --------------------------------------------------------------------------------


def question_buttons(tr: Translator, visit_id: int, day: date) -> tuple[tuple[Button, ...], ...]:
    return (
        (
            Button(tr("delivery.confirm.yes"), data=confirm_data(visit_id, day, YES)),
            Button(tr("delivery.confirm.no"), data=confirm_data(visit_id, day, NO)),
        ),
        (Button(tr("delivery.confirm.reschedule"), data=confirm_data(visit_id, day, RESCHEDULE)),),
    )


def evening_question_text(
    tr: Translator, patient: str, service: str, day: date, window: tuple[time, time]
) -> str:
    return tr(
        "delivery.reminder.evening_confirm",
        patient=escape(patient),
        service=escape(service),
        day=day_text(tr, day),
        window=window_text(window),
    )


def evening_question(
    tr: Translator,
    *,
    visit_id: int,
    patient: str,
    service: str,
    day: date,
    window: tuple[time, time],
) -> Reply:
    """The evening-before reminder: "Will the patient be at home?" Ya / Tidak / Jadwal ulang."""
    return Reply(
        evening_question_text(tr, patient, service, day, window),
        buttons=question_buttons(tr, visit_id, day),
    )


def before_arrival(
    tr: Translator,
    *,
    patient: str,
    service: str,
    nurse: str | None,
    arrival: datetime | None,
    window: tuple[time, time],
    tz: ZoneInfo,
) -> Reply:
    if nurse and arrival is not None:
        return Reply(
            tr(
                "delivery.reminder.before_arrival",
                nurse=escape(nurse),
                arrival=clock(arrival, tz),
                patient=escape(patient),
                service=escape(service),
            )
        )
    return Reply(
        tr(
            "delivery.reminder.before_arrival_no_nurse",
            window=window_text(window),
            patient=escape(patient),
            service=escape(service),
        )
    )


def nurse_before_visit(
    tr: Translator, *, patient: str, service: str, arrival: datetime, address: str, tz: ZoneInfo
) -> Reply:
    return Reply(
        tr(
            "delivery.reminder.nurse_before_visit",
            arrival=clock(arrival, tz),
            patient=escape(patient),
            service=escape(service),
            address=escape(address),
        )
    )


def nurse_unconfirmed(
    tr: Translator,
    *,
    patient: str,
    service: str,
    day: date,
    window: tuple[time, time],
    phone: str | None,
    asked: bool = True,
) -> Reply:
    return Reply(
        tr(
            "delivery.reminder.nurse_unconfirmed" if asked else "delivery.reminder.nurse_unasked",
            day=day_text(tr, day),
            window=window_text(window),
            patient=escape(patient),
            service=escape(service),
            phone=escape(phone) if phone else tr("delivery.reminder.no_phone"),
        )
    )


def nurse_confirmed_late(
    tr: Translator, *, patient: str, day: date, window: tuple[time, time]
) -> Reply:
    return Reply(
        tr(
            "delivery.reminder.nurse_confirmed_late",
            day=day_text(tr, day),
            window=window_text(window),
            patient=escape(patient),
        )
    )


# --- answers ----------------------------------------------------------------------------------


def confirm_text(tr: Translator, key: str, day: date, window: tuple[time, time]) -> str:
    return tr(f"delivery.confirm.{key}", day=day_text(tr, day), window=window_text(window))


def ask_cancel(tr: Translator, visit_id: int, day: date, window: tuple[time, time]) -> Reply:
    return Reply(
        confirm_text(tr, "ask_cancel", day, window),
        buttons=(
            (
                Button(tr("delivery.confirm.cancel_yes"), data=confirm_data(visit_id, day, CANCEL)),
                Button(tr("delivery.confirm.cancel_back"), data=confirm_data(visit_id, day, BACK)),
            ),
        ),
    )


# --- the heads' digest -----------------------------------------------------------------------

_SECTIONS = (
    (KIND_UNREACHABLE, "delivery.digest.section_unreachable"),
    (KIND_UNDELIVERED, "delivery.digest.section_undelivered"),
    (KIND_UNCONFIRMED, "delivery.digest.section_unconfirmed"),
    (KIND_UNPLACED, "delivery.digest.section_unplaced"),
)
_KNOWN = frozenset(kind for kind, _ in _SECTIONS)


def _who(tr: Translator, item: DigestItem) -> str:
    patient = escape(item.patient_name) if item.patient_name else None
    if item.kind in (KIND_UNREACHABLE, KIND_UNDELIVERED) and item.account_name:
        account = escape(item.account_name)
        if patient and item.account_name != item.patient_name:
            return tr("delivery.digest.caregiver_of", account=account, patient=patient)
        return patient or account
    return patient or tr("delivery.digest.unknown_patient")


def _line(tr: Translator, item: DigestItem) -> str:
    who = _who(tr, item)
    phone = (
        escape(item.patient_phone) if item.patient_phone else tr("delivery.digest.unknown_phone")
    )
    visit = item.visit_code is not None and item.visit_day is not None and item.window
    if item.kind in (KIND_UNREACHABLE, KIND_UNDELIVERED, KIND_UNCONFIRMED):
        if visit:
            assert item.visit_day is not None and item.window is not None
            return tr(
                "delivery.digest.person_visit",
                who=who,
                phone=phone,
                code=escape(visit_code(item.visit_code)),
                day=day_text(tr, item.visit_day),
                window=window_text(item.window),
            )
        return tr("delivery.digest.person", who=who, phone=phone)
    if item.kind == KIND_UNPLACED and visit:
        assert item.visit_day is not None and item.window is not None
        line = tr(
            "delivery.digest.visit",
            code=escape(visit_code(item.visit_code)),
            who=who,
            day=day_text(tr, item.visit_day),
            window=window_text(item.window),
        )
        if item.detail:
            line += "\n" + tr("delivery.digest.reason", reason=escape(item.detail))
        return line
    label_key = f"delivery.digest.kind.{item.kind}"
    label = tr(label_key) if label_key in catalogue(tr.language) else escape(item.kind)
    return tr("delivery.digest.other", kind=label, detail=escape(item.detail or who))


# Room kept for the "… and N more" line under Telegram's 4,096 characters.
_DIGEST_BUDGET = MAX_TEXT - 200


def digest(tr: Translator, data: Digest) -> Reply:
    """One message listing every open task, grouped by what the head should do; what does not
    fit in one message is counted at the end."""
    lines = [tr("delivery.digest.title", count=str(data.total))]
    size = len(lines[0])
    shown = 0
    for kind, title in (*_SECTIONS, ("", "delivery.digest.section_other")):
        items = [i for i in data.items if (i.kind == kind if kind else i.kind not in _KNOWN)]
        section: list[str] = []
        for item in items:
            line = _line(tr, item)
            head = 0 if section else len(tr(title)) + 2
            if size + head + len(line) + 1 > _DIGEST_BUDGET:
                break
            if not section:
                section = ["", tr(title)]
                size += head
            section.append(line)
            size += len(line) + 1
            shown += 1
        lines += section
    hidden = data.total - shown
    if hidden > 0:
        lines += ["", tr("delivery.digest.more", count=str(hidden))]
    return Reply("\n".join(lines))
