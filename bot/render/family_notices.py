"""What planning and the nurses' day tell families: the visit is planned, moved, cannot be
planned (with the likely cause), the nurse is on the way, nobody was home."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from html import escape

from bot.i18n import Translator
from bot.messages import Reply
from bot.render.formats import visit_code
from bot.render.nurse import day_label, hm, reason_label, service_name
from bot.render.patient import other_day_button
from bot.render.patient.location import km_text
from homecare.config import Config


@dataclass(frozen=True)
class VisitNotice:
    visit_id: int
    patient_id: int
    code: str
    service_type: str
    day: date
    patient_first_name: str
    nurse_first_name: str
    arrival: tuple[time, time] | None
    reason: str
    phone: str
    km: float | None = None  # the home pin's distance when it is the likely cause


def visit_planned(tr: Translator, config: Config, info: VisitNotice, kind: str) -> Reply:
    """kind: "planned" (first time), "moved" (nurse or time changed), "placed_after_all"."""
    assert info.arrival is not None
    return Reply(
        tr(
            f"nurse.family_{kind}",
            code=escape(visit_code(info.code)),
            service=service_name(config, info.service_type, tr.language),
            day=day_label(tr, info.day),
            nurse=escape(info.nurse_first_name) or tr("nurse.a_nurse"),
            start=hm(info.arrival[0]),
            end=hm(info.arrival[1]),
            patient=escape(info.patient_first_name) or tr("nurse.patient"),
        )
    )


def visit_unplaced(tr: Translator, config: Config, info: VisitNotice) -> Reply:
    """Sorry, not that day: with the family journey's button that moves the visit to another
    day (bot.render.patient.other_day_button, validated when pressed). A home pinned far away
    is named as the likely cause, with how to fix it."""
    if info.km is not None:
        text = tr(
            "location.unplaced",
            code=escape(visit_code(info.code)),
            day=day_label(tr, info.day),
            km=km_text(tr, info.km),
            clinic=escape(config.clinic.name),
            phone=escape(info.phone),
        )
        return Reply(text, buttons=((other_day_button(tr, info.visit_id),),))
    return Reply(
        tr(
            "nurse.family_unplaced",
            code=escape(visit_code(info.code)),
            service=service_name(config, info.service_type, tr.language),
            day=day_label(tr, info.day),
            reason=reason_label(tr, info.reason),
            phone=escape(info.phone),
        ),
        buttons=((other_day_button(tr, info.visit_id),),),
    )


def eta_notice(tr: Translator, nurse_first: str, eta: time, patient_first: str) -> Reply:
    return Reply(
        tr(
            "nurse.family_eta",
            nurse=escape(nurse_first) or tr("nurse.a_nurse"),
            eta=hm(eta),
            patient=escape(patient_first) or tr("nurse.patient"),
        )
    )


def not_home_notice(tr: Translator, config: Config, nurse_first: str, code: str) -> Reply:
    return Reply(
        tr(
            "nurse.family_not_home",
            nurse=escape(nurse_first) or tr("nurse.a_nurse"),
            code=escape(visit_code(code)),
            phone=escape(config.clinic.phone),
        )
    )
