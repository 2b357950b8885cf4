"""Vital signs a nurse may record when marking a visit done ("Selesai"), typed as one free line.

    TD 130/85, GDS 140, suhu 36,7, SpO2 98, nadi 80
    TTV: TD 130/85 mmHg, N 88x/mnt, RR 20x/mnt, S 36,5°C
    BP 130/85 mmHg; glucose 140 mg/dL; temp 36.7 °C; SpO2 98 %; HR 80 bpm

Labels in Indonesian and English, any order, any separators; decimal comma or point. Every problem
names its field, so the nurse can fix just that part; all problems of a line are reported together.

Plausible ranges (values outside are typing mistakes, not clinical judgements):
blood pressure systolic 60–260 / diastolic 30–160 mmHg with systolic > diastolic; blood glucose
20–600 mg/dL (a decimal value is taken for mmol/L and refused: the clinic records mg/dL);
temperature 33.0–43.0 °C; SpO2 50–100 %; pulse 30–220 /min; respiratory rate 5–60 /min.
Respiratory rate (RR) is accepted too: Indonesian nurses write the vital signs as "TD, N, RR, S".

`LOINC` gives the code, display and UCUM unit of each reading for the FHIR export.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from homecare.errors import UserInputError


class VitalField(enum.StrEnum):
    BLOOD_PRESSURE = "blood_pressure"
    GLUCOSE = "glucose"
    TEMPERATURE = "temperature"
    SPO2 = "spo2"
    PULSE = "pulse"
    RESPIRATION = "respiration"
    LINE = "line"  # text that belongs to no field


class InvalidVital(UserInputError):
    """One problem in a vitals line: `field`, stable `code`, and the `value` as typed.

    Codes: ``missing`` (label without value), ``format``, ``out_of_range``, ``order`` (systolic not
    above diastolic), ``unit`` (mmol/L glucose), ``duplicate``, ``unknown`` (text with no label).
    `errors` holds every problem found in the line, this one first. Locale key:
    ``vitals.error.<code>`` with parameters `field` and `value`.
    """

    def __init__(
        self, field: VitalField, code: str, value: str, more: tuple[InvalidVital, ...] = ()
    ) -> None:
        self.field = field
        self.code = code
        self.value = value
        self.errors: tuple[InvalidVital, ...] = (self, *more)
        super().__init__(f"vitals.error.{code}", field=field.value, value=value)

    def __str__(self) -> str:
        return f"{self.field.value}: {self.code} ({self.value!r})"


# --- ranges ------------------------------------------------------------------------------------

SYSTOLIC_RANGE = (60, 260)
DIASTOLIC_RANGE = (30, 160)
GLUCOSE_RANGE = (20, 600)
TEMPERATURE_RANGE = (Decimal("33.0"), Decimal("43.0"))
SPO2_RANGE = (50, 100)
PULSE_RANGE = (30, 220)
RESPIRATION_RANGE = (5, 60)


# --- LOINC / UCUM for FHIR ---------------------------------------------------------------------

LOINC_SYSTEM = "http://loinc.org"
UCUM_SYSTEM = "http://unitsofmeasure.org"


@dataclass(frozen=True)
class LoincCode:
    code: str
    display: str
    unit: str  # UCUM code
    unit_display: str


# Keys match `Vitals.readings()`. Blood pressure is exported as the panel with two components.
# Glucose is "in Blood" by mass (mg/dL); 15074-8 is the same by moles (mmol/L), which we do not
# record. SpO2: 59408-5 (pulse oximetry) is what the nurse measures; the FHIR vital-signs profile
# also requires 2708-6 on the same Observation, hence both.
LOINC: Mapping[str, LoincCode] = {
    "blood_pressure": LoincCode(
        "85354-9", "Blood pressure panel with all children optional", "mm[Hg]", "mmHg"
    ),
    "systolic": LoincCode("8480-6", "Systolic blood pressure", "mm[Hg]", "mmHg"),
    "diastolic": LoincCode("8462-4", "Diastolic blood pressure", "mm[Hg]", "mmHg"),
    "glucose": LoincCode("2339-0", "Glucose [Mass/volume] in Blood", "mg/dL", "mg/dL"),
    "temperature": LoincCode("8310-5", "Body temperature", "Cel", "°C"),
    "spo2": LoincCode("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "%", "%"),
    "spo2_vital_signs": LoincCode("2708-6", "Oxygen saturation in Arterial blood", "%", "%"),
    "pulse": LoincCode("8867-4", "Heart rate", "/min", "/min"),
    "respiration": LoincCode("9279-1", "Respiratory rate", "/min", "/min"),
}
VITAL_SIGNS_CATEGORY = "vital-signs"  # FHIR observation-category code


@dataclass(frozen=True)
class VitalReading:
    """One value with its LOINC coding, for the export."""

    key: str
    loinc: LoincCode
    value: Decimal


# --- the record --------------------------------------------------------------------------------


def _check_range(field: VitalField, value: Decimal | int, bounds: tuple[Any, Any]) -> None:
    low, high = bounds
    if not low <= value <= high:
        raise InvalidVital(field, "out_of_range", str(value))


@dataclass(frozen=True)
class Vitals:
    """What was measured at a visit; every field optional. Checked on construction, so a stored
    record read back with `from_dict` is as trustworthy as a parsed one."""

    systolic: int | None = None
    diastolic: int | None = None
    glucose_mg_dl: int | None = None
    temperature_c: Decimal | None = None
    spo2_pct: int | None = None
    pulse_per_min: int | None = None
    respiration_per_min: int | None = None

    def __post_init__(self) -> None:
        if (self.systolic is None) != (self.diastolic is None):
            raise InvalidVital(
                VitalField.BLOOD_PRESSURE, "format", f"{self.systolic}/{self.diastolic}"
            )
        if self.systolic is not None and self.diastolic is not None:
            _check_bp(self.systolic, self.diastolic, f"{self.systolic}/{self.diastolic}")
        if self.glucose_mg_dl is not None:
            _check_range(VitalField.GLUCOSE, self.glucose_mg_dl, GLUCOSE_RANGE)
        if self.temperature_c is not None:
            _check_range(VitalField.TEMPERATURE, self.temperature_c, TEMPERATURE_RANGE)
        if self.spo2_pct is not None:
            _check_range(VitalField.SPO2, self.spo2_pct, SPO2_RANGE)
        if self.pulse_per_min is not None:
            _check_range(VitalField.PULSE, self.pulse_per_min, PULSE_RANGE)
        if self.respiration_per_min is not None:
            _check_range(VitalField.RESPIRATION, self.respiration_per_min, RESPIRATION_RANGE)

    @property
    def is_empty(self) -> bool:
        return all(v is None for v in self.as_dict().values())

    def as_dict(self) -> dict[str, int | float | None]:
        """For the JSON column; temperature as a float with one decimal."""
        return {
            "systolic": self.systolic,
            "diastolic": self.diastolic,
            "glucose_mg_dl": self.glucose_mg_dl,
            "temperature_c": None if self.temperature_c is None else float(self.temperature_c),
            "spo2_pct": self.spo2_pct,
            "pulse_per_min": self.pulse_per_min,
            "respiration_per_min": self.respiration_per_min,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Vitals:
        temperature = data.get("temperature_c")
        return cls(
            systolic=data.get("systolic"),
            diastolic=data.get("diastolic"),
            glucose_mg_dl=data.get("glucose_mg_dl"),
            temperature_c=None if temperature is None else Decimal(str(temperature)),
            spo2_pct=data.get("spo2_pct"),
            pulse_per_min=data.get("pulse_per_min"),
            respiration_per_min=data.get("respiration_per_min"),
        )

    def readings(self) -> tuple[VitalReading, ...]:
        """Each recorded value with its LOINC code and UCUM unit, in a fixed order."""
        values: list[tuple[str, Decimal | int | None]] = [
            ("systolic", self.systolic),
            ("diastolic", self.diastolic),
            ("glucose", self.glucose_mg_dl),
            ("temperature", self.temperature_c),
            ("spo2", self.spo2_pct),
            ("pulse", self.pulse_per_min),
            ("respiration", self.respiration_per_min),
        ]
        return tuple(
            VitalReading(key, LOINC[key], Decimal(value))
            for key, value in values
            if value is not None
        )


def _check_bp(systolic: int, diastolic: int, typed: str) -> None:
    if not SYSTOLIC_RANGE[0] <= systolic <= SYSTOLIC_RANGE[1]:
        raise InvalidVital(VitalField.BLOOD_PRESSURE, "out_of_range", typed)
    if not DIASTOLIC_RANGE[0] <= diastolic <= DIASTOLIC_RANGE[1]:
        raise InvalidVital(VitalField.BLOOD_PRESSURE, "out_of_range", typed)
    if systolic <= diastolic:
        raise InvalidVital(VitalField.BLOOD_PRESSURE, "order", typed)


# --- single values -----------------------------------------------------------------------------

_BP = re.compile(r"(\d+)\s*/\s*(\d+)\s*(?:mm\s*hg)?", re.IGNORECASE)
_GLUCOSE = re.compile(r"(\d+(?:[.,]\d+)?)\s*(mg\s*/\s*dl|mmol\s*/\s*l)?", re.IGNORECASE)
_TEMPERATURE = re.compile(r"(\d+(?:[.,]\d{1,2})?)\s*(?:°\s*c?|c|celsius|derajat)?", re.IGNORECASE)
_SPO2 = re.compile(r"(\d+)\s*%?")
_PER_MINUTE = r"(?:x\s*/\s*(?:mnt|menit|min)|/\s*(?:mnt|menit|min)|x|bpm|kali\s*/\s*menit|kali)?"
_PULSE = re.compile(rf"(\d+)\s*{_PER_MINUTE}", re.IGNORECASE)
_RESPIRATION = re.compile(rf"(\d+)\s*{_PER_MINUTE}", re.IGNORECASE)


def parse_blood_pressure(text: str) -> tuple[int, int]:
    """ "130/85" or "130 / 85 mmHg" → (130, 85)."""
    m = _BP.fullmatch(text.strip())
    if m is None:
        raise InvalidVital(VitalField.BLOOD_PRESSURE, "format", text)
    systolic, diastolic = int(m.group(1)), int(m.group(2))
    _check_bp(systolic, diastolic, text)
    return systolic, diastolic


def parse_glucose(text: str) -> int:
    """Blood glucose in mg/dL ("140", "140 mg/dL")."""
    m = _GLUCOSE.fullmatch(text.strip())
    if m is None:
        raise InvalidVital(VitalField.GLUCOSE, "format", text)
    number, unit = m.group(1), m.group(2)
    if (unit and unit.lower().startswith("mmol")) or not number.isdigit():
        raise InvalidVital(VitalField.GLUCOSE, "unit", text)
    value = int(number)
    if not GLUCOSE_RANGE[0] <= value <= GLUCOSE_RANGE[1]:
        raise InvalidVital(VitalField.GLUCOSE, "out_of_range", text)
    return value


def parse_temperature(text: str) -> Decimal:
    """Body temperature in °C, decimal comma or point ("36,5", "36.5 °C")."""
    m = _TEMPERATURE.fullmatch(text.strip())
    if m is None:
        raise InvalidVital(VitalField.TEMPERATURE, "format", text)
    try:
        value = Decimal(m.group(1).replace(",", "."))
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        raise InvalidVital(VitalField.TEMPERATURE, "format", text) from None
    if not TEMPERATURE_RANGE[0] <= value <= TEMPERATURE_RANGE[1]:
        raise InvalidVital(VitalField.TEMPERATURE, "out_of_range", text)
    return value


def _parse_int(
    field: VitalField, pattern: re.Pattern[str], bounds: tuple[int, int], text: str
) -> int:
    m = pattern.fullmatch(text.strip())
    if m is None:
        raise InvalidVital(field, "format", text)
    value = int(m.group(1))
    if not bounds[0] <= value <= bounds[1]:
        raise InvalidVital(field, "out_of_range", text)
    return value


def parse_spo2(text: str) -> int:
    """Oxygen saturation in % ("98", "98%")."""
    return _parse_int(VitalField.SPO2, _SPO2, SPO2_RANGE, text)


def parse_pulse(text: str) -> int:
    """Pulse per minute ("80", "80x/mnt", "80 bpm")."""
    return _parse_int(VitalField.PULSE, _PULSE, PULSE_RANGE, text)


def parse_respiration(text: str) -> int:
    """Breaths per minute ("20", "20x/mnt")."""
    return _parse_int(VitalField.RESPIRATION, _RESPIRATION, RESPIRATION_RANGE, text)


# --- the free line -----------------------------------------------------------------------------

LABELS: Mapping[str, VitalField] = {
    **dict.fromkeys(
        ["td", "t.d.", "t.d", "tensi", "tekanan darah", "bp", "blood pressure"],
        VitalField.BLOOD_PRESSURE,
    ),
    **dict.fromkeys(
        [
            "gds",
            "gda",
            "gd",
            "gula darah sewaktu",
            "gula darah",
            "gula",
            "glukosa",
            "glucose",
            "blood glucose",
            "bg",
            "rbs",
        ],
        VitalField.GLUCOSE,
    ),
    **dict.fromkeys(
        ["suhu tubuh", "suhu", "s", "temp", "temperature", "temperatur"], VitalField.TEMPERATURE
    ),
    **dict.fromkeys(
        ["spo2", "spo₂", "saturasi oksigen", "saturasi", "saturation", "sat o2", "o2 sat", "sat"],
        VitalField.SPO2,
    ),
    **dict.fromkeys(
        ["nadi", "n", "denyut nadi", "frekuensi nadi", "pulse", "hr", "heart rate"],
        VitalField.PULSE,
    ),
    **dict.fromkeys(
        [
            "rr",
            "respirasi",
            "pernapasan",
            "pernafasan",
            "napas",
            "nafas",
            "resp",
            "respiratory rate",
        ],
        VitalField.RESPIRATION,
    ),
}

# Longest first so "gds" wins over "gd" and "saturasi" over "sat". A label must not be glued to a
# preceding letter or digit, nor followed by a letter (digits may follow: "TD130/85").
_LABEL_RE = re.compile(
    r"(?<![a-z0-9])("
    + "|".join(re.escape(label) for label in sorted(LABELS, key=len, reverse=True))
    + r")(?![a-z])",
    re.IGNORECASE,
)
_LEAD = re.compile(r"^[\s:=]+")
_TRAIL = re.compile(r"[\s,;]+$")
# What may stand before the first label: separators, or a heading like "TTV:" (tanda-tanda vital).
_HEAD_OK = re.compile(
    r"[\s,;.]*(?:(?:ttv|tanda[\s-]*tanda\s+vital|tanda\s+vital|vital\s+signs|vitals)[\s:.\-]*)?",
    re.IGNORECASE,
)


def parse_vitals(text: str) -> Vitals:
    """Read a free line of vitals; blank means nothing measured (an empty `Vitals`).

    Raises `InvalidVital` (first problem; `.errors` lists all) and changes nothing.
    """
    matches = list(_LABEL_RE.finditer(text))
    errors: list[InvalidVital] = []
    head = text[: matches[0].start()] if matches else text
    if not _HEAD_OK.fullmatch(head):
        errors.append(InvalidVital(VitalField.LINE, "unknown", head.strip()))

    values: dict[VitalField, Any] = {}
    for i, m in enumerate(matches):
        field = LABELS[m.group(1).lower()]
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        raw = _TRAIL.sub("", _LEAD.sub("", text[m.end() : end]))
        if field in values:
            errors.append(InvalidVital(field, "duplicate", raw))
            continue
        if not raw:
            errors.append(InvalidVital(field, "missing", ""))
            values[field] = None
            continue
        try:
            values[field] = _PARSERS[field](raw)
        except InvalidVital as err:
            values[field] = None
            split = _unknown_tail(field, raw) if err.code == "format" else None
            if split is None:
                errors.append(err)
                continue
            # "TD 130/85 BB 60": the value is fine, the words after it are not ours.
            value_text, tail = split
            try:
                values[field] = _PARSERS[field](value_text)
            except InvalidVital as inner:
                errors.append(inner)
            errors.append(InvalidVital(VitalField.LINE, "unknown", tail))
    if errors:
        first, *rest = errors
        raise InvalidVital(first.field, first.code, first.value, tuple(rest))
    bp = values.get(VitalField.BLOOD_PRESSURE)
    return Vitals(
        systolic=bp[0] if bp else None,
        diastolic=bp[1] if bp else None,
        glucose_mg_dl=values.get(VitalField.GLUCOSE),
        temperature_c=values.get(VitalField.TEMPERATURE),
        spo2_pct=values.get(VitalField.SPO2),
        pulse_per_min=values.get(VitalField.PULSE),
        respiration_per_min=values.get(VitalField.RESPIRATION),
    )


def _unknown_tail(field: VitalField, raw: str) -> tuple[str, str] | None:
    """Split "130/85 BB 60" into the field's value and the trailing text, when the value is
    followed by a separator; None when the value itself is malformed ("130/85x")."""
    m = _PATTERNS[field].match(raw)
    if m is None or m.end() == len(raw):
        return None
    value_text, tail = raw[: m.end()], raw[m.end() :]
    if not (value_text[-1].isspace() or tail[0] in " ,;"):
        return None
    return value_text.strip(), tail.strip(" ,;")


_PARSERS: Mapping[VitalField, Callable[[str], Any]] = {
    VitalField.BLOOD_PRESSURE: parse_blood_pressure,
    VitalField.GLUCOSE: parse_glucose,
    VitalField.TEMPERATURE: parse_temperature,
    VitalField.SPO2: parse_spo2,
    VitalField.PULSE: parse_pulse,
    VitalField.RESPIRATION: parse_respiration,
}

_PATTERNS: Mapping[VitalField, re.Pattern[str]] = {
    VitalField.BLOOD_PRESSURE: _BP,
    VitalField.GLUCOSE: _GLUCOSE,
    VitalField.TEMPERATURE: _TEMPERATURE,
    VitalField.SPO2: _SPO2,
    VitalField.PULSE: _PULSE,
    VitalField.RESPIRATION: _RESPIRATION,
}


__all__ = [
    "LABELS",
    "LOINC",
    "LOINC_SYSTEM",
    "UCUM_SYSTEM",
    "VITAL_SIGNS_CATEGORY",
    "InvalidVital",
    "LoincCode",
    "VitalField",
    "VitalReading",
    "Vitals",
    "parse_blood_pressure",
    "parse_glucose",
    "parse_pulse",
    "parse_respiration",
    "parse_spo2",
    "parse_temperature",
    "parse_vitals",
]
