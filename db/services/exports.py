"""Exports of the visit log for the clinic office: CSV, XLSX, and FHIR R4 for SATUSEHAT.

Only heads export (the guard), and every export is audited by the caller (`audit.EXPORT`).
Minimisation: the tables carry what the visit register needs — who was visited (name, age,
kelurahan), by whom, when, what happened, notes and vitals — and leave out NIK, phone, address and
birth date. The FHIR bundle identifies patients by NIK only, as SATUSEHAT requires, and skips
visits whose patient has no NIK on record (counted in `FhirExport.skipped_no_nik`).

Times: CSV carries ISO 8601 with the clinic's offset (+08:00); XLSX cells hold clinic-local times
(Excel has no time zones; the header says so); FHIR uses the offset as SATUSEHAT asks.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Feedback, Nurse, Patient, Visit, VisitStatusChange
from scheduler.formats import iso_local, visit_code
from scheduler.vitals import (
    LOINC,
    LOINC_SYSTEM,
    UCUM_SYSTEM,
    VITAL_SIGNS_CATEGORY,
    InvalidVital,
    LoincCode,
    Vitals,
)

log = logging.getLogger(__name__)

FORMATS = ("csv", "xlsx", "fhir")
NIK_SYSTEM = "https://fhir.kemkes.go.id/id/nik"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
# Stable ids: exporting the same visit twice gives the same resource ids.
_NS = uuid.UUID("6f1c2d0e-8a4b-5c3d-9e7f-0a1b2c3d4e5f")

# Vitals columns: the keys of `scheduler.vitals.Vitals.as_dict()` (units in the names).
VITAL_COLUMNS: tuple[str, ...] = (
    "systolic",
    "diastolic",
    "glucose_mg_dl",
    "temperature_c",
    "spo2_pct",
    "pulse_per_min",
    "respiration_per_min",
)


class ExportError(ValueError):
    """A bad request (dates, format) or a bundle that failed validation."""


# --- rows ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    kind: type  # int, float, str, date, time, datetime


VISIT_COLUMNS: tuple[Column, ...] = (
    Column("visit_id", int),
    Column("code", str),
    Column("day", date),
    Column("window_start", time),
    Column("window_end", time),
    Column("service_type", str),
    Column("priority", str),
    Column("status", str),
    Column("kelurahan", str),
    Column("patient_id", int),
    Column("patient_name", str),
    Column("patient_age", int),
    Column("patient_sex", str),
    Column("nurse_id", int),
    Column("nurse_name", str),
    Column("requested_at", datetime),
    Column("planned_start", datetime),
    Column("started_at", datetime),
    Column("completed_at", datetime),
    Column("confirmation", str),
    Column("cancel_reason", str),
    Column("unplaced_reason", str),
    Column("nurse_note", str),
    Column("series_id", int),
    Column("follow_up_of_visit_id", int),
    *(Column(f"vital_{col}", float) for col in VITAL_COLUMNS),
    Column("rating", int),
)
HISTORY_COLUMNS: tuple[Column, ...] = (
    Column("visit_id", int),
    Column("code", str),
    Column("at", datetime),
    Column("from_status", str),
    Column("to_status", str),
    Column("actor_role", str),
    Column("actor_account_id", int),
    Column("note", str),
)
FEEDBACK_COLUMNS: tuple[Column, ...] = (
    Column("visit_id", int),
    Column("code", str),
    Column("rating", int),
    Column("comment", str),
    Column("at", datetime),
)
TABLES: tuple[tuple[str, tuple[Column, ...]], ...] = (
    ("visits", VISIT_COLUMNS),
    ("status_history", HISTORY_COLUMNS),
    ("feedback", FEEDBACK_COLUMNS),
)


@dataclass(frozen=True)
class ExportData:
    clinic_code: str
    start: date
    end: date
    tz: ZoneInfo
    tables: dict[str, list[dict[str, Any]]]
    # For FHIR only (never in the tables): visit id → patient NIK.
    niks: dict[int, str]


def _age(birth: date | None, on: date) -> int | None:
    if birth is None:
        return None
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _local(at: datetime | None, tz: ZoneInfo) -> datetime | None:
    return at.astimezone(tz) if at is not None else None


def _vitals(stored: dict[str, Any] | None) -> dict[str, Any]:
    """The stored vitals, checked again (a record outside the ranges is not exported as data)."""
    if not stored:
        return {}
    try:
        return Vitals.from_dict(stored).as_dict()
    except (InvalidVital, TypeError, ValueError):
        log.warning("visit vitals fail their checks; left out of the export")
        return {}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


async def load(
    session: AsyncSession, clinic_id: int, clinic_code: str, start: date, end: date, tz: ZoneInfo
) -> ExportData:
    """Visits whose day is in [start, end], with their history and feedback."""
    if end < start:
        raise ExportError("the end date is before the start date")
    result = await session.execute(
        select(Visit, Patient, Nurse)
        .join(Patient, Patient.id == Visit.patient_id)
        .outerjoin(Nurse, Nurse.id == Visit.nurse_id)
        .where(Visit.clinic_id == clinic_id, Visit.day >= start, Visit.day <= end)
        .order_by(Visit.day, Visit.window_start, Visit.id)
    )
    triples = list(result)
    codes = {v.id: visit_code(v.code) for v, _, _ in triples}
    # The same visits again as a subquery (a long id list would hit SQLite's parameter limit).
    in_range = (
        select(Visit.id)
        .where(Visit.clinic_id == clinic_id, Visit.day >= start, Visit.day <= end)
        .scalar_subquery()
    )
    feedback = list(
        await session.scalars(
            select(Feedback).where(Feedback.visit_id.in_(in_range)).order_by(Feedback.visit_id)
        )
    )
    rating = {f.visit_id: f.rating for f in feedback}
    history = list(
        await session.scalars(
            select(VisitStatusChange)
            .where(VisitStatusChange.visit_id.in_(in_range))
            .order_by(VisitStatusChange.visit_id, VisitStatusChange.at, VisitStatusChange.id)
        )
    )
    visits = []
    niks: dict[int, str] = {}
    for v, p, n in triples:
        vitals = _vitals(v.vitals)
        row: dict[str, Any] = {
            "visit_id": v.id,
            "code": visit_code(v.code),
            "day": v.day,
            "window_start": v.window_start,
            "window_end": v.window_end,
            "service_type": v.service_type,
            "priority": v.priority,
            "status": v.status,
            "kelurahan": p.kelurahan,
            "patient_id": p.id,
            "patient_name": p.full_name,
            "patient_age": _age(p.birth_date, v.day),
            "patient_sex": p.sex,
            "nurse_id": n.id if n else None,
            "nurse_name": n.name if n else None,
            "requested_at": _local(v.created_at, tz),
            "planned_start": _local(v.planned_start, tz),
            "started_at": _local(v.started_at, tz),
            "completed_at": _local(v.completed_at, tz),
            "confirmation": v.confirmation,
            "cancel_reason": v.cancel_reason,
            "unplaced_reason": v.unplaced_reason,
            "nurse_note": v.nurse_note,
            "series_id": v.series_id,
            "follow_up_of_visit_id": v.follow_up_of,
            "rating": rating.get(v.id),
        }
        for col in VITAL_COLUMNS:
            row[f"vital_{col}"] = _number(vitals.get(col))
        visits.append(row)
        if p.nik and p.deleted_at is None:
            niks[v.id] = p.nik
    return ExportData(
        clinic_code=clinic_code,
        start=start,
        end=end,
        tz=tz,
        tables={
            "visits": visits,
            "status_history": [
                {
                    "visit_id": h.visit_id,
                    "code": codes[h.visit_id],
                    "at": _local(h.at, tz),
                    "from_status": h.from_status,
                    "to_status": h.to_status,
                    "actor_role": h.actor_role,
                    "actor_account_id": h.actor_account_id,
                    "note": h.note,
                }
                for h in history
                if h.visit_id in codes  # a visit booked while we read is not in this export
            ],
            "feedback": [
                {
                    "visit_id": f.visit_id,
                    "code": codes[f.visit_id],
                    "rating": f.rating,
                    "comment": f.comment,
                    "at": _local(f.at, tz),
                }
                for f in feedback
                if f.visit_id in codes
            ],
        },
        niks=niks,
    )


# --- CSV and XLSX --------------------------------------------------------------------------------


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat()  # clinic-local with +08:00
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def to_csv(rows: Sequence[dict[str, Any]], columns: Sequence[Column]) -> bytes:
    """One table as UTF-8 CSV with a BOM (Excel in Indonesia opens it with the right letters)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.name for c in columns])
    for row in rows:
        writer.writerow([_csv_cell(row[c.name]) for c in columns])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def csv_files(data: ExportData) -> dict[str, bytes]:
    """File name → CSV bytes, one per table."""
    stem = f"{data.clinic_code}-{data.start.isoformat()}_{data.end.isoformat()}"
    return {f"{stem}-{name}.csv": to_csv(data.tables[name], cols) for name, cols in TABLES}


