"""What heads and nurses are told about the family's bookings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from html import escape

from bot.i18n import Translator
from bot.messages import Reply
from bot.render.formats import day_long
from bot.render.patient.common import (
    PatientLike,
    VisitLike,
    code_label,
    patient_name_html,
    window_label,
)
from homecare.config import Config
from scheduler.booking import TimeWindow


def head_emergency_alert(
    tr: Translator,
    config: Config,
    patient: PatientLike,
    signs: Sequence[str],
    service_code: str | None,
    now: datetime,
) -> Reply:
    by_code = {s.code: s for s in config.danger_signs}
    sign_names = [
        by_code[c].question(tr.language).rstrip("?") if c in by_code else c for c in signs
    ]
    service = config.service(service_code) if service_code else None
    address = ", ".join(
        x
        for x in (patient.address, patient.rt_rw and f"RT/RW {patient.rt_rw}", patient.kelurahan)
        if x
    )
    return Reply(
        tr(
            "patient.staff.emergency",
            time=now.astimezone(config.clinic.tz).strftime("%H:%M"),
            name=patient_name_html(tr, patient),
            phone=escape(patient.phone or "—"),
            address=escape(address or "—"),
            landmark=escape(patient.landmark or "—"),
            signs=escape(", ".join(sign_names)),
            service=escape(service.name(tr.language) if service else "—"),
            emergency=" / ".join(config.clinic.emergency_numbers),
        )
    )


def staff_visit_changed(
    tr: Translator,
    config: Config,
    what: str,
    visit: VisitLike,
    patient: PatientLike | None,
    *,
    old_day: date | None = None,
    old_window: TimeWindow | None = None,
    reason: str | None = None,
) -> Reply:
    params = {
        "code": code_label(visit.code),
        "patient": patient_name_html(tr, patient),
        "day": day_long(tr, visit.day),
        "window": window_label(visit.window_start, visit.window_end),
    }
    if what == "rescheduled":
        assert old_day is not None and old_window is not None
        text = tr(
            "patient.staff.rescheduled",
            old_day=day_long(tr, old_day),
            old_window=old_window.label,
            **params,
        )
    else:
        text = tr("patient.staff.cancelled", **params)
        if reason:
            text += "\n" + tr("patient.staff.reason", reason=escape(reason))
    return Reply(text)
