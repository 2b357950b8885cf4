"""`[[clinics]]` and `[clinic]`: both forms load, their errors name the clinic and key, and the
per-clinic view carries the clinic's own settings (issue 12 item 4)."""

from __future__ import annotations

import dataclasses
from datetime import time
from pathlib import Path
from typing import Any

import pytest

from homecare.config import Config, config_from_mapping, load_config
from homecare.config_clinics import (
    SATUSEHAT_KEYS,
    all_service_areas,
    clinic_of_kelurahan,
    kelurahan_key,
)
from homecare.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def two(**b: Any) -> dict[str, Any]:
    a = {
        "code": "kassi",
        "name": "Puskesmas Kassi-Kassi",
        "service_area": ["Kassi-Kassi", "Mappala"],
    }
    other = {
        "code": "bara",
        "name": "Puskesmas Bara-Baraya",
        "timezone": "Asia/Makassar",
        "location": {"lat": -5.14, "lon": 119.43},
        "service_area": ["Bara-Baraya", "Maricaya"],
        "working_days": ["mon", "tue", "wed"],
        "working_hours": ["07:30", "12:00"],
        "closures": ["2026-12-02"],
        "phone": "+62411999999",
    }
    other.update(b)
    return {"clinics": [a, other]}


def test_a_clinic_section_gives_a_one_clinic_tuple() -> None:
    cfg = config_from_mapping({"clinic": {"name": "Puskesmas Satu"}})
    assert len(cfg.clinics) == 1 and cfg.clinics[0] is cfg.clinic
    assert cfg.clinic.name == "Puskesmas Satu"
    assert Config().clinics == (Config().clinic,)
    assert cfg.for_clinic(cfg.clinic.code) is cfg  # nothing to add: the same object


def test_clinics_tables_load_in_order_with_their_own_settings() -> None:
    cfg = config_from_mapping(two(), source="x.toml")
    assert [c.code for c in cfg.clinics] == ["kassi", "bara"]
    assert cfg.clinic.code == "kassi"  # the first: only where no clinic is known yet
    b = cfg.clinic_by_code("bara")
    assert b is not None and b.working_hours == (time(7, 30), time(12)) and b.phone.endswith("999")
    view = cfg.for_clinic("bara")
    assert view.clinic == b and view.clinics == cfg.clinics
    assert "2026-12-02" in view.schedule.closures
    assert "2026-12-02" not in cfg.for_clinic("kassi").schedule.closures
    assert cfg.clinic_by_code("nope") is None
    with pytest.raises(KeyError):
        cfg.for_clinic("nope")


def test_kelurahan_routing_ignores_case_and_spacing() -> None:
    cfg = config_from_mapping(two())
    assert all_service_areas(cfg) == ("Kassi-Kassi", "Mappala", "Bara-Baraya", "Maricaya")
    found = clinic_of_kelurahan(cfg, "  bara baraya ")
    assert found is not None and found.code == "bara"
    kassi = clinic_of_kelurahan(cfg, "KASSI-KASSI")
    assert kassi is not None and kassi.code == "kassi"
    assert clinic_of_kelurahan(cfg, "Panakkukang") is None
    assert kelurahan_key("Banta-Bantaeng") == kelurahan_key("banta bantaeng")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"clinic": {}, "clinics": [{"code": "a"}]},
            "x.toml: [clinic] and [[clinics]] cannot both be given: "
            "list every puskesmas under [[clinics]]",
        ),
        ({"clinics": []}, "x.toml: [[clinics]] must list at least one clinic"),
        ({"clinics": {"code": "a"}}, "x.toml: [[clinics]] must be an array of tables"),
        ({"clinics": [{"name": "X"}]}, "x.toml: [[clinics]] #1 code is required"),
        (
            {
                "clinics": [
                    {"code": "a", "service_area": ["X"]},
                    {"code": "a", "service_area": ["Y"]},
                ]
            },
            'x.toml: [[clinics]] code "a" is used twice',
        ),
        (
            two(service_area=["Bara-Baraya", " mappala "]),
            'x.toml: [[clinics]] "bara" service_area kelurahan " mappala " is also in '
            '[[clinics]] "kassi" ("Mappala"); a kelurahan belongs to one puskesmas',
        ),
        (
            two(timezone="Asia/Makasar"),
            'x.toml: [[clinics]] "bara" timezone "Asia/Makasar" is not a known time zone',
        ),
        (
            two(working_hours=["12:00", "08:00"]),
            'x.toml: [[clinics]] "bara" working_hours end must be after start',
        ),
        (
            two(closures=["2 Desember"]),
            'x.toml: [[clinics]] "bara" closures "2 Desember" is not a date "YYYY-MM-DD"',
        ),
        (two(colour="red"), 'x.toml: [[clinics]] "bara" colour is not a known setting'),
        (
            two(service_area=[]),
            'x.toml: [[clinics]] "bara" service_area must list at least one kelurahan',
        ),
        (
            {"clinic": {"closures": ["soon"]}},
            'x.toml: [clinic] closures "soon" is not a date "YYYY-MM-DD"',
        ),
    ],
)
def test_bad_clinics_name_the_clinic_and_key(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        config_from_mapping(data, source="x.toml")
    assert str(err.value) == message


def test_the_example_files_clinics_form_is_valid(tmp_path: Path) -> None:
    """The commented `[[clinics]]` example in config.example.toml, uncommented, loads."""
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    block = text.split("# >>> [[clinics]] example\n", 1)[1].split("# <<< [[clinics]] example")[0]
    path = tmp_path / "clinics.toml"
    path.write_text(
        "\n".join(line.removeprefix("#").removeprefix(" ") for line in block.splitlines()),
        encoding="utf-8",
    )
    cfg = load_config(path, environ={})
    assert [c.code for c in cfg.clinics] == ["kassi-kassi", "bara-baraya"]
    first = cfg.clinics[0]
    assert first.satusehat_organization_id == "100000001"  # its SATUSEHAT registration shown
    no_ids = {f"satusehat_{key}": "" for key in SATUSEHAT_KEYS}
    assert dataclasses.replace(first, **no_ids) == Config().clinic  # else the [clinic] default
