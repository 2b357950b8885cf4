"""Exports re-read: CSV and XLSX rows match the database, the FHIR R4 bundle validates; /ekspor
sends documents and is audited; `homecare export` writes files; only heads export."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
from sqlalchemy import select

from bot.app import HomecareApp
from bot.i18n import t
from db.models import AuditEntry, Feedback, Visit, VisitStatusChange
from db.services import exports
from scheduler.formats import visit_code
from scheduler.vitals import Vitals
from tests.head import factory
from tests.head.conftest import Person, run_cli

WITA = ZoneInfo("Asia/Makassar")
NIK = "7371015705500001"
DAY = date(2026, 11, 18)
VITALS = Vitals(
    systolic=130,
    diastolic=85,
    glucose_mg_dl=140,
    temperature_c=Decimal("36.7"),
    spo2_pct=98,
    pulse_per_min=80,
).as_dict()


async def seed(app: HomecareApp) -> dict[str, int]:
    """Three visits in range (two completed: one with NIK and vitals, one without NIK), one
    cancelled; one visit outside the range."""
    async with app.db.transaction() as s:
        cid = app.clinic_id
        siti = await factory.nurse(s, cid, "Siti Rahmawati")
        ani = await factory.patient(s, cid, "Ani Wulandari", "Karunrung", nik=NIK)
        budi = await factory.patient(s, cid, "Budi Hartono", "Tidung", nik=None, sex="L")
        done = await factory.visit(
            s,
            cid,
            ani,
            DAY,
            "completed",
            who=siti,
            started_at=factory.wita(DAY, 8, 40),
            completed_at=factory.wita(DAY, 9, 20),
            planned_start=factory.wita(DAY, 8, 30),
            vitals=VITALS,
            note="Luka bersih, ganti balut",
        )
        s.add(Feedback(visit_id=done.id, rating=5, comment="Perawatnya ramah"))
        no_nik = await factory.visit(
            s,
            cid,
            budi,
            DAY + timedelta(days=1),
            "completed",
            who=siti,
            service="chronic_check",
            started_at=factory.wita(DAY + timedelta(days=1), 10, 5),
            completed_at=factory.wita(DAY + timedelta(days=1), 10, 40),
        )
        cancelled = await factory.visit(
            s, cid, budi, DAY + timedelta(days=2), "cancelled_by_patient"
        )
        await factory.visit(s, cid, ani, DAY + timedelta(days=30), "requested")
        return {"done": done.id, "no_nik": no_nik.id, "cancelled": cancelled.id}


async def load(app: HomecareApp) -> exports.ExportData:
    async with app.db.read() as s:
        return await exports.load(
            s, app.clinic_id, "kassi-kassi", date(2026, 11, 1), date(2026, 11, 30), WITA
        )


async def test_csv_rows_match_the_database(app: HomecareApp) -> None:
    ids = await seed(app)
    files = exports.csv_files(await load(app))
    assert sorted(files) == [
        "kassi-kassi-2026-11-01_2026-11-30-feedback.csv",
        "kassi-kassi-2026-11-01_2026-11-30-status_history.csv",
        "kassi-kassi-2026-11-01_2026-11-30-visits.csv",
    ]
    visits = list(csv.DictReader(io.StringIO(files[sorted(files)[2]].decode("utf-8-sig"))))
    history = list(csv.DictReader(io.StringIO(files[sorted(files)[1]].decode("utf-8-sig"))))
    feedback = list(csv.DictReader(io.StringIO(files[sorted(files)[0]].decode("utf-8-sig"))))
    async with app.db.read() as s:
        db_visits = {
            v.id: v
            for v in await s.scalars(
                select(Visit).where(Visit.day >= date(2026, 11, 1), Visit.day <= date(2026, 11, 30))
            )
        }
        db_history = list(
            await s.scalars(
                select(VisitStatusChange).where(VisitStatusChange.visit_id.in_(list(db_visits)))
            )
        )
    assert [int(r["visit_id"]) for r in visits] == [ids["done"], ids["no_nik"], ids["cancelled"]]
    for row in visits:
        v = db_visits[int(row["visit_id"])]
        assert (row["code"], row["day"], row["status"], row["service_type"]) == (
            visit_code(v.code),
            v.day.isoformat(),
            v.status,
            v.service_type,
        )
        assert row["window_start"] == f"{v.window_start:%H:%M}"
        assert row["requested_at"] == v.created_at.astimezone(WITA).isoformat(timespec="seconds")
        assert row["requested_at"].endswith("+08:00")
    done = next(r for r in visits if int(r["visit_id"]) == ids["done"])
    assert done["patient_name"] == "Ani Wulandari" and done["kelurahan"] == "Karunrung"
    assert done["patient_age"] == "76" and done["nurse_name"] == "Siti Rahmawati"
    assert (done["vital_systolic"], done["vital_diastolic"], done["vital_temperature_c"]) == (
        "130",
        "85",
        "36.7",
    )
    assert done["nurse_note"] == "Luka bersih, ganti balut" and done["rating"] == "5"
    assert "nik" not in done and NIK not in files[sorted(files)[2]].decode("utf-8-sig")
    assert len(history) == len(db_history) == 5 + 5 + 3
    assert {(int(h["visit_id"]), h["to_status"]) for h in history} == {
        (h.visit_id, h.to_status) for h in db_history
    }
    assert [(int(f["visit_id"]), f["rating"], f["comment"]) for f in feedback] == [
        (ids["done"], "5", "Perawatnya ramah")
    ]


async def test_xlsx_has_typed_columns_and_one_sheet_per_table(app: HomecareApp) -> None:
    ids = await seed(app)
    data = await load(app)
    wb = openpyxl.load_workbook(io.BytesIO(exports.to_xlsx(data)))
    assert wb.sheetnames == ["visits", "status_history", "feedback"]
    ws = wb["visits"]
    header = [c.value for c in ws[1]]
    assert header[:3] == ["visit_id", "code", "day"] and "requested_at (WITA)" in header
    rows = [dict(zip(header, (c.value for c in r), strict=True)) for r in ws.iter_rows(min_row=2)]
    assert [r["visit_id"] for r in rows] == [ids["done"], ids["no_nik"], ids["cancelled"]]
    done = rows[0]
    assert isinstance(done["visit_id"], int)
    assert done["day"] == datetime(2026, 11, 18)  # a date cell
    assert ws.cell(row=2, column=3).number_format == "yyyy-mm-dd"
    assert done["window_start"] == time(8, 0)
    assert done["started_at (WITA)"] == datetime(2026, 11, 18, 8, 40)
    assert done["vital_temperature_c"] == 36.7 and done["vital_spo2_pct"] == 98
    assert done["rating"] == 5 and done["patient_age"] == 76
    assert rows[2]["status"] == "cancelled_by_patient" and rows[2]["nurse_id"] is None
    assert ws.freeze_panes == "A2"
    assert wb["status_history"].max_row == 1 + 13
    assert [c.value for c in wb["feedback"][2]][:3] == [
        ids["done"],
        data.tables["visits"][0]["code"],
        5,
    ]


async def test_fhir_bundle_validates_and_carries_the_visit(app: HomecareApp) -> None:
    await seed(app)
    fhir = exports.build_fhir(await load(app))
    assert (fhir.encounters, fhir.skipped_no_nik) == (1, 1)
    exports.validate_bundle(json.loads(fhir.to_json()))  # the written JSON validates too
    bundle = fhir.bundle
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "transaction"
    by_type: dict[str, list[dict[str, Any]]] = {}
    for e in bundle["entry"]:
        by_type.setdefault(e["resource"]["resourceType"], []).append(e["resource"])
        assert e["fullUrl"].startswith("urn:uuid:") and e["request"]["method"] == "POST"
    assert sorted(by_type) == ["Encounter", "Observation", "Practitioner"]
    (enc,) = by_type["Encounter"]
    assert enc["class"] == {
        "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
        "code": "HH",
        "display": "home health",
    }
    assert enc["subject"] == {
        "identifier": {"system": "https://fhir.kemkes.go.id/id/nik", "value": NIK}
    }
    assert enc["period"] == {
        "start": "2026-11-18T08:40:00+08:00",
        "end": "2026-11-18T09:20:00+08:00",
    }
    assert enc["status"] == "finished"
    practitioner_urls = [
        e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Practitioner"
    ]
    assert enc["participant"][0]["individual"]["reference"] in practitioner_urls
    codes = {o["code"]["coding"][0]["code"]: o for o in by_type["Observation"]}
    assert sorted(codes) == ["2339-0", "59408-5", "8310-5", "85354-9", "8867-4"]
    bp = codes["85354-9"]
    assert [
        (c["code"]["coding"][0]["code"], c["valueQuantity"]["value"]) for c in bp["component"]
    ] == [("8480-6", 130), ("8462-4", 85)]
    assert codes["8310-5"]["valueQuantity"] == {
        "value": 36.7,
        "unit": "°C",
        "system": "http://unitsofmeasure.org",
        "code": "Cel",
    }
    assert [c["code"] for c in codes["59408-5"]["code"]["coding"]] == ["59408-5", "2708-6"]
    assert all(o["effectiveDateTime"].endswith("+08:00") for o in by_type["Observation"])
    assert all(o["subject"] == enc["subject"] for o in by_type["Observation"])
    # Stable ids: the same export twice gives the same resource ids.
    again = exports.build_fhir(await load(app)).bundle
    assert [e["fullUrl"] for e in again["entry"]] == [e["fullUrl"] for e in bundle["entry"]]


def test_an_invalid_bundle_is_refused() -> None:
    """fhir.resources checks structure and types (not value sets): a time without its format and
    an Encounter without its required status are refused."""
    for resource in (
        {
            "resourceType": "Encounter",
            "status": "finished",
            "class": {"code": "HH"},
            "period": {"start": "18/11/2026 08:40"},
        },
        {"resourceType": "Encounter", "class": {"code": "HH"}},
    ):
        bad = {"resourceType": "Bundle", "type": "transaction", "entry": [{"resource": resource}]}
        try:
            exports.validate_bundle(bad)
        except exports.ExportError as exc:
            assert "validation" in str(exc)
        else:
            raise AssertionError(f"an invalid Encounter passed validation: {resource}")


async def test_ekspor_sends_documents_and_audits(
    app: HomecareApp, head: Person, make_person: Callable[..., Any]
) -> None:
    ids = await seed(app)
    await head.user.send("/ekspor 2026-11-01 2026-11-30 xlsx")
    started, doc, done = await head.user.wait_messages(3)
    assert started.text == t("id", "head.export_started")
    assert doc.kind == "document" and doc.document is not None
    assert doc.document.file_name == "kassi-kassi-2026-11-01_2026-11-30.xlsx"
    wb = openpyxl.load_workbook(io.BytesIO(await head.user.client.file_bytes(doc.document)))
    assert [r[0].value for r in wb["visits"].iter_rows(min_row=2)] == [
        ids["done"],
        ids["no_nik"],
        ids["cancelled"],
    ]
    assert done.text == t(
        "id",
        "head.export_done",
        count="3",
        encounters="0",
        skipped="0",
        start="01/11/2026",
        end="30/11/2026",
    )

    # Through the buttons: a range, then a format.
    await head.user.send("/ekspor 2026-11-01 2026-11-30")
    formats = await head.user.wait_message()
    await head.user.press("FHIR")
    _, fdoc, fdone = await head.user.wait_messages(3)
    assert fdoc.document is not None and fdoc.document.file_name.endswith("-fhir.json")
    exports.validate_bundle(json.loads(await head.user.client.file_bytes(fdoc.document)))
    assert "1 Encounter" in fdone.text and "1 kunjungan selesai dilewati" in fdone.text
    assert formats.button_texts == ["CSV", "XLSX", "FHIR"]

    await head.user.send("/ekspor")
    ranges = await head.user.wait_message()
    assert ranges.button_texts == [t("id", f"head.preset.{k}") for k in ("w", "lw", "m", "p", "30")]

    async with app.db.read() as s:
        entries = list(await s.scalars(select(AuditEntry).where(AuditEntry.action == "export")))
    assert [(e.actor_account_id, e.actor_role, e.subject) for e in entries] == [
        (head.account.id, "head", "export:2026-11-01..2026-11-30:xlsx"),
        (head.account.id, "head", "export:2026-11-01..2026-11-30:fhir"),
    ]

    for name, role in (("ani", "patient"), ("rina", "nurse"), ("cg", "caregiver")):
        other: Person = await make_person(name, role)
        await other.user.send("/ekspor 2026-11-01 2026-11-30 csv")
        assert (await other.user.wait_message()).text == t("id", "common.not_allowed")
        await other.user.expect_no_message(0.3)
        forged = await other.user.press_forged("hxr:20261101:20261130:csv")
        answer = await other.user.callback_answer(forged)
        assert answer is not None and answer.text == t("id", "common.not_allowed")
    await head.user.send("/ekspor 2026-13-01 csv")
    assert (await head.user.wait_message()).text == t("id", "head.export_usage")


async def test_cli_export_writes_files(
    app: HomecareApp, write_config: Callable[..., Path], tmp_path: Path
) -> None:
    await seed(app)
    config = write_config()
    out = tmp_path / "out"
    for fmt, target in (("csv", out), ("xlsx", out / "log.xlsx"), ("fhir", out / "b.json")):
        done = await asyncio.to_thread(
            run_cli,
            config,
            "export",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-30",
            "--format",
            fmt,
            "--output",
            str(target),
        )
        assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.glob("*.csv")) == [
        "kassi-kassi-2026-11-01_2026-11-30-feedback.csv",
        "kassi-kassi-2026-11-01_2026-11-30-status_history.csv",
        "kassi-kassi-2026-11-01_2026-11-30-visits.csv",
    ]
    assert openpyxl.load_workbook(out / "log.xlsx").sheetnames == [
        "visits",
        "status_history",
        "feedback",
    ]
    exports.validate_bundle(json.loads((out / "b.json").read_text(encoding="utf-8")))
    bad = await asyncio.to_thread(
        run_cli, config, "export", "--from", "2026-11-30", "--to", "2026-11-01", "--format", "csv"
    )
    assert bad.returncode == 2 and "before" in bad.stderr
    async with app.db.read() as s:
        subjects = list(
            await s.scalars(select(AuditEntry.subject).where(AuditEntry.action == "export"))
        )
    assert subjects == [
        "export:2026-11-01..2026-11-30:csv:cli",
        "export:2026-11-01..2026-11-30:xlsx:cli",
        "export:2026-11-01..2026-11-30:fhir:cli",
    ]


async def test_a_failing_export_is_reported_not_silent(
    app: HomecareApp, head: Person, monkeypatch: Any
) -> None:
    await seed(app)

    def broken(data: exports.ExportData, fmt: str) -> exports.ExportResult:
        raise exports.ExportError("FHIR bundle failed validation: (test)")

    monkeypatch.setattr(exports, "render_files", broken)
    await head.user.send("/ekspor 2026-11-01 2026-11-30 fhir")
    started, failed = await head.user.wait_messages(2)
    assert started.text == t("id", "head.export_started")
    assert failed.text == t("id", "head.export_failed")
    # The request itself stays in the audit log.
    async with app.db.read() as s:
        subjects = list(await s.scalars(select(AuditEntry.subject)))
    assert subjects == ["export:2026-11-01..2026-11-30:fhir"]
