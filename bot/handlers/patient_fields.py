"""Reading one profile field from a message, for registration and for corrections alike.

Each reader returns the conversation-data changes for the field or raises
`scheduler.identity.InvalidInput` (its `key` is the locale key to show). `NeedButton` means the
step expects a button press or a shared contact/location instead of what arrived.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.handlers.patient_flow import Incoming
from homecare.config import ClinicConfig
from scheduler.address import parse_address
from scheduler.geo import outside_radius
from scheduler.identity import (
    InvalidInput,
    Sex,
    nik_birth_date,
    normalise_phone,
    parse_birth_date,
    parse_nik,
    validate_free_text,
    validate_name,
    validate_nik,
    validate_rt_rw,
)

LABEL_MAX = 40
ADDRESS_MAX = 200
LANDMARK_MAX = 150


class NeedText(Exception):
    """Text was expected (a photo, sticker, voice note… arrived)."""


class NeedButton(Exception):
    """A button (or shared contact/location) was expected."""


def _text(msg: Incoming) -> str:
    if msg.kind != "text":
        raise NeedText
    return msg.text


def read_label(msg: Incoming) -> dict[str, Any]:
    return {"label": validate_free_text(_text(msg), max_len=LABEL_MAX, min_len=2)}


def read_name(msg: Incoming) -> dict[str, Any]:
    return {"name": validate_name(_text(msg))}


def read_phone(msg: Incoming) -> dict[str, Any]:
    if msg.kind == "contact":
        return {"phone": normalise_phone(msg.phone)}
    return {"phone": normalise_phone(_text(msg))}


def read_birth(msg: Incoming, today: date, nik: str | None = None) -> dict[str, Any]:
    born = parse_birth_date(_text(msg), today)
    if nik:
        # A correction: the NIK already stored must still match the new date.
        validate_nik(nik, born)
    return {"birth": born.isoformat()}


def read_nik(msg: Incoming, birth: str | None) -> dict[str, Any]:
    text = _text(msg)
    born = date.fromisoformat(birth) if birth else None
    nik = validate_nik(text, born)
    sex = parse_nik(nik).sex
    return {"nik": nik, "sex": "F" if sex is Sex.FEMALE else "M"}


def read_address(msg: Incoming) -> dict[str, Any]:
    return {"address": validate_free_text(_text(msg), max_len=ADDRESS_MAX, min_len=5)}


def read_address_parts(msg: Incoming, area: tuple[str, ...]) -> dict[str, Any]:
    """One typed address → street, and RT/RW, kelurahan, landmark where it names them."""
    text = validate_free_text(_text(msg), max_len=ADDRESS_MAX + LANDMARK_MAX, min_len=5)
    parts = parse_address(text, area)
    street = parts.street if len(parts.street) >= 5 else text
    changes: dict[str, Any] = {"address": street[:ADDRESS_MAX]}
    if parts.rt_rw:
        changes["rtrw"] = parts.rt_rw
    if parts.kelurahan:
        changes["kel"] = parts.kelurahan
    if parts.landmark:
        changes["landmark"] = parts.landmark[:LANDMARK_MAX]
    return changes


def read_rtrw(msg: Incoming) -> dict[str, Any]:
    return {"rtrw": validate_rt_rw(_text(msg))}


def read_landmark(msg: Incoming) -> dict[str, Any]:
    return {"landmark": validate_free_text(_text(msg), max_len=LANDMARK_MAX, min_len=3)}


def read_kelurahan_text(msg: Incoming, area: tuple[str, ...]) -> dict[str, Any]:
    """A kelurahan typed instead of pressed: accepted when it names one of the area exactly."""
    typed = " ".join(_text(msg).split()).casefold()
    for name in area:
        if name.casefold() == typed:
            return {"kel": name}
    raise NeedButton


def read_location(msg: Incoming) -> dict[str, Any]:
    if msg.kind != "location":
        raise NeedButton
    if not (-90 <= msg.lat <= 90 and -180 <= msg.lon <= 180):
        raise NeedButton
    return {"lat": round(msg.lat, 6), "lon": round(msg.lon, 6)}


def far_from_clinic(lat: float, lon: float, clinic: ClinicConfig) -> float | None:
    """km from the puskesmas when the pin is beyond the service radius (asked about), else None."""
    centre = (clinic.location.lat, clinic.location.lon)
    return outside_radius(lat, lon, centre, clinic.service_radius_km)


def read_text_field(field: str, msg: Incoming, today: date, data: dict[str, Any]) -> dict[str, Any]:
    """Dispatch by field name (the names used in conversation data)."""
    if field == "name":
        return read_name(msg)
    if field == "phone":
        return read_phone(msg)
    if field == "birth":
        return read_birth(msg, today, data.get("nik"))
    if field == "nik":
        changes = read_nik(msg, data.get("birth"))
        if not data.get("birth"):
            # The NIK carries the birth date: registration does not ask for it as well.
            changes["birth"] = nik_birth_date(changes["nik"], today).isoformat()
        return changes
    if field == "address":
        return read_address(msg)
    if field == "rtrw":
        return read_rtrw(msg)
    if field == "landmark":
        return read_landmark(msg)
    raise NeedButton


__all__ = [
    "InvalidInput",
    "NeedButton",
    "NeedText",
    "far_from_clinic",
    "read_address",
    "read_address_parts",
    "read_birth",
    "read_kelurahan_text",
    "read_label",
    "read_landmark",
    "read_location",
    "read_name",
    "read_nik",
    "read_phone",
    "read_rtrw",
    "read_text_field",
]
