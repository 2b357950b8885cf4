"""Reports (text and chart) and exports."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from html import escape
from typing import Any

from bot.callbacks import encode
from bot.i18n import Translator
from bot.messages import Button, Reply, to_payload
from bot.render.common import plain
from bot.render.head.common import fit_lines, service_name
from db.services.exports import ExportResult
from db.services.reports import Period, Report
from homecare.config import Config


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
    return fit_lines(lines, tr)


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


def export_messages(
    tr: Translator, chat_id: int, result: ExportResult, fmt: str, start: date, end: date
) -> list[tuple[str, dict[str, Any], bytes | None]]:
    """The Bot API calls that deliver an export: each file as a document, then the summary."""
    calls: list[tuple[str, dict[str, Any], bytes | None]] = []
    for f in result.files:
        document = {
            "chat_id": chat_id,
            "caption": f.filename,
            "__attachment__": {"field": "document", "filename": f.filename},
        }
        calls.append(("sendDocument", document, f.content))
    done = plain(
        tr,
        "head.export_done_fhir" if fmt == "fhir" else "head.export_done",
        count=str(result.visits),
        encounters=str(result.encounters),
        skipped=str(result.skipped_no_nik),
        start=f"{start:%d/%m/%Y}",
        end=f"{end:%d/%m/%Y}",
    )
    calls.append(("sendMessage", to_payload(chat_id, done), None))
    return calls
