"""The family's visits: the list, cancelling and moving a visit."""

from __future__ import annotations

from collections.abc import Collection, Sequence
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
from bot.render.series import mark as series_mark
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
    tag = series_mark(tr, getattr(visit, "series_id", None), getattr(visit, "follow_up_of", None))
    if tag:
        line += " · " + tag
    if nurse:
        line += "\n" + tr("patient.visits.nurse", nurse=escape(nurse))
    return line


def my_visits(
    tr: Translator,
    nonce: str,
    config: Config,
    upcoming: Sequence[tuple[VisitLike, str, bool, bool, str | None]],
    past: Sequence[tuple[VisitLike, str, str | None]],
    rest_of_series: Collection[int] = (),
) -> Reply:
    """`upcoming`: (visit, who, can_cancel, can_reschedule, nurse); `past`: (visit, who, nurse);
    `rest_of_series`: visits that get a "cancel the rest of the series" button."""
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
            if visit.id in rest_of_series:
                rows.append((cancel_rest_button(tr, nonce, visit.id),))
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


# --- the rest of a series (steps xs → rest → ys) ---


def cancel_rest_button(tr: Translator, nonce: str, visit_id: int) -> Button:
    return Button(tr("series.btn_cancel_rest"), data=cb(nonce, "xs", visit_id))


def cancel_rest_ask(tr: Translator, nonce: str, day: date, count: int, late: int) -> Reply:
    """The question before cancelling the rest of a series from `day` on (family)."""
    lines = [tr("series.family.cancel_rest_ask", day=day_long(tr, day), count=str(count))]
    if late:
        lines.append(tr("series.family.cancel_rest_late_ahead", count=str(late)))
    buttons = (
        (Button(tr("series.btn_cancel_rest_yes"), data=cb(nonce, "ys")),),
        (Button(tr("series.btn_keep"), data=cb(nonce, "q")),),
    )
    return Reply("\n".join(lines), buttons=buttons)


def cancelled_rest(tr: Translator, done: int, late: int, phone: str) -> Reply:
    lines = [tr("series.family.cancelled_rest", count=str(done))]
    if late:
        lines.append(tr("series.family.cancelled_rest_late", count=str(late), phone=escape(phone)))
    return Reply("\n".join(lines))
