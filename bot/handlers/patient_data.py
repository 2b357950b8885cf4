"""/data_saya (flow "p.data"): a readable copy of everything stored, corrections, deletion.

Steps: menu → export (documents sent at once) | fixp → fixf → fixv (one profile field) | delete.
Staff accounts may export their data; their deletion goes through the clinic head.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime

from bot.handlers.patient_fields import (
    InvalidInput,
    NeedButton,
    NeedText,
    far_from_clinic,
    read_location,
    read_text_field,
)
from bot.handlers.patient_flow import Ctx, Incoming, int_arg
from bot.messages import Reply
from bot.render import patient as render
from bot.turn import Turn
from db.services import conversation
from db.services import data_rights as rights_service
from db.services.patients import MyPatient, apply_correction, my_patient, my_patients

FLOW = "p.data"
STAFF_ROLES = frozenset({"nurse", "head", "admin"})


async def begin(turn: Turn, now: datetime) -> None:
    account = turn.require_account()
    conv = await conversation.begin(turn.session, account.id, FLOW, "menu", {}, now)
    await turn.reply(await prompt(Ctx(turn, conv, now)))


def _is_staff(c: Ctx) -> bool:
    return bool(c.turn.roles & STAFF_ROLES)


def _profile(m: MyPatient) -> dict[str, object]:
    p = m.patient
    return {
        "name": p.full_name,
        "phone": p.phone,
        "birth": p.birth_date.isoformat() if p.birth_date else None,
        "nik": p.nik,
        "address": p.address,
        "kel": p.kelurahan,
        "rtrw": p.rt_rw,
        "landmark": p.landmark,
        "lat": p.lat,
        "lon": p.lon,
    }


def _who(c: Ctx, m: MyPatient) -> str:
    return render.who_plain(c.tr, m.patient.full_name, m.label, m.is_self)


async def _chosen(c: Ctx) -> MyPatient | None:
    pid = c.data.get("pid")
    if pid is None:
        return None
    return await my_patient(c.session, c.account.id, c.clinic_id, int(pid))


async def prompt(c: Ctx) -> Reply:
    tr, nonce, step = c.tr, c.nonce, c.conv.step
    if step == "menu":
        mine = await my_patients(c.session, c.account.id, c.clinic_id)
        return render.data_menu(tr, nonce, can_fix=bool(mine), can_delete=not _is_staff(c))
    if step == "fixp":
        mine = await my_patients(c.session, c.account.id, c.clinic_id)
        return render.choose_patient_to_fix(tr, nonce, [(m.patient.id, _who(c, m)) for m in mine])
    if step == "delete":
        return render.delete_ask(tr, nonce, c.config)
    if step == "fixfar":
        km = far_from_clinic(float(c.data["plat"]), float(c.data["plon"]), c.config.clinic)
        return render.far_pin_ask(tr, nonce, km or 0.0, c.config.clinic.name)
    chosen = await _chosen(c)
    if chosen is None:
        return Reply(tr("patient.data.nothing_to_fix"))
    if step == "fixf":
        p = chosen.patient
        who = render.who_in_sentence(tr, p.full_name, chosen.label, chosen.is_self)
        return render.fix_field(tr, nonce, who, _profile(chosen))
    return _value_prompt(c, chosen)


def _value_prompt(c: Ctx, chosen: MyPatient) -> Reply:
    """Step "fixv": the new value of the chosen field, asked the way registration asks it."""
    tr, nonce, field = c.tr, c.nonce, str(c.data.get("field"))
    if field == "kel":
        return render.kelurahan_prompt(
            tr, nonce, c.config.clinic.service_area, "patient.data.fix_value"
        )
    if field == "loc":
        return render.location_prompt(tr)
    if field == "phone":
        return render.phone_prompt(tr, chosen.is_self)
    return render.text_prompt(
        tr,
        nonce,
        "patient.data.fix_value_typed",
        skip=field == "nik",
        field=tr(f"patient.data.field.{field}"),
    )


async def goto(c: Ctx, step: str, **changes: object) -> None:
    c.advance(step, **changes)
    await c.say(await prompt(c))


async def on_button(c: Ctx, action: str, args: list[str]) -> None:
    pressed = _button(c, action, args)
    if pressed is None:
        c.stale()
        return
    await pressed(c, args)


def _button(c: Ctx, action: str, args: list[str]) -> _Press | None:
    """What the press does in this step, or None when it does not belong here."""
    step, field = c.conv.step, c.data.get("field")
    if step == "fixf" and action == "f" and not (len(args) == 1 and args[0] in render.FIELDS):
        return None
    if step == "fixv" and action == "k" and not (field == "kel" and len(args) == 1):
        return None
    if step == "fixv" and action == "skip" and field != "nik":
        return None
    return _BUTTONS.get((step, action))


async def _export(c: Ctx, args: list[str]) -> None:
    await c.accepted_press()
    data = await rights_service.export_own(c.session, c.account, c.clinic_id, c.now)
    await c.end()
    chat_id = c.turn.chat_id
    assert chat_id is not None
    for body, name, caption in render.export_files(c.tr, c.config, data, c.now):
        await c.turn.call(
            "sendDocument",
            {
                "chat_id": chat_id,
                "caption": caption,
                "parse_mode": "HTML",
                "__attachment__": {"field": "document", "filename": name},
            },
            chat_id=chat_id,
            kind="data_export",
            account_id=c.account.id,
            attachment=body,
        )


async def _fix(c: Ctx, args: list[str]) -> None:
    """One patient: straight to its fields; several: which one first."""
    mine = await my_patients(c.session, c.account.id, c.clinic_id)
    if not mine:
        c.answer("patient.data.nothing_to_fix")
        return
    await c.accepted_press()
    if len(mine) == 1:
        await goto(c, "fixf", pid=mine[0].patient.id)
    else:
        await goto(c, "fixp")


async def _ask_delete(c: Ctx, args: list[str]) -> None:
    """Staff accounts are deleted through the clinic head, not here."""
    await c.accepted_press()
    if _is_staff(c):
        await c.end()
        await c.say(Reply(c.tr("patient.data.staff_no_delete")))
    else:
        await goto(c, "delete")


async def _pick(c: Ctx, args: list[str]) -> None:
    picked = await my_patient(c.session, c.account.id, c.clinic_id, int_arg(args))
    if picked is None:
        c.not_yours()
        return
    await c.accepted_press()
    await goto(c, "fixf", pid=picked.patient.id)


async def _field(c: Ctx, args: list[str]) -> None:
    await c.accepted_press()
    await goto(c, "fixv", field=args[0])


async def _skip_nik(c: Ctx, args: list[str]) -> None:
    await c.accepted_press()
    await _apply(c, (None, None))


async def _confirm_delete(c: Ctx, args: list[str]) -> None:
    await c.accepted_press()
    await _delete(c)


_Press = Callable[[Ctx, list[str]], Awaitable[None]]
_BUTTONS: dict[tuple[str, str], _Press] = {
    ("menu", "ex"): _export,
    ("menu", "fx"): _fix,
    ("menu", "del"): _ask_delete,
    ("fixp", "p"): _pick,
    ("fixf", "f"): _field,
    ("fixv", "k"): lambda c, args: _kelurahan(c, args[0]),
    ("fixv", "skip"): _skip_nik,
    ("delete", "delok"): _confirm_delete,
    ("fixfar", "locok"): lambda c, args: _far_pin_kept(c),
    ("fixfar", "locagain"): lambda c, args: _far_pin_again(c),
}


async def _far_pin_kept(c: Ctx) -> None:
    await c.accepted_press()
    lat, lon = c.data.get("plat"), c.data.get("plon")
    await _apply(c, (lat, lon) if lat is not None and lon is not None else (None, None))


async def _far_pin_again(c: Ctx) -> None:
    await c.accepted_press()
    await goto(c, "fixv", plat=None, plon=None)


async def _kelurahan(c: Ctx, arg: str) -> None:
    area = c.config.clinic.service_area
    if arg == "x":
        await c.accepted_press()
        await c.end()
        await c.say(render.out_of_area(c.tr, c.config))
        return
    if not arg.isdigit() or int(arg) >= len(area):
        c.stale()
        return
    await c.accepted_press()
    await _apply(c, area[int(arg)])


async def _apply(c: Ctx, value: object) -> None:
    chosen = await _chosen(c)
    if chosen is None:
        c.stale()
        return
    apply_correction(chosen.patient, str(c.data["field"]), value, c.now)
    await c.end()
    await c.say(Reply(c.tr("patient.data.fixed"), remove_keyboard=True))


async def _delete(c: Ctx) -> None:
    report = await rights_service.delete_my_data(
        c.session, c.config, c.account, c.clinic_id, c.now, notes=c.notes
    )
    c.turn.compact = True
    await c.say(
        render.deleted(
            c.tr,
            c.config,
            removed=report.patients_removed,
            unlinked=report.patients_unlinked,
            cancelled_visits=report.visits_cancelled,
            kept_visits=report.visits_kept,
        )
    )


async def on_message(c: Ctx, msg: Incoming) -> None:
    if c.conv.step == "fixfar":  # another pin instead of an answer: check that one
        c.advance("fixv", plat=None, plon=None)
    step, field = c.conv.step, str(c.data.get("field"))
    if step != "fixv":
        hint = "common.media_not_expected" if msg.kind == "media" else "patient.press_button"
        await c.reject(hint, await prompt(c))
        return
    chosen = await _chosen(c)
    if chosen is None:
        await c.end()
        await c.say(Reply(c.tr("patient.data.nothing_to_fix")))
        return
    try:
        value = _typed_value(field, msg, chosen, c.today)
    except InvalidInput as exc:
        await c.reject(exc.key, await prompt(c))
        return
    except (NeedText, NeedButton) as exc:
        await c.reject(_hint(field, exc), await prompt(c))
        return
    await _apply_or_ask(c, field, value)


def _hint(field: str, exc: Exception) -> str:
    if isinstance(exc, NeedText):
        return "common.media_not_expected"
    return "patient.reg.location_hint" if field == "loc" else "patient.press_button"


async def _apply_or_ask(c: Ctx, field: str, value: object) -> None:
    """A far pin is asked about first (see patient_register); anything else is applied."""
    if field == "loc" and isinstance(value, tuple) and value[0] is not None:
        lat, lon = float(value[0]), float(value[1])
        if far_from_clinic(lat, lon, c.config.clinic) is not None:
            await goto(c, "fixfar", plat=lat, plon=lon)
            return
    await _apply(c, value)


def _typed_value(field: str, msg: Incoming, chosen: MyPatient, today: date) -> object:
    """The corrected value `apply_correction` takes; raises as the patient_fields readers do."""
    if field == "loc":
        if msg.kind == "text" and msg.text.strip().casefold() in _skip_words():
            return (None, None)
        loc = read_location(msg)
        return (loc["lat"], loc["lon"])
    p = chosen.patient
    known = {
        "nik": p.nik,
        "birth": p.birth_date.isoformat() if isinstance(p.birth_date, date) else None,
    }
    changes = read_text_field(field, msg, today, known)
    return (changes["nik"], changes["sex"]) if field == "nik" else changes[field]


def _skip_words() -> set[str]:
    from bot.handlers.patient_register import skip_words

    return skip_words()
