"""Registering a patient: the questions, the summary, the list of one's patients."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from html import escape
from typing import Any

from bot.callbacks import encode
from bot.i18n import Translator
from bot.messages import Button, KeyButton, Reply
from bot.render.formats import day_long
from bot.render.patient.common import (
    ANY_PATIENT,
    START_BOOKING_PREFIX,
    cb,
    quit_row,
    who_html,
)
from bot.render.patient.kin import OFFERED, button_text, said
from homecare.config import Config


def who_prompt(tr: Translator, nonce: str, has_self: bool) -> Reply:
    rows: list[tuple[Button, ...]] = []
    if not has_self:
        rows.append((Button(tr("patient.reg.who_me"), data=cb(nonce, "me")),))
    rows.append((Button(tr("patient.reg.who_family"), data=cb(nonce, "fam")),))
    rows.append(quit_row(tr, nonce))
    return Reply(tr("patient.reg.who"), buttons=tuple(rows))


def text_prompt(
    tr: Translator, nonce: str, key: str, *, skip: bool = False, **params: str
) -> Reply:
    """A question answered by typing; with an inline "skip" when the answer is optional."""
    rows: list[tuple[Button, ...]] = []
    if skip:
        rows.append((Button(tr("patient.skip"), data=cb(nonce, "skip")),))
    rows.append(quit_row(tr, nonce))
    return Reply(tr(key, **params) if params else tr(key), buttons=tuple(rows))


def label_prompt(tr: Translator, nonce: str) -> Reply:
    """Who the patient is to the family: the usual ones as buttons, anything else typed."""
    kin_buttons = [
        Button(button_text(tr, k), data=cb(nonce, "kin", i)) for i, k in enumerate(OFFERED)
    ]
    rows = [tuple(kin_buttons[i : i + 2]) for i in range(0, len(kin_buttons), 2)]
    return Reply(tr("patient.reg.label"), buttons=(*rows, quit_row(tr, nonce)))


def phone_prompt(tr: Translator, for_self: bool) -> Reply:
    return Reply(
        tr("patient.reg.phone_self" if for_self else "patient.reg.phone_other"),
        keyboard=((KeyButton(tr("patient.reg.phone_button"), request_contact=True),),),
    )


def birth_prompt(tr: Translator) -> Reply:
    # No inline buttons: this message takes the phone keyboard away.
    return Reply(tr("patient.reg.birth"), remove_keyboard=True)


def kelurahan_prompt(tr: Translator, nonce: str, area: Sequence[str], key: str) -> Reply:
    rows: list[tuple[Button, ...]] = []
    for i in range(0, len(area), 2):
        rows.append(
            tuple(Button(name, data=cb(nonce, "k", j)) for j, name in enumerate(area[i : i + 2], i))
        )
    rows.append((Button(tr("patient.reg.kelurahan_other"), data=cb(nonce, "k", "x")),))
    rows.append(quit_row(tr, nonce))
    return Reply(tr(key), buttons=tuple(rows))


def out_of_area(tr: Translator, config: Config) -> Reply:
    if len(config.clinics) > 1:  # a city-wide install: which puskesmas serves where
        lines = (
            tr(
                "clinics.clinic_line",
                name=escape(c.name),
                phone=escape(c.phone),
                area=escape(", ".join(c.service_area)),
            )
            for c in config.clinics
        )
        return Reply(
            tr(
                "clinics.out_of_area",
                clinics="\n".join(lines),
                emergency=" / ".join(config.clinic.emergency_numbers),
            ),
            remove_keyboard=True,
        )
    return Reply(
        tr(
            "patient.reg.out_of_area",
            area=escape(", ".join(config.clinic.service_area)),
            phone=escape(config.clinic.phone),
            emergency=" / ".join(config.clinic.emergency_numbers),
        ),
        remove_keyboard=True,
    )


def location_prompt(tr: Translator) -> Reply:
    return Reply(
        tr("patient.reg.location"),
        keyboard=(
            (KeyButton(tr("patient.reg.location_button"), request_location=True),),
            (KeyButton(tr("patient.skip")),),
        ),
    )


def keyboard_gone(tr: Translator, key: str) -> Reply:
    return Reply(tr(key), remove_keyboard=True)


def profile_lines(tr: Translator, data: Mapping[str, Any]) -> str:
    none = tr("patient.none")
    birth = data.get("birth")
    return tr(
        "patient.reg.profile",
        name=escape(str(data.get("name") or none)),
        phone=escape(str(data.get("phone") or none)),
        birth=day_long(tr, date.fromisoformat(birth)) if birth else none,
        nik=escape(str(data.get("nik") or none)),
        address=escape(str(data.get("address") or none)),
        rtrw=escape(str(data.get("rtrw") or none)),
        kelurahan=escape(str(data.get("kel") or none)),
        landmark=escape(str(data.get("landmark") or none)),
        location=tr("patient.reg.location_set") if data.get("lat") is not None else none,
    )


def reg_summary(tr: Translator, nonce: str, data: Mapping[str, Any]) -> Reply:
    who = (
        tr("patient.you")
        if data.get("rel") == "self"
        else escape(said(tr, str(data.get("label") or "")))
    )
    return Reply(
        tr("patient.reg.summary", who=who, profile=profile_lines(tr, data)),
        buttons=(
            (Button(tr("patient.reg.summary_yes"), data=cb(nonce, "save")),),
            (Button(tr("patient.reg.summary_redo"), data=cb(nonce, "redo")),),
            quit_row(tr, nonce),
        ),
    )


def registered(
    tr: Translator, who: str, patient_id: int, then_booking: bool, data: Mapping[str, Any]
) -> Reply:
    """Saved at once after the last answer: what was stored, and how to change one field."""
    saved = tr("patient.reg.saved", who=escape(who))
    text = f"{saved}\n\n{profile_lines(tr, data)}\n\n{tr('patient.reg.saved_edit')}"
    if then_booking:
        return Reply(text, remove_keyboard=True)
    return Reply(
        text,
        buttons=(
            (Button(tr("patient.reg.book_now"), data=encode(START_BOOKING_PREFIX, patient_id)),),
        ),
    )


def welcome_back(tr: Translator, welcome: Reply | None) -> Reply:
    """/start from a registered family: the greeting and one button to ask for a visit."""
    lead = f"{welcome.text}\n\n" if welcome is not None else ""
    text = f"{lead}{tr('patient.welcome_back')}"
    button = Button(tr("patient.reg.book_now"), data=encode(START_BOOKING_PREFIX, ANY_PATIENT))
    return Reply(text, buttons=((button,),))


def patients_list(
    tr: Translator, nonce: str, patients: Sequence[tuple[str | None, str | None, bool]]
) -> Reply:
    """`patients`: (name, label, is_self) for each linked patient."""
    if patients:
        lines = [tr("patient.patients.title")]
        lines += [
            tr(
                "patient.patients.line",
                who=who_html(tr, name, label, is_self),
                name=escape(name or tr("patient.deleted_name")),
            )
            for name, label, is_self in patients
        ]
    else:
        lines = [tr("patient.patients.none")]
    return Reply(
        "\n".join(lines),
        buttons=(
            (Button(tr("patient.patients.add"), data=cb(nonce, "add")),),
            quit_row(tr, nonce, "patient.close"),
        ),
    )
