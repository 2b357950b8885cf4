"""The visit log: filter state in callback data, the list, filters, a visit's detail."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from html import escape
from typing import Any

from bot.callbacks import encode
from bot.i18n import Translator
from bot.messages import Button, Reply
from bot.render.formats import day_short, visit_code
from bot.render.head.common import (
    SEX,
    STATUS_ICON,
    STATUSES,
    VITAL_LINES,
    actor_word,
    day_label,
    fit_lines,
    hm,
    service_name,
    status_label,
    status_word,
)
from bot.render.series import log_lines as series_lines
from db.services.visit_log import LogFilter, LogPage, VisitDetail
from homecare.config import Config


@dataclass(frozen=True)
class LogState:
    """The list's filters and page, packed into one callback part (no ":" inside).

    Indexes refer to the status list, the clinic's kelurahan list and its service list; every
    part is checked when unpacked, because callback data can be forged.
    """

    start: date
    end: date
    nurse_id: int | None = None
    status: int | None = None
    kelurahan: int | None = None
    service: int | None = None

    def pack(self) -> str:
        def opt(v: int | None) -> str:
            return "" if v is None else str(v)

        return (
            f"{self.start:%Y%m%d}{self.end:%Y%m%d}.{opt(self.nurse_id)}.{opt(self.status)}"
            f".{opt(self.kelurahan)}.{opt(self.service)}"
        )

    @staticmethod
    def unpack(text: str, config: Config) -> LogState | None:
        parts = text.split(".")
        if len(parts) != 5 or len(parts[0]) != 16 or not parts[0].isdigit():
            return None
        try:
            start = datetime.strptime(parts[0][:8], "%Y%m%d").date()
            end = datetime.strptime(parts[0][8:], "%Y%m%d").date()
        except ValueError:
            return None
        nums: list[int | None] = []
        for p in parts[1:]:
            if p == "":
                nums.append(None)
            elif p.isdigit() and len(p) <= 9:
                nums.append(int(p))
            else:
                return None
        nurse, status, kel, svc = nums
        if status is not None and status >= len(STATUSES):
            return None
        if kel is not None and kel >= len(config.clinic.service_area):
            return None
        if svc is not None and svc >= len(config.services):
            return None
        if end < start or (end - start).days > 366:
            return None
        return LogState(start, end, nurse, status, kel, svc)

    def to_filter(self, config: Config) -> LogFilter:
        return LogFilter(
            start=self.start,
            end=self.end,
            nurse_id=self.nurse_id,
            status=STATUSES[self.status] if self.status is not None else None,
            kelurahan=(
                config.clinic.service_area[self.kelurahan] if self.kelurahan is not None else None
            ),
            service_type=config.services[self.service].code if self.service is not None else None,
        )


def _filter_summary(
    tr: Translator, config: Config, st: LogState, nurse_names: dict[int, str]
) -> str:
    parts = [f"{st.start:%d/%m/%Y}–{st.end:%d/%m/%Y}"]
    if st.nurse_id is not None:
        parts.append(escape(nurse_names.get(st.nurse_id, f"#{st.nurse_id}")))
    if st.status is not None:
        parts.append(status_word(tr, STATUSES[st.status]))
    if st.kelurahan is not None:
        parts.append(escape(config.clinic.service_area[st.kelurahan]))
    if st.service is not None:
        parts.append(service_name(config, config.services[st.service].code, tr.language))
    return " · ".join(parts)


def log_list(
    tr: Translator,
    config: Config,
    st: LogState,
    page: LogPage,
    nurse_names: dict[int, str],
) -> Reply:
    s = st.pack()
    lines = [
        tr("head.log_title", total=page.total),
        tr("head.log_filters", filters=_filter_summary(tr, config, st, nurse_names)),
    ]
    if not page.items:
        lines.append(tr("head.log_empty"))
    rows: list[tuple[Button, ...]] = []
    for item in page.items:
        label = (
            f"{item.day:%d/%m} {hm(item.window_start)} {STATUS_ICON.get(item.status, '•')} "
            f"{visit_code(item.code)}{' 🔁' if item.in_series else ''} · "
            f"{item.nurse_name or '—'} · {item.kelurahan or '—'}"
        )
        rows.append((Button(label[:60], data=encode("hd", item.visit_id, s, page.page)),))
    nav: list[Button] = []
    if page.page > 0:
        nav.append(Button("◀", data=encode("hl", s, page.page - 1)))
    nav.append(Button(f"{page.page + 1}/{page.pages}", data=encode("hl", s, page.page)))
    if page.page + 1 < page.pages:
        nav.append(Button("▶", data=encode("hl", s, page.page + 1)))
    rows.append(tuple(nav))
    rows.append(
        (
            Button(tr("head.filter.dates"), data=encode("hf", "d", s)),
            Button(tr("head.filter.nurse"), data=encode("hf", "n", s)),
            Button(tr("head.filter.status"), data=encode("hf", "s", s)),
        )
    )
    rows.append(
        (
            Button(tr("head.filter.kelurahan"), data=encode("hf", "k", s)),
            Button(tr("head.filter.service"), data=encode("hf", "v", s)),
            Button(tr("head.filter.clear"), data=encode("hs", "x", "0", s)),
        )
    )
    return Reply("\n".join(lines), buttons=tuple(rows))


DATE_PRESETS = ("t", "y", "7", "30", "m", "p")


def filter_menu(
    tr: Translator,
    config: Config,
    dim: str,
    st: LogState,
    nurses: Sequence[tuple[int, str]],
) -> Reply:
    s = st.pack()
    options: list[tuple[str, str]] = []  # (label, value)
    if dim == "d":
        options = [(tr(f"head.preset.{p}"), p) for p in DATE_PRESETS]
    elif dim == "n":
        options = [(escape(name), str(nid)) for nid, name in nurses]
    elif dim == "s":
        options = [(status_label(tr, name), str(i)) for i, name in enumerate(STATUSES)]
    elif dim == "k":
        options = [(escape(k), str(i)) for i, k in enumerate(config.clinic.service_area)]
    elif dim == "v":
        options = [(escape(sv.name(tr.language)), str(i)) for i, sv in enumerate(config.services)]
    rows: list[tuple[Button, ...]] = []
    pair: list[Button] = []
    for label, value in options:
        pair.append(Button(label[:40], data=encode("hs", dim, value, s)))
        if len(pair) == 2:
            rows.append(tuple(pair))
            pair = []
    if pair:
        rows.append(tuple(pair))
    bottom = [Button(tr("head.back"), data=encode("hl", s, 0))]
    if dim != "d":
        bottom.insert(0, Button(tr("head.filter.any"), data=encode("hs", dim, "", s)))
    rows.append(tuple(bottom))
    return Reply(tr(f"head.filter_ask.{dim}"), buttons=tuple(rows))


def _vital_lines(tr: Translator, vitals: dict[str, Any]) -> list[str]:
    out = []
    sys_, dia = vitals.get("systolic"), vitals.get("diastolic")
    if sys_ is not None and dia is not None:
        out.append(tr("head.vital.bp", value=f"{sys_}/{dia}", unit="mmHg"))
    for key, name, unit in VITAL_LINES:
        if vitals.get(key) is not None:
            out.append(tr(f"head.vital.{name}", value=escape(str(vitals[key])), unit=unit))
    return out


def visit_detail(
    tr: Translator,
    config: Config,
    d: VisitDetail,
    back: tuple[str, int] | None,
    can_reassign: bool,
) -> Reply:
    sex = tr(f"head.sex.{SEX[d.patient_sex]}") if d.patient_sex in SEX else ""
    age = tr("head.age", years=d.patient_age) if d.patient_age is not None else ""
    who = ", ".join(p for p in (age, sex) if p)
    lines = [
        tr("head.detail_title", code=visit_code(d.code)),
        tr(
            "head.detail_when",
            day=day_label(tr, d.day),
            start=hm(d.window_start),
            end=hm(d.window_end),
        ),
        tr(
            "head.detail_service",
            service=service_name(config, d.service_type, tr.language),
            priority=tr(f"head.priority.{'urgent' if d.priority == 'urgent' else 'routine'}"),
        ),
        *series_lines(
            tr,
            (d.series.id, d.series.rule, d.series.cancelled) if d.series else None,
            d.follow_up_of_code,
        ),
        tr("head.detail_status", status=status_label(tr, d.status)),
        tr(
            "head.detail_patient",
            name=escape(d.patient_name or tr("head.removed")),
            who=who,
            kelurahan=escape(d.kelurahan or "—"),
        ),
    ]
    if d.patient_phone:
        lines.append(tr("head.detail_phone", phone=escape(d.patient_phone)))
    if d.complaint:
        lines.append(tr("head.detail_complaint", text=escape(d.complaint)))
    lines.append(tr("head.detail_nurse", name=escape(d.nurse_name or "—")))
    if d.planned_start:
        lines.append(tr("head.detail_planned", time=hm(d.planned_start)))
    if d.started_at or d.completed_at:
        lines.append(
            tr("head.detail_times", started=hm(d.started_at), completed=hm(d.completed_at))
        )
    if d.confirmation:
        lines.append(tr("head.detail_confirmation", answer=escape(d.confirmation)))
    if d.cancel_reason:
        lines.append(tr("head.detail_cancel", reason=escape(d.cancel_reason)))
    if d.unplaced_reason:
        lines.append(tr("head.detail_unplaced", reason=escape(d.unplaced_reason)))
    if d.nurse_note:
        lines.append(tr("head.detail_note", text=escape(d.nurse_note)))
    vitals = _vital_lines(tr, d.vitals)
    if vitals:
        lines.append(tr("head.detail_vitals"))
        lines += ["  " + v for v in vitals]
    if d.rating is not None:
        comment = f" — {escape(d.feedback_comment)}" if d.feedback_comment else ""
        lines.append(tr("head.detail_rating", rating="★" * d.rating) + comment)
    lines += ["", tr("head.detail_history")]
    for h in d.history:
        src = status_word(tr, h.from_status) if h.from_status else "—"
        who_ = escape(h.actor_name) + " " if h.actor_name else ""
        note = f" ({escape(h.note)})" if h.note else ""
        lines.append(
            f"  {day_short(tr, h.at.date())} {h.at:%H:%M} · {who_}"
            f"({actor_word(tr, h.actor_role)}) · "
            f"{src} → {status_word(tr, h.to_status)}{note}"
        )
    rows: list[tuple[Button, ...]] = []
    if can_reassign and back is not None:
        rows.append((Button(tr("head.reassign"), data=encode("hr", d.visit_id, back[0])),))
    if back is not None:
        rows.append((Button(tr("head.back"), data=encode("hl", back[0], back[1])),))
    return Reply(fit_lines(lines, tr), buttons=tuple(rows))


def reassign_menu(
    tr: Translator,
    code: str,
    visit_id: int,
    state: str,
    choices: Sequence[tuple[int, str, bool]],
) -> Reply:
    rows: list[tuple[Button, ...]] = []
    for nid, name, ok in choices:
        if ok:
            rows.append((Button(name[:40], data=encode("hR", visit_id, nid, state)),))
    rows.append((Button(tr("head.back"), data=encode("hd", visit_id, state, 0)),))
    unable = [escape(name) for _, name, ok in choices if not ok]
    text = tr("head.reassign_ask", code=visit_code(code))
    if unable:
        text += "\n" + tr("head.reassign_unable", names=", ".join(unable))
    if len(rows) == 1:
        text += "\n" + tr("head.reassign_nobody")
    return Reply(text, buttons=tuple(rows))
