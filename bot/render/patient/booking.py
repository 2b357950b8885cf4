"""Booking a visit: patient, service, danger signs, complaint, day and window."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from html import escape

from bot.i18n import Translator
from bot.messages import Button, Reply
from bot.render.formats import day_long, day_short
from bot.render.patient.common import (
    COMPLAINT_MAX,
    VisitLike,
    cb,
    code_label,
    quit_row,
    window_label,
)
from bot.render.patient.registration import text_prompt
from homecare.config import Config, DangerSign, ServiceType
from scheduler.booking import TimeWindow


def choose_patient(
    tr: Translator, nonce: str, patients: Sequence[tuple[int, str]], can_add: bool = True
) -> Reply:
    rows: list[tuple[Button, ...]] = [
        (Button(label, data=cb(nonce, "p", pid)),) for pid, label in patients
    ]
    if can_add:
        rows.append((Button(tr("patient.patients.add"), data=cb(nonce, "add")),))
    rows.append(quit_row(tr, nonce))
    return Reply(tr("patient.book.choose_patient"), buttons=tuple(rows))


def choose_service(
    tr: Translator,
    nonce: str,
    services: Sequence[ServiceType],
    who: str,
    again: ServiceType | None = None,
) -> Reply:
    """The services; with `again` (the patient's last request) first: "🔁 Perawatan luka lagi"."""
    rows: list[tuple[Button, ...]] = [
        (Button(s.name(tr.language), data=cb(nonce, "s", i)),) for i, s in enumerate(services)
    ]
    if again is not None:
        repeat = tr("patient.book.again", service=again.name(tr.language))
        rows.insert(0, (Button(repeat, data=cb(nonce, "again")),))
    rows.append(quit_row(tr, nonce))
    return Reply(tr("patient.book.choose_service", who=escape(who)), buttons=tuple(rows))


def danger_question(tr: Translator, nonce: str, signs: Sequence[DangerSign], who: str) -> Reply:
    """Every danger sign in one message: "there is one" → 112/119, "none" → go on."""
    listed = "\n".join(f"• {escape(s.question(tr.language).rstrip('?'))}" for s in signs)
    return Reply(
        tr("patient.book.danger", who=escape(who), signs=listed),
        buttons=(
            (Button(tr("patient.book.danger_any"), data=cb(nonce, "y")),),
            (Button(tr("patient.book.danger_none"), data=cb(nonce, "n")),),
            quit_row(tr, nonce),
        ),
    )


def emergency(tr: Translator, config: Config) -> Reply:
    return Reply(
        tr(
            "patient.book.emergency",
            emergency=" / ".join(config.clinic.emergency_numbers),
            phone=escape(config.clinic.phone),
        ),
        remove_keyboard=True,
    )


def complaint_prompt(tr: Translator, nonce: str) -> Reply:
    return text_prompt(tr, nonce, "patient.book.complaint", max=str(COMPLAINT_MAX))


def no_days(tr: Translator, config: Config) -> Reply:
    return Reply(
        tr(
            "patient.book.no_days",
            days=str(config.schedule.horizon_days),
            phone=escape(config.clinic.phone),
        )
    )


def day_buttons(tr: Translator, nonce: str, days: Sequence[date]) -> tuple[tuple[Button, ...], ...]:
    rows: list[tuple[Button, ...]] = []
    for i in range(0, len(days), 2):
        rows.append(
            tuple(
                Button(day_short(tr, d), data=cb(nonce, "d", d.strftime("%Y%m%d")))
                for d in days[i : i + 2]
            )
        )
    rows.append(quit_row(tr, nonce))
    return tuple(rows)


def busy_note(tr: Translator, days: Sequence[date], busy: Sequence[date]) -> str:
    """Why some days are missing from the picker ("" when none is)."""
    if not busy:
        return ""
    if not days:
        return "\n\n" + tr("sameday.all_busy")
    return "\n\n" + tr("sameday.hidden", days=", ".join(day_short(tr, d) for d in busy))


def choose_day(
    tr: Translator,
    nonce: str,
    days: Sequence[date],
    earliest: tuple[date, TimeWindow, int] | None = None,
    busy: Sequence[date] = (),
) -> Reply:
    """The days; with `earliest` (day, window, its index) first: one tap for the soonest slot;
    days the patient already has a visit on are left out, with a line saying so."""
    buttons = day_buttons(tr, nonce, days)
    if earliest is not None:
        day, window, index = earliest
        text = tr("patient.book.earliest", day=day_short(tr, day), window=window.label)
        first = Button(text, data=cb(nonce, "f", day.strftime("%Y%m%d"), index))
        buttons = ((first,), *buttons)
    return Reply(tr("patient.book.choose_day") + busy_note(tr, days, busy), buttons=buttons)


def window_buttons(
    tr: Translator, nonce: str, windows: Sequence[TimeWindow], all_windows: Sequence[TimeWindow]
) -> tuple[tuple[Button, ...], ...]:
    rows: list[tuple[Button, ...]] = [
        (Button(w.label, data=cb(nonce, "w", all_windows.index(w))),) for w in windows
    ]
    rows.append(quit_row(tr, nonce))
    return tuple(rows)


def choose_window(
    tr: Translator,
    nonce: str,
    day: date,
    windows: Sequence[TimeWindow],
    all_windows: Sequence[TimeWindow],
) -> Reply:
    return Reply(
        tr("patient.book.choose_window", day=day_long(tr, day)),
        buttons=window_buttons(tr, nonce, windows, all_windows),
    )


def booking_summary(
    tr: Translator,
    nonce: str,
    *,
    who: str,
    service: ServiceType,
    complaint: str,
    day: date,
    window: TimeWindow,
) -> Reply:
    return Reply(
        tr(
            "patient.book.summary",
            who=escape(who),
            service=escape(service.name(tr.language)),
            complaint=escape(complaint),
            day=day_long(tr, day),
            window=window.label,
        ),
        buttons=((Button(tr("patient.book.confirm"), data=cb(nonce, "go")),), quit_row(tr, nonce)),
    )


def booked(tr: Translator, visit: VisitLike, who: str, service: ServiceType) -> Reply:
    return Reply(
        tr(
            "patient.book.booked",
            code=code_label(visit.code),
            who=escape(who),
            service=escape(service.name(tr.language)),
            day=day_long(tr, visit.day),
            window=window_label(visit.window_start, visit.window_end),
        )
    )
