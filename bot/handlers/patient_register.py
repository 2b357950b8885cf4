"""Consent and registration (flow "p.reg"), and /pasien.

Steps: list (/pasien) → consent → who (myself / a family member) → [label → consent on behalf] →
name → phone → birth → nik → address → kel → rtrw → landmark → loc → confirm. Answers live in
the conversation until the summary is confirmed; then one transaction stores the patient, the
link, the consent for that patient and the role. A kelurahan outside the service area ends the
flow with where to go instead, and stores nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from html import escape
from typing import Any

from bot.callbacks import BadCallback
from bot.handlers.patient_fields import (
    InvalidInput,
    NeedButton,
    NeedText,
    far_from_clinic,
    read_address_parts,
    read_kelurahan_text,
    read_label,
    read_location,
    read_text_field,
)
from bot.handlers.patient_flow import CONTINUATIONS, Ctx, Incoming, int_arg
from bot.i18n import LANGUAGES, t
from bot.messages import Reply
from bot.render import patient as render
from bot.render.patient import kin
from bot.turn import Turn
from db.services import consent as consent_service
from db.services import conversation
from db.services.patients import my_patients
from db.services.registration import PatientDraft, draft_complete, register_patient
from homecare.config import ClinicConfig
from homecare.config_clinics import all_service_areas, clinic_of_kelurahan

FLOW = "p.reg"

# Steps answered by typing one profile field, in order, and the step after each. The NIK gives
# the birth date (asked only when the NIK is skipped); one typed address gives street, RT/RW,
# kelurahan and landmark (kelurahan and RT/RW are asked only when not found in it).
TEXT_STEPS = ("name", "phone", "birth", "nik", "rtrw", "landmark")
NEXT = {
    "name": "phone",
    "phone": "nik",
    "nik": "address",
    "birth": "address",
    "rtrw": "loc",
    "landmark": "loc",
}
PROFILE_KEYS = (
    "name",
    "phone",
    "birth",
    "nik",
    "sex",
    "address",
    "kel",
    "rtrw",
    "landmark",
    "lat",
    "lon",
)


def skip_words() -> set[str]:
    return {t(lang, "patient.skip").casefold() for lang in LANGUAGES}


# --- entry points ----------------------------------------------------------------------------


async def begin(
    turn: Turn,
    now: datetime,
    *,
    then: str | None = None,
    add: bool = False,
    lead: Reply | None = None,
) -> None:
    """Start registering: consent first (unless given for this version), then who it is for.

    `lead` (e.g. the welcome) goes above the first question, in the same message.
    """
    account = turn.require_account()
    version = turn.config.privacy.consent_version
    data: dict[str, Any] = {"then": then} if then else {}
    if not await consent_service.has_account_consent(turn.session, account.id, version):
        text = render.consent_text(turn.tr, turn.config)
        data.update(ch=consent_service.text_hash(text), cl=turn.language)
        if not add and not await my_patients(turn.session, account.id, turn.clinic_id):
            data["pick"] = 1  # agreeing also answers "for whom": one tap less
        conv = await conversation.begin(turn.session, account.id, FLOW, "consent", data, now)
        c = Ctx(turn, conv, now)
        await turn.reply(render.joined(lead, await prompt(c)))
        return
    conv = await conversation.begin(turn.session, account.id, FLOW, "who", data, now)
    c = Ctx(turn, conv, now)
    if add or await _has_self(c):
        c.advance("label", rel="caregiver")
    await c.say(render.joined(lead, await prompt(c)))


async def begin_list(turn: Turn, now: datetime) -> None:
    """/pasien: the patients this account manages, and "add a patient"."""
    account = turn.require_account()
    conv = await conversation.begin(turn.session, account.id, FLOW, "list", {}, now)
    await turn.reply(await prompt(Ctx(turn, conv, now)))


async def _has_self(c: Ctx) -> bool:
    return any(m.is_self for m in await my_patients(c.session, c.account.id, c.clinic_id))


# --- prompts ---------------------------------------------------------------------------------


def _label(c: Ctx) -> str:
    return str(c.data.get("label") or "")


# Steps whose question is one line to type: (locale key, offers "skip").
_TYPED = {
    "nik": ("patient.reg.nik", True),
    "address": ("patient.reg.address", False),
    "rtrw": ("patient.reg.rtrw", False),
    "landmark": ("patient.reg.landmark", False),
}


async def prompt(c: Ctx) -> Reply:
    step = c.conv.step
    if step == "list":
        mine = await my_patients(c.session, c.account.id, c.clinic_id)
        return render.patients_list(
            c.tr, c.nonce, [(m.patient.full_name, m.label, m.is_self) for m in mine]
        )
    if step == "who":
        return render.who_prompt(c.tr, c.nonce, await _has_self(c))
    return _step_prompt(c)


def _step_prompt(c: Ctx) -> Reply:
    """The questions that need nothing but the conversation."""
    tr, nonce, step = c.tr, c.nonce, c.conv.step
    if step in _TYPED:
        key, skip = _TYPED[step]
        return render.text_prompt(tr, nonce, key, skip=skip)
    if step == "label":
        return render.label_prompt(tr, nonce)
    if step in ("consent", "pconsent"):
        return _consent_prompt(c)
    if step == "name":
        if c.data.get("rel") == "self":
            return render.text_prompt(tr, nonce, "patient.reg.name_self")
        return render.text_prompt(tr, nonce, "patient.reg.name_other", label=_escaped_label(c))
    if step == "phone":
        return render.phone_prompt(tr, c.data.get("rel") == "self")
    if step == "birth":
        return render.birth_prompt(tr)
    if step == "kel":
        return render.kelurahan_prompt(
            tr, nonce, all_service_areas(c.config), "patient.reg.kelurahan"
        )
    if step in ("loc", "locfar"):
        return _location_prompt(c)
    return render.reg_summary(tr, nonce, c.data)


def _location_prompt(c: Ctx) -> Reply:
    if c.conv.step == "locfar":
        clinic = _routed_clinic(c)
        km = far_from_clinic(float(c.data["plat"]), float(c.data["plon"]), clinic)
        return render.far_pin_ask(c.tr, c.nonce, km or 0.0, clinic.name)
    return render.location_prompt(c.tr)


def _consent_prompt(c: Ctx) -> Reply:
    if c.conv.step == "pconsent":
        text = render.on_behalf_text(c.tr, c.config, _label(c))
        return render.consent_prompt(c.tr, text, c.nonce)
    text = render.consent_text(c.tr, c.config)
    return render.consent_prompt(c.tr, text, c.nonce, who=bool(c.data.get("pick")))


def _escaped_label(c: Ctx) -> str:
    return escape(kin.said(c.tr, _label(c)))


async def goto(c: Ctx, step: str, **changes: Any) -> None:
    c.advance(step, **changes)
    await c.say(await prompt(c))


async def _go_label(c: Ctx) -> None:
    await goto(c, "label", rel="caregiver")


# --- buttons ---------------------------------------------------------------------------------


async def on_button(c: Ctx, action: str, args: list[str]) -> None:
    step = c.conv.step
    if step == "kel" and action == "k" and len(args) == 1:
        await _kelurahan(c, args[0])
        return
    if step == "label" and action == "kin":
        index = int_arg(args)
        if index >= len(kin.OFFERED):
            raise BadCallback("no such kin")
        await c.accepted_press()
        await _label_given(c, kin.stored_word(kin.OFFERED[index]))
        return
    pressed = _BUTTONS.get((step, action))
    # "Myself" is offered only while nobody is registered as the account's own patient.
    if pressed is None or ((step, action) == ("who", "me") and await _has_self(c)):
        c.stale()
        return
    await c.accepted_press()
    await pressed(c)


async def _add(c: Ctx) -> None:
    if await _needs_consent(c):
        await begin(c.turn, c.now, add=True)
        return
    await _go_label(c)


async def _on_behalf_refused(c: Ctx) -> None:
    label = _label(c)
    await c.end()
    await c.say(render.on_behalf_refused(c.tr, c.config, label))


# (step, action) → what the press does, once its keyboard is taken away.
_BUTTONS: dict[tuple[str, str], Callable[[Ctx], Awaitable[None]]] = {
    ("list", "add"): _add,
    ("consent", "ok"): lambda c: _account_consent(c, True),
    ("consent", "okme"): lambda c: _account_consent(c, True, "me"),
    ("consent", "okfam"): lambda c: _account_consent(c, True, "fam"),
    ("consent", "no"): lambda c: _account_consent(c, False),
    ("who", "me"): lambda c: goto(c, "name", rel="self"),
    ("who", "fam"): _go_label,
    ("pconsent", "ok"): lambda c: goto(c, "name"),
    ("pconsent", "no"): _on_behalf_refused,
    ("nik", "skip"): lambda c: goto(c, "birth", nik=None, sex=None),
    ("locfar", "locok"): lambda c: _far_pin_kept(c),
    ("locfar", "locagain"): lambda c: goto(c, "loc", plat=None, plon=None),
    ("confirm", "save"): lambda c: _save(c),
    ("confirm", "redo"): lambda c: goto(c, "name", **{k: None for k in PROFILE_KEYS}),
}


async def _needs_consent(c: Ctx) -> bool:
    version = c.config.privacy.consent_version
    return not await consent_service.has_account_consent(c.session, c.account.id, version)


async def _picked(c: Ctx, who: str) -> None:
    """Consent given with "for myself" / "for my family": straight to that question."""
    step, rel = ("name", "self") if who == "me" else ("label", "caregiver")
    await goto(c, step, rel=rel, ch=None, cl=None, pick=None)


async def _account_consent(c: Ctx, agreed: bool, who: str | None = None) -> None:
    if not agreed:
        # Refusal stores nothing: the conversation row goes too.
        await c.end()
        await c.say(render.consent_refused(c.tr, c.config))
        return
    await consent_service.record(
        c.session,
        account_id=c.account.id,
        patient_id=None,
        version=c.config.privacy.consent_version,
        shown_hash=str(c.data["ch"]),
        language=str(c.data.get("cl") or c.turn.language),
        now=c.now,
    )
    if who is not None and c.data.get("pick"):
        await _picked(c, who)
        return
    if c.data.get("then") == "book" and await my_patients(c.session, c.account.id, c.clinic_id):
        await CONTINUATIONS["book"](c.turn, c.now, None)
        return
    if await _has_self(c):
        await _go_label(c)
        return
    await goto(c, "who", ch=None, cl=None)


async def _kelurahan(c: Ctx, arg: str) -> None:
    area = all_service_areas(c.config)
    if arg == "x":
        await c.accepted_press()
        await c.end()
        await c.say(render.out_of_area(c.tr, c.config))
        return
    if not arg.isdigit() or int(arg) >= len(area):
        c.stale()
        return
    await c.accepted_press()
    await _after_kelurahan(c, kel=area[int(arg)])


async def _address(c: Ctx, changes: dict[str, Any]) -> None:
    """The typed address: on to what it did not say (kelurahan, RT/RW), else the location."""
    if not changes.get("kel"):
        await goto(c, "kel", **changes)
    else:
        await _after_kelurahan(c, **changes)


async def _after_kelurahan(c: Ctx, **changes: Any) -> None:
    # The kelurahan decides the puskesmas (each kelurahan is in one clinic's service area).
    clinic = clinic_of_kelurahan(c.config, str(changes.get("kel") or c.data.get("kel") or ""))
    if clinic is None:
        await c.end()
        await c.say(render.out_of_area(c.tr, c.config))
        return
    rtrw = changes.get("rtrw", c.data.get("rtrw"))
    await goto(c, "loc" if rtrw else "rtrw", pk=clinic.code, **changes)


def _routed_clinic(c: Ctx) -> ClinicConfig:
    """The puskesmas the family's kelurahan belongs to (the person's own until it is known)."""
    return c.config.clinic_by_code(str(c.data.get("pk") or "")) or c.config.clinic


def _routed_clinic_id(c: Ctx) -> int:
    code = str(c.data.get("pk") or "")
    clinics = c.turn.clinics
    return clinics.ids.get(code, c.clinic_id) if clinics is not None else c.clinic_id


async def _save(c: Ctx) -> None:
    data = c.data
    if not draft_complete(data):
        await goto(c, "name")
        return
    consented = await _consent_for(c)
    if consented is None:
        await begin(c.turn, c.now, then=data.get("then"))
        return
    relation, shown_hash, shown_language = consented
    c.turn.switch_clinic(_routed_clinic_id(c))
    patient = await register_patient(
        c.session,
        account=c.account,
        clinic_id=c.clinic_id,
        draft=PatientDraft.from_data(data),
        relation=relation,
        label=data.get("label") if relation == "caregiver" else None,
        consent_version=c.config.privacy.consent_version,
        consent_hash=shown_hash,
        language=shown_language,
        now=c.now,
    )
    await _registered(c, relation, patient.id)


async def _consent_for(c: Ctx) -> tuple[str, str, str] | None:
    """(relation, hash and language of the consent text shown); None when the account's own
    consent is gone (registration starts over with it)."""
    relation = "self" if c.data.get("rel") == "self" else "caregiver"
    if relation == "self" and await _has_self(c):
        relation = "caregiver"
    if relation != "self":
        return relation, str(c.data.get("pch") or ""), str(c.data.get("pcl") or c.turn.language)
    # Registering oneself is covered by the text the account agreed to: same hash.
    version = c.config.privacy.consent_version
    own = await consent_service.account_consent(c.session, c.account.id, version)
    return None if own is None else (relation, own.text_hash, own.language)


async def _registered(c: Ctx, relation: str, patient_id: int) -> None:
    then_booking = c.data.get("then") == "book"
    who = c.tr("patient.you") if relation == "self" else kin.said(c.tr, _label(c))
    data = dict(c.data)
    await c.end()
    await c.say(render.registered(c.tr, who, patient_id, then_booking, data))
    if then_booking:
        await CONTINUATIONS["book"](c.turn, c.now, patient_id)


# --- typed input -----------------------------------------------------------------------------


async def on_message(c: Ctx, msg: Incoming) -> None:
    step = c.conv.step
    try:
        if step == "label":
            await _typed_label(c, msg)
        elif step == "address":
            await _address(c, read_address_parts(msg, all_service_areas(c.config)))
        elif step in TEXT_STEPS:
            await goto(c, NEXT[step], **read_text_field(step, msg, c.today, c.data))
        elif step == "kel":
            await _after_kelurahan(c, **read_kelurahan_text(msg, all_service_areas(c.config)))
        elif step in ("loc", "locfar"):
            await _location(c, msg)
        else:
            raise NeedButton
    except InvalidInput as exc:
        await c.reject(exc.key, await prompt(c))
    except NeedText:
        await c.reject("common.media_not_expected", await prompt(c))
    except NeedButton:
        await c.reject(_button_hint(step), await prompt(c))


async def _typed_label(c: Ctx, msg: Incoming) -> None:
    await _label_given(c, kin.normalise(read_label(msg)["label"]))


async def _label_given(c: Ctx, label: str) -> None:
    """Whom the family member registers ("Ibu", stored without "saya"); the on-behalf consent
    names them as the family would hear it ("Ibu Anda")."""
    text = render.on_behalf_text(c.tr, c.config, label)
    c.advance("pconsent", pch=consent_service.text_hash(text), pcl=c.turn.language, label=label)
    await c.say(render.consent_prompt(c.tr, text, c.nonce))


def _button_hint(step: str) -> str:
    if step == "phone":
        return "patient.reg.phone_hint"
    if step in ("loc", "locfar"):
        return "patient.reg.location_hint"
    return "patient.press_button"


async def _location(c: Ctx, msg: Incoming) -> None:
    """The last answer: registration is saved at once (one field can be changed afterwards
    with /data_saya, shown in the saved message)."""
    if msg.kind == "text" and msg.text.strip().casefold() in skip_words():
        c.advance("confirm", lat=None, lon=None)
    else:
        changes = read_location(msg)
        if far_from_clinic(changes["lat"], changes["lon"], _routed_clinic(c)) is not None:
            # A pin sent from elsewhere would make every visit unplannable: ask first.
            await goto(c, "locfar", plat=changes["lat"], plon=changes["lon"])
            return
        c.advance("confirm", locfar=None, **changes)
    await _save(c)


async def _far_pin_kept(c: Ctx) -> None:
    """The family says the far pin is right: keep it and save."""
    lat, lon = c.data.get("plat"), c.data.get("plon")
    if lat is None or lon is None:
        await goto(c, "loc")
        return
    c.advance("confirm", lat=lat, lon=lon, plat=None, plon=None, locfar=True)
    await _save(c)
