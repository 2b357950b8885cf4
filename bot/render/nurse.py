"""What nurses read (their day, a stop, the morning digest) and what planning tells families and
heads. Pure: values in, `Reply` out. Anything a person typed is escaped here."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, time
from html import escape
from typing import TYPE_CHECKING, Any

from bot.callbacks import encode
from bot.i18n import Translator
from bot.messages import MAX_TEXT, Button, Reply, to_payload
from bot.render.formats import day_long, visit_code
from bot.render.route_map import MapPoint, directions_url, route_links
from homecare.config import Config

if TYPE_CHECKING:
    from db.services.nurse_visits import ActionResult
    from db.services.route_digest import NurseDay, StopView

STATUS_ICON = {
    "requested": "📝",
    "scheduled": "🗓",
    "confirmed": "✅",
    "on_the_way": "🛵",
    "arrived": "📍",
    "completed": "✔️",
    "not_home": "🚪",
    "unplaced": "⚠️",
    "referred": "🏥",
}
OPEN = ("scheduled", "confirmed")
NUMBERS_PER_ROW = 6

# Callback data (≤ 64 bytes; every part checked again by the handler).
OPEN_STOP = "nst"  # nst:<visit>
ACT = "nac"  # nac:<action>:<visit>
CONFIRM = "ncf"  # ncf:<action>:<visit>
SICK = "nsk"  # nsk:<ask|yes|no>
LIST = "nls"  # nls:<today|tomorrow>
ACTIONS = ("go", "arr", "done", "nh", "cc", "nonote", "back")
CONFIRMED_ACTIONS = ("nh", "cc")


# --- small parts -----------------------------------------------------------------------------


def hm(t: time | None) -> str:
    return t.strftime("%H:%M") if t is not None else "--:--"


def day_label(tr: Translator, day: date) -> str:
    return day_long(tr, day)


def service_name(config: Config, code: str, language: str) -> str:
    service = config.service(code)
    return escape(service.name(language) if service else code)


def status_label(tr: Translator, status: str) -> str:
    name = tr(f"visit.status.{status}")
    return f"{STATUS_ICON.get(status, '•')} {name}"


def reason_label(tr: Translator, reason: str) -> str:
    known = (
        "no_nurse_with_skills",
        "window_passed",
        "window_unreachable",
        "capacity",
        "optional_deferred",
        "day_over",
        "concurrent_changes",
        "location_far",
    )
    return tr(f"nurse.reason.{reason}") if reason in known else escape(reason)


def edit_payload(chat_id: int, message_id: int, reply: Reply) -> dict[str, Any]:
    payload = to_payload(chat_id, reply)
    payload["message_id"] = message_id
    return payload


def _who(tr: Translator, stop: StopView) -> str:
    name = escape(stop.patient_first_name) or tr("nurse.patient")
    if stop.age is not None:
        return tr("nurse.name_age", name=name, age=str(stop.age))
    return name


def _address(tr: Translator, stop: StopView) -> list[str]:
    parts = [
        p for p in (stop.address, f"RT/RW {stop.rt_rw}" if stop.rt_rw else "", stop.kelurahan) if p
    ]
    lines = [f"📍 {escape(', '.join(parts)) or tr('nurse.no_address')}"]
    if stop.landmark:
        lines.append(tr("nurse.landmark", landmark=escape(stop.landmark)))
    if stop.approximate:
        lines.append(tr("nurse.approximate"))
    return lines


def _stop_lines(tr: Translator, config: Config, stop: StopView, *, with_status: bool) -> list[str]:
    urgent = f" {tr('nurse.urgent')}" if stop.priority == "urgent" else ""
    head = tr(
        "nurse.stop_head",
        seq=str(stop.seq),
        time=hm(stop.start),
        who=_who(tr, stop),
        service=service_name(config, stop.service_type, tr.language),
    )
    lines = [head + urgent]
    if with_status and stop.status not in OPEN:
        lines.append("   " + status_label(tr, stop.status))
    lines += ["   " + line for line in _address(tr, stop)]
    if stop.complaint:
        lines.append("   " + tr("nurse.complaint", text=escape(stop.complaint)))
    return lines


# --- the day ---------------------------------------------------------------------------------


def _number_buttons(day: NurseDay) -> list[tuple[Button, ...]]:
    buttons = [Button(str(s.seq), data=encode(OPEN_STOP, s.visit_id)) for s in day.stops]
    return [
        tuple(buttons[i : i + NUMBERS_PER_ROW]) for i in range(0, len(buttons), NUMBERS_PER_ROW)
    ]


def map_buttons(tr: Translator, day: NurseDay) -> list[tuple[Button, ...]]:
    clinic = MapPoint(day.clinic.lat, day.clinic.lon)
    links = route_links(clinic, [MapPoint(s.lat, s.lon) for s in day.stops])
    if len(links) == 1:
        return [(Button(tr("nurse.maps_whole"), url=links[0].url),)]
    return [
        (
            Button(
                tr("nurse.maps_part", part=str(i), first=str(link.first), last=str(link.last)),
                url=link.url,
            ),
        )
        for i, link in enumerate(links, start=1)
    ]


def _chunks(
    header: list[str], blocks: list[list[str]], footer: list[str], parts: Sequence[int] | None
) -> list[str]:
    """Header, stop blocks and footer in as few messages under Telegram's limit as possible, or
    in `parts` (stops per message) as decided when the digest was queued."""
    if parts is not None:
        ends = list(itertools.accumulate(parts))
        pieces = [blocks[end - n : end] for n, end in zip(parts, ends, strict=True)]
        given = ["\n\n".join("\n".join(b) for b in piece) for piece in pieces]
        given[0] = "\n\n".join(t for t in ("\n".join(header), given[0]) if t)
        given[-1] = "\n\n".join(t for t in (given[-1], "\n".join(footer)) if t)
        return given
    limit = MAX_TEXT - 100
    texts: list[str] = []
    current = "\n".join(header)
    for block in blocks:
        piece = "\n".join(block)
        if len(current) + len(piece) + 2 > limit:
            texts.append(current)
            current = piece
        else:
            current = f"{current}\n\n{piece}" if current else piece
    tail = "\n".join(footer)
    if len(current) + len(tail) + 2 > limit:
        texts.append(current)
        current = tail
    else:
        current = f"{current}\n\n{tail}"
    texts.append(current)
    return texts


def route_digest(
    tr: Translator, config: Config, day: NurseDay, kind: str, parts: Sequence[int] | None = None
) -> list[Reply]:
    """The morning digest (kind "digest") or a changed route ("update"): one message normally,
    more only when a very long day would pass Telegram's 4096 characters (`parts`: see
    `db.services.route_digest.digest_parts`)."""
    title = "nurse.digest_title" if kind == "digest" else "nurse.update_title"
    header = [tr(title, day=day_label(tr, day.day))]
    if not day.stops:
        return [Reply("\n".join([*header, tr("nurse.no_visits")]))]
    header.append(
        tr(
            "nurse.digest_summary",
            count=str(len(day.stops)),
            km=f"{day.distance_km:.1f}",
            minutes=str(day.travel_min),
        )
    )
    blocks = [_stop_lines(tr, config, s, with_status=kind != "digest") for s in day.stops]
    footer = [tr("nurse.digest_footer")]
    texts = _chunks(header, blocks, footer, parts)
    buttons = tuple([*map_buttons(tr, day), *_number_buttons(day)])
    return [Reply(t) for t in texts[:-1]] + [Reply(texts[-1], buttons=buttons)]


def map_title(tr: Translator, day: NurseDay) -> str:
    return tr("nurse.map_title", day=day_label(tr, day.day), count=str(len(day.stops)))


def map_caption(tr: Translator, day: NurseDay) -> str:
    return tr("nurse.map_caption", day=day_label(tr, day.day))


def day_overview(tr: Translator, config: Config, day: NurseDay, which: str) -> Reply:
    """/jadwal (which="today") and /besok ("tomorrow", or "next" when the next working day
    is not tomorrow)."""
    title = tr(f"nurse.{which}_title", day=day_label(tr, day.day))
    lines = [title]
    if day.away:
        lines.append(tr("nurse.on_leave", kind=tr(f"nurse.leave_kind.{_leave_kind(day)}")))
    elif day.shift is not None and day.leave_kind is not None:
        lines.append(tr("nurse.short_shift", start=hm(day.shift[0]), end=hm(day.shift[1])))
    if not day.stops:
        lines.append(tr("nurse.no_visits") if day.planned else tr("nurse.not_planned_yet"))
        buttons: list[tuple[Button, ...]] = []
    else:
        lines.append(
            tr(
                "nurse.digest_summary",
                count=str(len(day.stops)),
                km=f"{day.distance_km:.1f}",
                minutes=str(day.travel_min),
            )
        )
        for s in day.stops:
            lines.append("")
            lines.append(
                tr(
                    "nurse.overview_line",
                    seq=str(s.seq),
                    time=hm(s.start),
                    who=_who(tr, s),
                    service=service_name(config, s.service_type, tr.language),
                    status=status_label(tr, s.status),
                )
            )
        lines += ["", tr("nurse.overview_footer")]
        buttons = [*map_buttons(tr, day), *_number_buttons(day)]
    if which == "today" and not day.away:
        buttons.append((Button(tr("nurse.sick_button"), data=encode(SICK, "ask")),))
    return Reply("\n".join(lines), buttons=tuple(buttons))


LEAVE_KINDS = ("leave", "sick", "training")


def _leave_kind(day: NurseDay) -> str:
    return day.leave_kind if day.leave_kind in LEAVE_KINDS else "leave"


def stop_card(
    tr: Translator, config: Config, stop: StopView, day: NurseDay, *, today: bool
) -> Reply:
    """One stop with everything needed at the door, and the buttons for its status."""
    lines = [
        tr(
            "nurse.card_head",
            seq=str(stop.seq),
            time=hm(stop.start),
            start=hm(stop.window[0]),
            end=hm(stop.window[1]),
        ),
        tr("nurse.card_status", status=status_label(tr, stop.status)),
        tr(
            "nurse.card_who",
            who=_who(tr, stop),
            service=service_name(config, stop.service_type, tr.language),
            code=escape(visit_code(stop.code)),
        ),
        *_address(tr, stop),
    ]
    if stop.phone:
        lines.append(tr("nurse.phone", phone=escape(stop.phone)))
    if stop.complaint:
        lines.append(tr("nurse.complaint", text=escape(stop.complaint)))
    if stop.priority == "urgent":
        lines.append(tr("nurse.urgent"))
    if not today:
        lines.append(tr("nurse.card_not_today"))
    v = stop.visit_id
    rows: list[tuple[Button, ...]] = []
    if today:
        if stop.status in OPEN:
            rows.append(
                (
                    Button(tr("nurse.btn_go"), data=encode(ACT, "go", v)),
                    Button(tr("nurse.btn_arrived"), data=encode(ACT, "arr", v)),
                )
            )
        elif stop.status == "on_the_way":
            rows.append((Button(tr("nurse.btn_arrived"), data=encode(ACT, "arr", v)),))
        elif stop.status == "arrived":
            rows.append((Button(tr("nurse.btn_done"), data=encode(ACT, "done", v)),))
        if stop.status in (*OPEN, "on_the_way", "arrived"):
            rows.append((Button(tr("nurse.btn_not_home"), data=encode(ACT, "nh", v)),))
        if stop.status in (*OPEN, "on_the_way"):
            rows.append((Button(tr("nurse.btn_cannot"), data=encode(ACT, "cc", v)),))
    if stop.status in (*OPEN, "on_the_way"):
        rows.append(
            (
                Button(
                    tr("nurse.btn_directions"),
                    url=directions_url(None, MapPoint(stop.lat, stop.lon), navigate=True),
                ),
            )
        )
    rows.append(
        (Button(tr("nurse.btn_list"), data=encode(LIST, "today" if today else "tomorrow")),)
    )
    return Reply("\n".join(lines), buttons=tuple(rows))


def confirm(tr: Translator, action: str, stop: StopView) -> Reply:
    """Are you sure? (not at home, cannot come: both end the visit for her)."""
    return Reply(
        tr(f"nurse.confirm_{action}", seq=str(stop.seq), who=_who(tr, stop)),
        buttons=(
            (
                Button(
                    tr(f"nurse.confirm_{action}_yes"), data=encode(CONFIRM, action, stop.visit_id)
                ),
                Button(tr("nurse.btn_back"), data=encode(ACT, "back", stop.visit_id)),
            ),
        ),
    )


def done_prompt(tr: Translator, stop: StopView) -> Reply:
    return Reply(
        tr("nurse.done_prompt", seq=str(stop.seq), who=_who(tr, stop)),
        buttons=(
            (Button(tr("nurse.btn_no_note"), data=encode(ACT, "nonote", stop.visit_id)),),
            (Button(tr("nurse.btn_back"), data=encode(ACT, "back", stop.visit_id)),),
        ),
    )


@dataclass(frozen=True)
class VitalProblem:
    field: str
    code: str
    value: str


def vitals_refused(tr: Translator, problems: Sequence[VitalProblem]) -> Reply:
    lines = [tr("nurse.vitals_refused")]
    for p in problems:
        lines.append(
            "• "
            + tr(
                f"nurse.vitals_error.{p.code}",
                field=tr(f"nurse.vital_field.{p.field}"),
                value=escape(p.value),
            )
        )
    lines.append(tr("nurse.vitals_example"))
    return Reply("\n".join(lines))


def completed(
    tr: Translator, stop: StopView, vitals: dict[str, Any] | None, following: StopView | None
) -> Reply:
    lines = [tr("nurse.completed", seq=str(stop.seq), who=_who(tr, stop))]
    if vitals:
        lines.append(tr("nurse.vitals_saved", vitals=vitals_text(tr, vitals)))
    buttons: tuple[tuple[Button, ...], ...] = ()
    if following is not None:
        lines.append(
            tr(
                "nurse.next_stop",
                seq=str(following.seq),
                time=hm(following.start),
                who=_who(tr, following),
            )
        )
        buttons = (
            (Button(tr("nurse.btn_open_next"), data=encode(OPEN_STOP, following.visit_id)),),
        )
    else:
        lines.append(tr("nurse.day_done"))
    return Reply("\n".join(lines), buttons=buttons)


def vitals_text(tr: Translator, vitals: dict[str, Any]) -> str:
    parts = []
    if vitals.get("systolic") is not None:
        parts.append(
            tr("nurse.vital_bp", sys=str(vitals["systolic"]), dia=str(vitals["diastolic"]))
        )
    for key, label in (
        ("glucose_mg_dl", "nurse.vital_glucose"),
        ("temperature_c", "nurse.vital_temperature"),
        ("spo2_pct", "nurse.vital_spo2"),
        ("pulse_per_min", "nurse.vital_pulse"),
    ):
        if vitals.get(key) is not None:
            parts.append(tr(label, value=str(vitals[key])))
    return ", ".join(parts)


def action_done(tr: Translator, key: str, **params: str) -> str:
    return tr(key, **params)


# --- heads -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanReport:
    day: date
    kind: str
    ok: bool
    visits: int = 0
    assigned: int = 0
    unassigned: int = 0
    nurses_used: int = 0
    travel_min: int = 0
    distance_km: float = 0.0
    unplaced: tuple[tuple[str, str], ...] = ()  # (visit code, reason) newly unplaced
    error: str = ""


def plan_report(tr: Translator, report: PlanReport) -> Reply:
    if not report.ok:
        return Reply(
            tr(
                "nurse.plan_failed",
                day=day_label(tr, report.day),
                reason=reason_label(tr, report.error)
                if report.error in ("day_over", "concurrent_changes")
                else escape(report.error[:200]),
            )
        )
    lines = [
        tr(
            "nurse.plan_done",
            day=day_label(tr, report.day),
            assigned=str(report.assigned),
            visits=str(report.visits),
            nurses=str(report.nurses_used),
            km=f"{report.distance_km:.1f}",
            minutes=str(report.travel_min),
        )
    ]
    if report.unassigned:
        lines.append(tr("nurse.plan_unassigned", count=str(report.unassigned)))
    for code, reason in report.unplaced[:30]:
        lines.append(f"• {escape(visit_code(code))}: {reason_label(tr, reason)}")
    return Reply("\n".join(lines))


def plan_queued(tr: Translator, day: date) -> Reply:
    return Reply(tr("nurse.plan_queued", day=day_label(tr, day)))


def heads_nurse_sick(tr: Translator, name: str, at: time, visits: int) -> Reply:
    return Reply(tr("nurse.heads_sick", name=escape(name), time=hm(at), count=str(visits)))


def heads_cannot_come(
    tr: Translator, name: str, code: str, patient_first: str, started: bool
) -> Reply:
    key = "nurse.heads_cannot_come_started" if started else "nurse.heads_cannot_come"
    return Reply(
        tr(
            key,
            name=escape(name),
            code=escape(visit_code(code)),
            patient=escape(patient_first) or "-",
        )
    )


# --- leave -----------------------------------------------------------------------------------


def leave_help(tr: Translator, upcoming: Sequence[tuple[date, str, bool]]) -> Reply:
    lines = [tr("nurse.leave.help")]
    if upcoming:
        lines.append("")
        lines.append(tr("nurse.leave.upcoming"))
        for day, kind, approved in upcoming:
            state = tr("nurse.leave.approved") if approved else tr("nurse.leave.pending")
            name = tr(f"nurse.leave_kind.{kind}") if kind in LEAVE_KINDS else escape(kind)
            lines.append(f"• {day_label(tr, day)} — {name} ({state})")
    return Reply("\n".join(lines))


def leave_saved(
    tr: Translator, saved: Sequence[date], already: Sequence[date], skipped: Sequence[date]
) -> Reply:
    lines = []
    if saved:
        lines.append(tr("nurse.leave.saved", days=", ".join(day_label(tr, d) for d in saved)))
    if already:
        lines.append(tr("nurse.leave.already", days=", ".join(day_label(tr, d) for d in already)))
    if skipped:
        lines.append(tr("nurse.leave.skipped", days=", ".join(day_label(tr, d) for d in skipped)))
    if not saved and not already:
        lines.append(tr("nurse.leave.nothing"))
    return Reply("\n".join(lines))


def sick_confirm(tr: Translator) -> Reply:
    return Reply(
        tr("nurse.sick_confirm"),
        buttons=(
            (
                Button(tr("nurse.sick_yes"), data=encode(SICK, "yes")),
                Button(tr("nurse.btn_back"), data=encode(SICK, "no")),
            ),
        ),
    )


def refusal_text(tr: Translator, result: ActionResult) -> str:
    """Why a nurse's status action changed nothing, in her words (bot and console)."""
    assert result.refusal is not None
    params = {**result.params, **{k: tr(v) for k, v in result.key_params.items()}}
    params.update({k: day_label(tr, d) for k, d in result.day_params.items()})
    return tr(result.refusal, **params)
