"""The visits of the family's readable export: each visit and its history in plain sentences
(a reschedule from → to, who comes and when, every status in words), never status codes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.i18n import Translator
from bot.render.formats import clock, day_long, moment_long, visit_code
from homecare.config import Config
from scheduler.visits import status_key

CLOSING = ("cancelled_by_patient", "cancelled_by_clinic")  # their typed reason is the family's own


def _window(key: str) -> str:
    """ "08:00-12:00" (machine) → "08:00–12:00" (as everywhere else people read it)."""
    return key.replace("-", "–")


def moment(tr: Translator, iso: str | None, tz: ZoneInfo) -> str:
    return moment_long(tr, datetime.fromisoformat(iso), tz) if iso else tr("patient.none")


def _event(tr: Translator, event: Mapping[str, Any], planned_before: bool, tz: ZoneInfo) -> str:
    if event.get("event") == "moved":
        old, new = event["from"], event["to"]
        return tr(
            "formats.history.moved",
            old_day=day_long(tr, date.fromisoformat(old["day"])),
            old_window=_window(old["window"]),
            day=day_long(tr, date.fromisoformat(new["day"])),
            window=_window(new["window"]),
        )
    start = datetime.fromisoformat(event["start"]) if event.get("start") else None
    return tr(
        "formats.history.plan_changed" if planned_before else "formats.history.plan_first",
        nurse=event.get("nurse") or tr("formats.history.someone"),
        time=clock(start, tz) if start else "--:--",
    )


def history_lines(tr: Translator, history: list[Mapping[str, Any]], tz: ZoneInfo) -> list[str]:
    out: list[str] = []
    planned_before = False
    for h in history:
        event = h.get("event")
        if event:
            text = _event(tr, event, planned_before, tz)
            planned_before = planned_before or event.get("event") == "plan"
        elif h["from"] is None:
            text = tr("formats.history.created")
        else:
            text = tr(f"formats.history.status.{h['to']}")
            if h["to"] in CLOSING and h.get("note"):
                text += " " + tr("formats.export.reason", reason=h["note"])
        out.append(tr("formats.export.line", at=moment(tr, h["at"], tz), text=text))
    return out


def visit_lines(tr: Translator, config: Config, v: Mapping[str, Any]) -> list[str]:
    tz = config.clinic.tz
    service = config.service(v["service"])
    out = [
        tr(
            "formats.export.visit",
            code=visit_code(v["code"]),
            day=day_long(tr, date.fromisoformat(v["day"])),
            window=_window(v["window"]),
            service=service.name(tr.language) if service else v["service"],
        ),
        "     " + tr("formats.export.now", status=tr(status_key(v["status"]))),
    ]
    if v["complaint"]:
        out.append(f"     {tr('patient.export.complaint')}: {v['complaint']}")
    if v["nurse"]:
        out.append(f"     {tr('patient.export.nurse')}: {v['nurse']}")
    if v["nurse_note"]:
        out.append(f"     {tr('patient.export.note')}: {v['nurse_note']}")
    if v["vitals"]:
        out.append(f"     {tr('patient.export.vitals')}: {v['vitals']}")
    if v["feedback"]:
        out.append(
            f"     {tr('patient.export.feedback')}: {v['feedback']['rating']}/5"
            + (f" — {v['feedback']['comment']}" if v["feedback"]["comment"] else "")
        )
    if v["history"]:
        out.append("     " + tr("formats.export.history"))
        out += ["       " + line for line in history_lines(tr, v["history"], tz)]
    return out
