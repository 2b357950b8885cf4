"""What the clinic heads read: the board, the visit log, reports (text and chart), exports, staff,
invites and the audit log. Pure: values in, `Reply` (or PNG bytes) out."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from html import escape
from typing import Any

from bot.callbacks import encode
from bot.i18n import Translator, catalogue
from bot.messages import MAX_TEXT, Button, Reply, to_payload
from db.services.board import Board, BoardVisit
from db.services.reports import Period, Report
from db.services.staff import LeaveLine, NurseSummary
from db.services.visit_log import LogFilter, LogPage, VisitDetail
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


def _fit(lines: Sequence[str], tr: Translator, limit: int = MAX_TEXT - 200) -> str:
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
    names = tr("head.weekdays").split(",")
    return f"{names[day.weekday()]} {day:%d/%m/%Y}"


def _hm(t: time | datetime | None) -> str:
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


# --- board ---------------------------------------------------------------------------------------


def _board_line(tr: Translator, config: Config, v: BoardVisit, with_day: bool = False) -> str:
    when = f"{v.day:%d/%m} " if with_day else ""
    start = v.planned_start or v.window_start
    flag = " " + tr(f"head.flag.{v.flag}") if v.flag else ""
    urgent = " ‼️" if v.priority == "urgent" else ""
    return (
        f"  {when}{_hm(start)} {STATUS_ICON.get(v.status, '•')} "
        f"{escape(v.patient_first_name)} · {escape(v.kelurahan)} · "
        f"{service_name(config, v.service_type, tr.language)}{urgent}{flag}"
    )


def board(tr: Translator, config: Config, b: Board) -> Reply:
    lines = [
        tr("head.board_title", day=day_label(tr, b.day), time=b.at.strftime("%H:%M")),
        tr("head.board_summary", late=b.late, missed=b.missed),
        "",
    ]
    if not b.nurses:
        lines.append(tr("head.board_no_nurses"))
    for n in b.nurses:
        if n.on_leave:
            state = tr("head.board_on_leave")
        else:
            state = tr("head.board_done", done=n.done, total=len(n.visits))
        lines.append(f"<b>{escape(n.name)}</b> — {state}")
        if not n.visits:
            lines.append("  " + tr("head.board_no_visits"))
        lines += [_board_line(tr, config, v) for v in n.visits]
        lines.append("")
    if b.unassigned:
        lines.append(tr("head.board_unassigned", count=len(b.unassigned)))
        lines += [_board_line(tr, config, v) for v in b.unassigned]
        lines.append("")
    lines.append(tr("head.board_unconfirmed", count=b.unconfirmed_total))
    lines += [_board_line(tr, config, v, with_day=True) for v in b.unconfirmed]
    lines.append(tr("head.board_unplaced", count=b.unplaced_total))
    lines += [_board_line(tr, config, v, with_day=True) for v in b.unplaced]
    return Reply(
        _fit(lines, tr),
        buttons=((Button(tr("head.refresh"), data=encode("hb", "r")),),),
    )


# --- visit log: filter state in callback data ---------------------------------------------------


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
            f"{item.day:%d/%m} {_hm(item.window_start)} {STATUS_ICON.get(item.status, '•')} "
            f"{item.code} · {item.nurse_name or '—'} · {item.kelurahan or '—'}"
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
        tr("head.detail_title", code=d.code),
        tr(
            "head.detail_when",
            day=day_label(tr, d.day),
            start=_hm(d.window_start),
            end=_hm(d.window_end),
        ),
        tr(
            "head.detail_service",
            service=service_name(config, d.service_type, tr.language),
            priority=tr(f"head.priority.{'urgent' if d.priority == 'urgent' else 'routine'}"),
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
        lines.append(tr("head.detail_planned", time=_hm(d.planned_start)))
    if d.started_at or d.completed_at:
        lines.append(
            tr("head.detail_times", started=_hm(d.started_at), completed=_hm(d.completed_at))
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
            f"  {h.at:%d/%m %H:%M} · {who_}({actor_word(tr, h.actor_role)}) · "
            f"{src} → {status_word(tr, h.to_status)}{note}"
        )
    rows: list[tuple[Button, ...]] = []
    if can_reassign and back is not None:
        rows.append((Button(tr("head.reassign"), data=encode("hr", d.visit_id, back[0])),))
    if back is not None:
        rows.append((Button(tr("head.back"), data=encode("hl", back[0], back[1])),))
    return Reply(_fit(lines, tr), buttons=tuple(rows))


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
    text = tr("head.reassign_ask", code=code)
    if unable:
        text += "\n" + tr("head.reassign_unable", names=", ".join(unable))
    if len(rows) == 1:
        text += "\n" + tr("head.reassign_nobody")
    return Reply(text, buttons=tuple(rows))


# --- reports -------------------------------------------------------------------------------------


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "—"


def period_label(tr: Translator, p: Period) -> str:
    key = "head.report_week" if p.kind == "week" else "head.report_month"
    return tr(key, start=f"{p.start:%d/%m/%Y}", end=f"{p.end:%d/%m/%Y}")


def report_text(tr: Translator, config: Config, r: Report) -> str:
    wait = f"{r.median_wait_h:.1f}" if r.median_wait_h is not None else "—"
    lines = [
        tr("head.report_title", period=period_label(tr, r.period)),
        tr("head.report_requests", count=r.requests),
        tr("head.report_due", count=r.due),
        tr("head.report_completed", count=r.completed, pct=_pct(r.completed, r.due)),
        tr(
            "head.report_cancelled",
            patient=r.cancelled_by_patient,
            clinic=r.cancelled_by_clinic,
        ),
        tr("head.report_not_home", count=r.not_home),
        tr(
            "head.report_referrals",
            total=r.referrals,
            intake=r.referred_at_intake,
            visit=r.referred_at_visit,
        ),
        tr("head.report_wait", hours=wait),
        tr(
            "head.report_on_time",
            pct=_pct(r.on_time, r.on_time_of),
            on_time=r.on_time,
            of=r.on_time_of,
        ),
    ]
    if r.skm_index is not None and r.skm_grade is not None:
        lines.append(
            tr(
                "head.report_skm",
                index=f"{r.skm_index:.2f}",
                grade=r.skm_grade,
                label=tr(f"head.skm_grade.{r.skm_grade}"),
                mean=f"{r.rating_mean:.2f}",
                count=r.ratings,
            )
        )
    else:
        lines.append(tr("head.report_skm_none"))
    lines += ["", tr("head.report_nurses")]
    if not r.nurses:
        lines.append("  —")
    for n in r.nurses:
        lines.append(
            tr(
                "head.report_nurse_line",
                name=escape(n.name),
                completed=n.completed,
                attended=n.attended,
                km=f"{n.km:.1f}",
            )
        )
    lines += ["", tr("head.report_by_kelurahan")]
    lines += [
        tr("head.report_breakdown_line", key=escape(b.key), due=b.due, completed=b.completed)
        for b in r.by_kelurahan
    ] or ["  —"]
    lines += ["", tr("head.report_by_service")]
    lines += [
        tr(
            "head.report_breakdown_line",
            key=service_name(config, b.key, tr.language),
            due=b.due,
            completed=b.completed,
        )
        for b in r.by_service
    ] or ["  —"]
    return _fit(lines, tr)


def report_buttons(tr: Translator, r: Report, today: date) -> tuple[tuple[Button, ...], ...]:
    prev = r.period.previous()
    row = [Button(tr("head.report_prev"), data=encode("hp", prev.token()))]
    nxt = r.period.next()
    if nxt.start <= today:
        row.append(Button(tr("head.report_next"), data=encode("hp", nxt.token())))
    other = "m" if r.period.kind == "week" else "w"
    switch = Button(
        tr(f"head.report_switch_{other}"),
        data=encode("hp", "m" + today.strftime("%Y%m") if other == "m" else _week_token(today)),
    )
    return (tuple(row), (switch,))


def _week_token(today: date) -> str:
    from db.services.reports import week_of

    return week_of(today).token()


CHART_SIZE_PX = (960, 540)
CHART_DPI = 120


def report_chart(tr: Translator, r: Report) -> bytes:
    """One PNG (960×540): visits per day by outcome, stacked. Drawn with matplotlib's Agg."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    w, h = CHART_SIZE_PX
    fig = Figure(figsize=(w / CHART_DPI, h / CHART_DPI), dpi=CHART_DPI)
    ax = fig.add_subplot(1, 1, 1)
    days = [f"{s.day:%d/%m}" for s in r.series]
    x = list(range(len(days)))
    layers = (
        ("completed", [s.completed for s in r.series], "#2e7d32"),
        ("not_home", [s.not_home for s in r.series], "#f9a825"),
        ("cancelled", [s.cancelled for s in r.series], "#c62828"),
        ("other", [s.other for s in r.series], "#90a4ae"),
    )
    bottom = [0] * len(x)
    for key, values, colour in layers:
        ax.bar(x, values, bottom=bottom, color=colour, label=tr(f"head.chart.{key}"))
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_xticks(x)
    ax.set_xticklabels(days, rotation=45 if len(days) > 10 else 0, fontsize=8)
    ax.set_ylabel(tr("head.chart.visits"))
    ax.set_title(tr("head.chart.title", period=period_label(tr, r.period)))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=CHART_DPI)
    return buf.getvalue()