_XLSX_FORMATS = {
    date: "yyyy-mm-dd",
    time: "hh:mm",
    datetime: "yyyy-mm-dd hh:mm:ss",
    float: "0.0",
    int: "0",
}


def to_xlsx(data: ExportData) -> bytes:
    """One sheet per table; typed cells with formats, a bold frozen header row. Written in
    openpyxl's streaming mode (a month of a busy clinic in about a second)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    for name, cols in TABLES:
        ws = wb.create_sheet(name)
        ws.freeze_panes = "A2"
        for i, c in enumerate(cols, start=1):
            ws.column_dimensions[get_column_letter(i)].width = max(10, min(40, len(c.name) + 4))
        header = []
        for c in cols:
            cell = WriteOnlyCell(ws, value=f"{c.name} (WITA)" if c.kind is datetime else c.name)
            cell.font = bold
            header.append(cell)
        ws.append(header)
        formats = [_XLSX_FORMATS.get(c.kind) if c.kind is not int else None for c in cols]
        for row in data.tables[name]:
            values: list[Any] = []
            for c, fmt in zip(cols, formats, strict=True):
                v = row[c.name]
                if isinstance(v, datetime):
                    v = v.astimezone(data.tz).replace(tzinfo=None)
                if fmt is not None and v is not None:
                    cell = WriteOnlyCell(ws, value=v)
                    cell.number_format = fmt
                    v = cell
                values.append(v)
            ws.append(values)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --- FHIR R4 (SATUSEHAT) -------------------------------------------------------------------------


@dataclass(frozen=True)
class FhirExport:
    bundle: dict[str, Any]
    encounters: int
    observations: int
    skipped_no_nik: int

    def to_json(self) -> bytes:
        # Compact: a month's bundle is tens of megabytes with indentation.
        return json.dumps(self.bundle, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _iso(at: datetime, tz: ZoneInfo) -> str:
    return str(iso_local(at, tz))


def _urn(kind: str, key: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NS, f'{kind}:{key}')}"


def _patient_ref(nik: str) -> dict[str, Any]:
    return {"identifier": {"system": NIK_SYSTEM, "value": nik}}


def _code(*codes: LoincCode) -> dict[str, Any]:
    return {
        "coding": [{"system": LOINC_SYSTEM, "code": c.code, "display": c.display} for c in codes]
    }


def _quantity(value: float, code: LoincCode) -> dict[str, Any]:
    return {"value": value, "unit": code.unit_display, "system": UCUM_SYSTEM, "code": code.unit}


# Single-value vitals: column → LOINC codes (SpO2 carries the vital-signs profile's code too).
_SINGLE: tuple[tuple[str, tuple[LoincCode, ...]], ...] = (
    ("vital_glucose_mg_dl", (LOINC["glucose"],)),
    ("vital_temperature_c", (LOINC["temperature"],)),
    ("vital_spo2_pct", (LOINC["spo2"], LOINC["spo2_vital_signs"])),
    ("vital_pulse_per_min", (LOINC["pulse"],)),
    ("vital_respiration_per_min", (LOINC["respiration"],)),
)


def _observations(
    row: dict[str, Any], nik: str, encounter_urn: str, at: str, performer: str | None
) -> list[tuple[str, dict[str, Any]]]:
    """(key, Observation) for each vital recorded at the visit."""
    base: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "category": [
            {
                "coding": [
                    {"system": OBS_CATEGORY, "code": VITAL_SIGNS_CATEGORY, "display": "Vital Signs"}
                ]
            }
        ],
        "subject": _patient_ref(nik),
        "encounter": {"reference": encounter_urn},
        "effectiveDateTime": at,
    }
    if performer:
        base["performer"] = [{"reference": performer}]
    out: list[tuple[str, dict[str, Any]]] = []
    systolic, diastolic = row["vital_systolic"], row["vital_diastolic"]
    if systolic is not None and diastolic is not None:
        out.append(
            (
                "bp",
                {
                    **base,
                    "code": _code(LOINC["blood_pressure"]),
                    "component": [
                        {"code": _code(LOINC[k]), "valueQuantity": _quantity(v, LOINC[k])}
                        for k, v in (("systolic", systolic), ("diastolic", diastolic))
                    ],
                },
            )
        )
    for col, codes in _SINGLE:
        if row[col] is not None:
            out.append(
                (
                    col,
                    {**base, "code": _code(*codes), "valueQuantity": _quantity(row[col], codes[0])},
                )
            )
    return out


def build_fhir(data: ExportData, organization_id: str | None = None) -> FhirExport:
    """A transaction Bundle: Practitioners, then per completed visit an Encounter and its vital-sign
    Observations. Validated against the R4 model before it is returned (ExportError if not)."""
    tz = data.tz
    entries: list[dict[str, Any]] = []
    practitioners: dict[int, str] = {}
    skipped = 0
    encounters = observations = 0

    def add(resource: dict[str, Any], urn: str) -> None:
        entries.append(
            {
                "fullUrl": urn,
                "resource": resource,
                "request": {"method": "POST", "url": resource["resourceType"]},
            }
        )

    for row in data.tables["visits"]:
        if row["status"] != "completed":
            continue
        nik = data.niks.get(row["visit_id"])
        if nik is None:
            skipped += 1
            continue
        performer = None
        if row["nurse_id"] is not None:
            nid = row["nurse_id"]
            if nid not in practitioners:
                urn = _urn("practitioner", f"{data.clinic_code}:{nid}")
                practitioners[nid] = urn
                add(
                    {
                        "resourceType": "Practitioner",
                        "identifier": [
                            {
                                "system": f"urn:homecare:{data.clinic_code}:nurse",
                                "value": str(nid),
                            }
                        ],
                        "name": [{"use": "official", "text": row["nurse_name"] or f"#{nid}"}],
                        "active": True,
                    },
                    urn,
                )
            performer = practitioners[nid]
        start = row["started_at"] or row["completed_at"] or row["planned_start"]
        end = row["completed_at"] or start
        if start is None:
            skipped += 1
            continue
        enc_urn = _urn("encounter", f"{data.clinic_code}:{row['code']}")
        encounter: dict[str, Any] = {
            "resourceType": "Encounter",
            "identifier": [
                {"system": f"urn:homecare:{data.clinic_code}:visit", "value": row["code"]}
            ],
            "status": "finished",
            "class": {"system": ACT_CODE, "code": "HH", "display": "home health"},
            "subject": _patient_ref(nik),
            "period": {"start": _iso(start, tz), "end": _iso(end, tz)},
            "statusHistory": [
                {"status": "arrived", "period": {"start": _iso(start, tz)}},
                {"status": "finished", "period": {"start": _iso(end, tz)}},
            ],
        }
        if performer:
            encounter["participant"] = [
                {
                    "type": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/"
                                    "v3-ParticipationType",
                                    "code": "ATND",
                                    "display": "attender",
                                }
                            ]
                        }
                    ],
                    "individual": {"reference": performer},
                }
            ]
        if organization_id:
            encounter["serviceProvider"] = {"reference": f"Organization/{organization_id}"}
        add(encounter, enc_urn)
        encounters += 1
        for key, obs in _observations(row, nik, enc_urn, _iso(end, tz), performer):
            add(obs, _urn("observation", f"{data.clinic_code}:{row['code']}:{key}"))
            observations += 1

    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    validate_bundle(bundle)
    return FhirExport(bundle, encounters, observations, skipped)


def validate_bundle(bundle: dict[str, Any]) -> None:
    """Check the bundle against the FHIR R4 models (fhir.resources' R4B package; the resources
    used here — Bundle, Encounter, Observation, Practitioner — are the same in R4 and R4B)."""
    from fhir.resources.R4B.bundle import Bundle
    from pydantic import ValidationError

    try:
        Bundle.model_validate(bundle)
    except ValidationError as exc:
        raise ExportError(f"FHIR bundle failed validation: {exc}") from exc


# --- one call for handlers and the CLI ---------------------------------------------------------


@dataclass(frozen=True)
class ExportFile:
    filename: str
    content: bytes
    mime: str


@dataclass(frozen=True)
class ExportResult:
    files: list[ExportFile]
    visits: int
    encounters: int = 0
    skipped_no_nik: int = 0


def render_files(data: ExportData, fmt: str) -> ExportResult:
    """The files of one export in `fmt` (csv: one file per table)."""
    stem = f"{data.clinic_code}-{data.start.isoformat()}_{data.end.isoformat()}"
    visits = len(data.tables["visits"])
    if fmt == "csv":
        files = [ExportFile(n, b, "text/csv") for n, b in csv_files(data).items()]
        return ExportResult(files, visits)
    if fmt == "xlsx":
        mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return ExportResult([ExportFile(f"{stem}.xlsx", to_xlsx(data), mime)], visits)
    if fmt == "fhir":
        fhir = build_fhir(data)
        return ExportResult(
            [ExportFile(f"{stem}-fhir.json", fhir.to_json(), "application/fhir+json")],
            visits,
            fhir.encounters,
            fhir.skipped_no_nik,
        )
    raise ExportError(f"unknown format {fmt!r} (use {', '.join(FORMATS)})")
