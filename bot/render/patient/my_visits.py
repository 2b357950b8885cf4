"""The family's visits: the list, cancelling and moving a visit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from html import escape

from bot.callbacks import encode
from bot.i18n import Translator
from bot.messages import Button, Reply
from bot.render.formats import day_long
from bot.render.patient.booking import busy_note, day_buttons
from bot.render.patient.common import (
    MAX_LISTED,
    REASON_MAX,
    RESCHEDULE_PREFIX,
    VisitLike,
    cb,
    code_label,
    quit_row,
    window_label,
)
from homecare.config import Config
from scheduler.booking import TimeWindow
from scheduler.visits import status_key


def visit_line(
    tr: Translator, visit: VisitLike, who: str, config: Config, nurse: str | None = None
) -> str:
    service = config.service(visit.service_type)
    line = tr(
        "patient.visits.line",
        code=code_label(visit.code),
        who=escape(who),
        day=day_long(tr, visit.day),
        window=window_label(visit.window_start, visit.window_end),
        service=escape(service.name(tr.language) if service else visit.service_type),
        status=tr(status_key(visit.status)),
    )
    if nurse:
        line += "\n" + tr("patient.visits.nurse", nurse=escape(nurse))
    return line


def my_visits(
    tr: Translator,
    nonce: str,
    config: Config,
    upcoming: Sequence[tuple[VisitLike, str, bool, bool, str | None]],
    past: Sequence[tuple[VisitLike, str, str | None]],
) -> Reply:
    """`upcoming`: (visit, who, can_cancel, can_reschedule, nurse); `past`: (visit, who, nurse)."""
    if not upcoming and not past:
        return Reply(tr("patient.visits.none"))
    parts: list[str] = []
    rows: list[tuple[Button, ...]] = []
    locked = False
    if upcoming:
        parts.append(tr("patient.visits.upcoming"))
        for visit, who, cancel_ok, move_ok, nurse in upcoming[:MAX_LISTED]:
            parts.append(visit_line(tr, visit, who, config, nurse))
            row: list[Button] = []
            if move_ok:
                row.append(
                    Button(
                        tr("patient.visits.move_btn", code=code_label(visit.code)),
                        data=cb(nonce, "r", visit.id),
                    )
                )
            if cancel_ok:
                row.append(
                    Button(
                        tr("patient.visits.cancel_btn", code=code_label(visit.code)),
                        data=cb(nonce, "x", visit.id),
                    )
                )
            if row:
                rows.append(tuple(row))
            else:
                locked = True
    if len(upcoming) > MAX_LISTED:
        parts.append(tr("patient.visits.more", n=str(len(upcoming) - MAX_LISTED)))
    if past:
        parts.append(tr("patient.visits.past"))
        parts += [visit_line(tr, visit, who, config, nurse) for visit, who, nurse in past]
    if locked:
        parts.append(
            tr(
                "patient.visits.phone_hint",
                hours=str(config.schedule.cancel_cutoff_hours),
                phone=escape(config.clinic.phone),
            )
        )
    if rows:
        rows.append(quit_row(tr, nonce, "patient.close"))
    return Reply("\n\n".join(parts), buttons=tuple(rows))


CANCEL_REASONS = ("better", "busy", "hospital")


def cancel_ask(tr: Translator, nonce: str, visit: VisitLike) -> Reply:
    rows: list[tuple[Button, ...]] = [
        (Button(tr(f"patient.visits.reason.{r}"), data=cb(nonce, "rs", i)),)
        for i, r in enumerate(CANCEL_REASONS)
    ]
    rows.append((Button(tr("patient.visits.keep"), data=cb(nonce, "q")),))
    return Reply(
        tr(
            "patient.visits.cancel_ask",
            code=code_label(visit.code),
            day=day_long(tr, visit.day),
            window=window_label(visit.window_start, visit.window_end),
            max=str(REASON_MAX),
        ),
        buttons=tuple(rows),
    )


def other_day_button(tr: Translator, visit_id: int) -> Button:
    """A button that opens "move this visit to another day" for the family (validated on press:
    the visit must be theirs and still movable)."""
    return Button(tr("patient.visits.other_day"), data=encode(RESCHEDULE_PREFIX, visit_id))


def cancelled(tr: Translator, visit: VisitLike) -> Reply:
    return Reply(tr("patient.visits.cancelled", code=code_label(visit.code)))


def move_day(
    tr: Translator,
    nonce: str,
    visit: VisitLike,
    days: Sequence[date],
    busy: Sequence[date] = (),
) -> Reply:
    return Reply(
        tr(
            "patient.visits.move_day",
            code=code_label(visit.code),
            day=day_long(tr, visit.day),
            window=window_label(visit.window_start, visit.window_end),
        )
        + busy_note(tr, days, busy),
        buttons=day_buttons(tr, nonce, days),
    )


def move_summary(
    tr: Translator, nonce: str, visit: VisitLike, day: date, window: TimeWindow
) -> Reply:
    return Reply(
        tr(
            "patient.visits.move_summary",
            code=code_label(visit.code),
            old_day=day_long(tr, visit.day),
            old_window=window_label(visit.window_start, visit.window_end),
            day=day_long(tr, day),
            window=window.label,
        ),
        buttons=(
            (Button(tr("patient.visits.move_confirm"), data=cb(nonce, "go")),),
            quit_row(tr, nonce, "patient.visits.keep_as_is"),
        ),
    )


def moved(tr: Translator, visit: VisitLike) -> Reply:
    return Reply(
        tr(
            "patient.visits.moved",
            code=code_label(visit.code),
            day=day_long(tr, visit.day),
            window=window_label(visit.window_start, visit.window_end),
        )
    )