# --- exports -------------------------------------------------------------------------------------


def export_ranges(tr: Translator, ranges: Sequence[tuple[str, date, date]]) -> Reply:
    rows = tuple(
        (Button(tr(f"head.preset.{key}"), data=encode("hx", f"{a:%Y%m%d}", f"{b:%Y%m%d}")),)
        for key, a, b in ranges
    )
    return Reply(tr("head.export_ask_range"), buttons=rows)


def export_formats(tr: Translator, start: date, end: date) -> Reply:
    a, b = f"{start:%Y%m%d}", f"{end:%Y%m%d}"
    return Reply(
        tr("head.export_ask_format", start=f"{start:%d/%m/%Y}", end=f"{end:%d/%m/%Y}"),
        buttons=(
            (
                Button("CSV", data=encode("hxr", a, b, "csv")),
                Button("XLSX", data=encode("hxr", a, b, "xlsx")),
                Button("FHIR", data=encode("hxr", a, b, "fhir")),
            ),
        ),
    )


# --- staff ---------------------------------------------------------------------------------------


def staff_list(tr: Translator, nurses: Sequence[NurseSummary]) -> Reply:
    lines = [tr("head.staff_title", count=sum(1 for n in nurses if n.active))]
    rows: list[tuple[Button, ...]] = []
    for n in nurses:
        state = "" if n.active else " " + tr("head.staff_inactive")
        leave = (
            " " + tr("head.staff_pending_leave", count=n.pending_leave) if n.pending_leave else ""
        )
        lines.append(
            tr(
                "head.staff_line",
                name=escape(n.name),
                cap=n.daily_cap,
                today=n.visits_today,
                skills=len(n.skills),
            )
            + state
            + leave
        )
        rows.append((Button(n.name[:40], data=encode("hn", n.nurse_id)),))
    if not nurses:
        lines.append(tr("head.staff_none"))
    return Reply("\n".join(lines), buttons=tuple(rows))


