"""Vitals parsing: the free line, single values, ranges at their edges, LOINC codes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from homecare.errors import UserInputError
from scheduler.vitals import (
    LOINC,
    InvalidVital,
    VitalField,
    Vitals,
    parse_blood_pressure,
    parse_glucose,
    parse_pulse,
    parse_respiration,
    parse_spo2,
    parse_temperature,
    parse_vitals,
)

F = VitalField
FULL = Vitals(130, 85, 140, Decimal("36.7"), 98, 80)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("TD 130/85, GDS 140, suhu 36,7, SpO2 98, nadi 80", FULL),
        ("BP 130/85 mmHg; glucose 140 mg/dL; temp 36.7 °C; SpO2 98 %; HR 80 bpm", FULL),
        ("td: 130/85 gds: 140 suhu: 36.7 spo2: 98 nadi: 80", FULL),
        ("TD130/85,GDS140,suhu36,7,SpO2 98,nadi80", FULL),
        ("nadi 80, SpO2 98, suhu 36,7, GDS 140, TD 130/85", FULL),  # any order
        (
            "Tekanan darah 130 / 85, gula darah 140, suhu tubuh 36,7°C, saturasi 98%, nadi 80x/mnt",
            FULL,
        ),
        ("Tensi 130/85\nGD 140\nTemperature 36.7C\nSat 98\nPulse 80 x/menit", FULL),
        (
            "TTV: TD 130/85 mmHg, N 88x/mnt, RR 20x/mnt, S 36,5°C",
            Vitals(130, 85, None, Decimal("36.5"), None, 88, 20),
        ),
        ("T.D. 120/80", Vitals(120, 80)),
        ("GDA 200 mg/dl", Vitals(glucose_mg_dl=200)),
        ("SpO₂ 97", Vitals(spo2_pct=97)),
        ("o2 sat 97%", Vitals(spo2_pct=97)),
        ("heart rate 72", Vitals(pulse_per_min=72)),
        ("suhu 37", Vitals(temperature_c=Decimal("37"))),
        ("suhu 36,55", Vitals(temperature_c=Decimal("36.55"))),
        ("", Vitals()),
        ("   ", Vitals()),
        ("Vitals: BP 120/80", Vitals(120, 80)),
    ],
)
def test_parse_vitals(text: str, expected: Vitals) -> None:
    assert parse_vitals(text) == expected


@pytest.mark.parametrize(
    ("text", "errors"),
    [
        ("hello", [(F.LINE, "unknown", "hello")]),
        ("catatan TD 120/80", [(F.LINE, "unknown", "catatan")]),
        ("TD 120/80 BB 60 nadi 80", [(F.LINE, "unknown", "BB 60")]),
        ("TD 130/85x", [(F.BLOOD_PRESSURE, "format", "130/85x")]),
        ("TD 130", [(F.BLOOD_PRESSURE, "format", "130")]),
        ("TD", [(F.BLOOD_PRESSURE, "missing", "")]),
        ("TD 85/130", [(F.BLOOD_PRESSURE, "order", "85/130")]),
        ("TD 120/120", [(F.BLOOD_PRESSURE, "order", "120/120")]),
        ("TD 120/80, TD 130/80", [(F.BLOOD_PRESSURE, "duplicate", "130/80")]),
        ("GDS 5,6", [(F.GLUCOSE, "unit", "5,6")]),
        ("GDS 7 mmol/L", [(F.GLUCOSE, "unit", "7 mmol/L")]),
        # Fahrenheit: the number is out of the Celsius range and the "F" is not understood.
        ("suhu 98.6 F", [(F.TEMPERATURE, "out_of_range", "98.6"), (F.LINE, "unknown", "F")]),
        ("suhu 367", [(F.TEMPERATURE, "out_of_range", "367")]),
        ("spo2 101", [(F.SPO2, "out_of_range", "101")]),
        ("nadi delapan puluh", [(F.PULSE, "format", "delapan puluh")]),
        # Every problem in the line, in order, each naming its field.
        (
            "td 85/130, gds 5,6, suhu 45, spo2 101, nadi, RR 90",
            [
                (F.BLOOD_PRESSURE, "order", "85/130"),
                (F.GLUCOSE, "unit", "5,6"),
                (F.TEMPERATURE, "out_of_range", "45"),
                (F.SPO2, "out_of_range", "101"),
                (F.PULSE, "missing", ""),
                (F.RESPIRATION, "out_of_range", "90"),
            ],
        ),
        (
            "td 300/85 BB 60",
            [(F.BLOOD_PRESSURE, "out_of_range", "300/85"), (F.LINE, "unknown", "BB 60")],
        ),
    ],
)
def test_parse_vitals_rejects(text: str, errors: list[tuple[VitalField, str, str]]) -> None:
    with pytest.raises(InvalidVital) as err:
        parse_vitals(text)
    assert [(e.field, e.code, e.value) for e in err.value.errors] == errors
    assert (err.value.field, err.value.code, err.value.value) == errors[0]
    assert err.value.key == f"vitals.error.{errors[0][1]}"
    assert isinstance(err.value, UserInputError)


# --- single values at the range edges ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("120/80", (120, 80)),
        ("60/30", (60, 30)),
        ("260/160", (260, 160)),
        ("61/60", (61, 60)),
        ("130 / 85 mmHg", (130, 85)),
        ("130/85mmhg", (130, 85)),
    ],
)
def test_parse_blood_pressure(text: str, expected: tuple[int, int]) -> None:
    assert parse_blood_pressure(text) == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("59/40", "out_of_range"),
        ("261/100", "out_of_range"),
        ("120/29", "out_of_range"),
        ("200/161", "out_of_range"),
        ("80/80", "order"),
        ("120-80", "format"),
        ("120/", "format"),
        ("", "format"),
        ("120/80 cmHg", "format"),
    ],
)
def test_parse_blood_pressure_rejects(text: str, code: str) -> None:
    with pytest.raises(InvalidVital) as err:
        parse_blood_pressure(text)
    assert (err.value.field, err.value.code) == (F.BLOOD_PRESSURE, code)


@pytest.mark.parametrize(
    ("parse", "text", "expected"),
    [
        (parse_glucose, "20", 20),
        (parse_glucose, "600", 600),
        (parse_glucose, "140 mg/dL", 140),
        (parse_glucose, "140mg / dl", 140),
        (parse_temperature, "33", Decimal("33")),
        (parse_temperature, "33.0", Decimal("33.0")),
        (parse_temperature, "43,0", Decimal("43.0")),
        (parse_temperature, "36,5", Decimal("36.5")),
        (parse_temperature, "36.5 °C", Decimal("36.5")),
        (parse_temperature, "36.5°", Decimal("36.5")),
        (parse_temperature, "36,5 derajat", Decimal("36.5")),
        (parse_spo2, "50", 50),
        (parse_spo2, "100", 100),
        (parse_spo2, "98%", 98),
        (parse_pulse, "30", 30),
        (parse_pulse, "220", 220),
        (parse_pulse, "80x/mnt", 80),
        (parse_pulse, "80 kali/menit", 80),
        (parse_pulse, "80 /min", 80),
        (parse_respiration, "5", 5),
        (parse_respiration, "60", 60),
        (parse_respiration, "20 x/menit", 20),
    ],
)
def test_single_values(parse: object, text: str, expected: object) -> None:
    assert callable(parse)
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("parse", "text", "field", "code"),
    [
        (parse_glucose, "19", F.GLUCOSE, "out_of_range"),
        (parse_glucose, "601", F.GLUCOSE, "out_of_range"),
        (parse_glucose, "140.5", F.GLUCOSE, "unit"),
        (parse_glucose, "abc", F.GLUCOSE, "format"),
        (parse_temperature, "32.9", F.TEMPERATURE, "out_of_range"),
        (parse_temperature, "43.1", F.TEMPERATURE, "out_of_range"),
        (parse_temperature, "36.555", F.TEMPERATURE, "format"),
        (parse_temperature, "36,5 F", F.TEMPERATURE, "format"),
        (parse_spo2, "49", F.SPO2, "out_of_range"),
        (parse_spo2, "101", F.SPO2, "out_of_range"),
        (parse_spo2, "98.5", F.SPO2, "format"),
        (parse_pulse, "29", F.PULSE, "out_of_range"),
        (parse_pulse, "221", F.PULSE, "out_of_range"),
        (parse_pulse, "-80", F.PULSE, "format"),
        (parse_respiration, "4", F.RESPIRATION, "out_of_range"),
        (parse_respiration, "61", F.RESPIRATION, "out_of_range"),
    ],
)
def test_single_values_reject(parse: object, text: str, field: VitalField, code: str) -> None:
    assert callable(parse)
    with pytest.raises(InvalidVital) as err:
        parse(text)
    assert (err.value.field, err.value.code) == (field, code)


# --- the record --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field", "code"),
    [
        ({"systolic": 120}, F.BLOOD_PRESSURE, "format"),  # half a blood pressure
        ({"systolic": 80, "diastolic": 90}, F.BLOOD_PRESSURE, "order"),
        ({"glucose_mg_dl": 1000}, F.GLUCOSE, "out_of_range"),
        ({"temperature_c": Decimal("50")}, F.TEMPERATURE, "out_of_range"),
        ({"spo2_pct": 20}, F.SPO2, "out_of_range"),
        ({"pulse_per_min": 10}, F.PULSE, "out_of_range"),
        ({"respiration_per_min": 100}, F.RESPIRATION, "out_of_range"),
    ],
)
def test_vitals_checks_on_construction(
    kwargs: dict[str, object], field: VitalField, code: str
) -> None:
    with pytest.raises(InvalidVital) as err:
        Vitals(**kwargs)  # type: ignore[arg-type]
    assert (err.value.field, err.value.code) == (field, code)


def test_dict_round_trip_and_emptiness() -> None:
    assert FULL.as_dict() == {
        "systolic": 130,
        "diastolic": 85,
        "glucose_mg_dl": 140,
        "temperature_c": 36.7,
        "spo2_pct": 98,
        "pulse_per_min": 80,
        "respiration_per_min": None,
    }
    assert Vitals.from_dict(FULL.as_dict()) == FULL
    assert Vitals.from_dict({}) == Vitals()
    assert Vitals().is_empty and not FULL.is_empty
    with pytest.raises(InvalidVital):
        Vitals.from_dict({"spo2_pct": 150})


def test_readings_carry_loinc_codes_and_ucum_units() -> None:
    readings = Vitals(130, 85, 140, Decimal("36.7"), 98, 80, 20).readings()
    assert [(r.key, r.loinc.code, r.loinc.unit, r.value) for r in readings] == [
        ("systolic", "8480-6", "mm[Hg]", Decimal(130)),
        ("diastolic", "8462-4", "mm[Hg]", Decimal(85)),
        ("glucose", "2339-0", "mg/dL", Decimal(140)),
        ("temperature", "8310-5", "Cel", Decimal("36.7")),
        ("spo2", "59408-5", "%", Decimal(98)),
        ("pulse", "8867-4", "/min", Decimal(80)),
        ("respiration", "9279-1", "/min", Decimal(20)),
    ]
    assert Vitals(spo2_pct=97).readings()[0].key == "spo2"


def test_loinc_table() -> None:
    assert {k: v.code for k, v in LOINC.items()} == {
        "blood_pressure": "85354-9",
        "systolic": "8480-6",
        "diastolic": "8462-4",
        "glucose": "2339-0",
        "temperature": "8310-5",
        "spo2": "59408-5",
        "spo2_vital_signs": "2708-6",
        "pulse": "8867-4",
        "respiration": "9279-1",
    }


@settings(deadline=None)  # no timing assertions on a busy 2-core machine
@given(
    st.integers(60, 260),
    st.integers(30, 160),
    st.integers(33 * 10, 43 * 10),
    st.integers(50, 100),
    st.integers(30, 220),
    st.sampled_from([", ", "; ", " ", "\n"]),
)
def test_any_valid_line_round_trips(
    sys_: int, dia: int, temp10: int, spo2: int, pulse: int, sep: str
) -> None:
    if sys_ <= dia:
        sys_, dia = dia + 1, sys_
    if sys_ > 260:
        return
    temp = Decimal(temp10) / 10
    line = sep.join(
        [f"TD {sys_}/{dia}", f"suhu {str(temp).replace('.', ',')}", f"SpO2 {spo2}", f"nadi {pulse}"]
    )
    assert parse_vitals(line) == Vitals(sys_, dia, None, temp, spo2, pulse)