def nurse_card(
    tr: Translator,
    n: NurseSummary,
    offered: Sequence[str],
    leave: Sequence[LeaveLine],
) -> Reply:
    skills = ", ".join(skill_word(tr, s) for s in n.skills) or "—"
    lines = [
        f"<b>{escape(n.name)}</b>"
        + ("" if n.active else " " + tr("head.staff_inactive"))
        + ("" if n.linked else " " + tr("head.staff_unlinked")),
        tr("head.nurse_skills", skills=skills),
        tr("head.nurse_cap", cap=n.daily_cap),
        tr("head.nurse_today", count=n.visits_today),
    ]
    if leave:
        lines.append(tr("head.nurse_leave_list"))
        for lv in leave:
            state = tr("head.leave_approved") if lv.approved else tr("head.leave_pending")
            kind = tr(f"head.leave_kind.{lv.kind}")
            lines.append(f"  {lv.day:%d/%m/%Y} · {kind} · {state}")
    rows: list[tuple[Button, ...]] = []
    pair: list[Button] = []
    for i, skill in enumerate(offered):
        mark = "✅" if skill in n.skills else "▫️"
        label = f"{mark} " + skill_word(tr, skill)
        pair.append(Button(label, data=encode("hk", n.nurse_id, i)))
        if len(pair) == 2:
            rows.append(tuple(pair))
            pair = []
    if pair:
        rows.append(tuple(pair))
    rows.append(
        (
            Button("−1", data=encode("hc", n.nurse_id, "d")),
            Button(tr("head.nurse_cap_button", cap=n.daily_cap), data=encode("hn", n.nurse_id)),
            Button("+1", data=encode("hc", n.nurse_id, "u")),
        )
    )
    for lv in leave:
        if not lv.approved:
            rows.append(
                (
                    Button(
                        tr("head.leave_approve", day=f"{lv.day:%d/%m}"),
                        data=encode("hva", lv.leave_id),
                    ),
                    Button(
                        tr("head.leave_refuse", day=f"{lv.day:%d/%m}"),
                        data=encode("hvr", lv.leave_id),
                    ),
                )
            )
    rows.append((Button(tr("head.leave_record"), data=encode("hv", n.nurse_id)),))
    toggle = "head.nurse_deactivate" if n.active else "head.nurse_activate"
    rows.append(
        (
            Button(tr(toggle), data=encode("ha", n.nurse_id, 0 if n.active else 1)),
            Button(tr("head.back"), data=encode("hS")),
        )
    )
    return Reply("\n".join(lines), buttons=tuple(rows))


def confirm_active(tr: Translator, nurse_id: int, name: str, active: bool) -> Reply:
    key = "head.nurse_confirm_activate" if active else "head.nurse_confirm_deactivate"
    return Reply(
        tr(key, name=escape(name)),
        buttons=(
            (
                Button(tr("head.yes"), data=encode("hA", nurse_id, 1 if active else 0)),
                Button(tr("head.no"), data=encode("hn", nurse_id)),
            ),
        ),
    )


def leave_days(tr: Translator, nurse_id: int, name: str, days: Sequence[date]) -> Reply:
    rows: list[tuple[Button, ...]] = []
    row: list[Button] = []
    for d in days:
        row.append(Button(day_label(tr, d)[:-5], data=encode("hvd", nurse_id, f"{d:%Y%m%d}")))
        if len(row) == 3:
            rows.append(tuple(row))
            row = []
    if row:
        rows.append(tuple(row))
    rows.append((Button(tr("head.back"), data=encode("hn", nurse_id)),))
    return Reply(tr("head.leave_ask_day", name=escape(name)), buttons=tuple(rows))


def leave_kinds(tr: Translator, nurse_id: int, name: str, day: date, kinds: Sequence[str]) -> Reply:
    d = f"{day:%Y%m%d}"
    return Reply(
        tr("head.leave_ask_kind", name=escape(name), day=day_label(tr, day)),
        buttons=(
            tuple(
                Button(tr(f"head.leave_kind.{k}"), data=encode("hvk", nurse_id, d, k))
                for k in kinds
            ),
            (Button(tr("head.back"), data=encode("hv", nurse_id)),),
        ),
    )


# --- invites and audit -----------------------------------------------------------------------


def invite_created(tr: Translator, name: str, role: str, link: str, expires: datetime) -> Reply:
    return Reply(
        tr(
            "head.invite_created",
            name=escape(name),
            role=tr(f"common.roles.{role}"),
            link=escape(link),
            expires=expires.strftime("%d/%m/%Y %H:%M"),
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
            f"{e.at.astimezone(tz):%d/%m %H:%M} · {who} ({actor_word(tr, e.actor_role)}) · "
            + word(tr, f"head.audit_action.{e.action}", e.action)
            + f" · <code>{escape(e.subject)}</code>"
        )
    return Reply(_fit(lines, tr))
