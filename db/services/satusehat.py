"""Finished home visits to SATUSEHAT: the export's FHIR bundle in SATUSEHAT's profile, sent.

`for_satusehat` is pure: it takes the bundle `exports.build_fhir` made (NIK identifiers, local
ids) and the ids SATUSEHAT knows, and returns what SATUSEHAT's FHIR R4 guide asks for:
- Patient by its SATUSEHAT (IHS) id, looked up from the NIK (`Patient/P…`); a visit whose
  patient SATUSEHAT does not know is left out and counted;
- Practitioner by the nurse's IHS number (`Practitioner/<11 digits>`, participant type ATND):
  SATUSEHAT's Encounter requires a participant, so a visit whose nurse has no IHS number in
  the clinic's records is left out and counted too (the head enters it on the console);
- Encounter: identifier in `http://sys-ids.kemkes.go.id/encounter/<organization id>`, class HH
  (home health), statusHistory, period with +08:00, serviceProvider `Organization/<id>`,
  location `Location/<id>` of the puskesmas;
- Observation: subject, encounter and performer references, LOINC codes and UCUM units.

`submit_period` loads the period's finished visits not yet accepted, looks up patients,
converts, validates with fhir.resources and posts one bundle; each accepted visit is recorded
with its Encounter id (`satusehat_sent`, so it is never sent again), the attempt in
`satusehat_runs` and the audit chain, and the result (or why not) returned.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import select

from db.models import Nurse
from db.models_satusehat import SatusehatRun, SatusehatSent
from db.services import audit, exports
from db.services.accounts import ensure_clinic
from db.session import Database
from db.types import utcnow
from homecare.config import Config
from homecare.errors import SatusehatError, SatusehatRejected
from homecare.satusehat import PARTICIPATION_TYPE

SYS_IDS = "http://sys-ids.kemkes.go.id"


class Client(Protocol):
    async def patient_id(self, nik: str) -> str | None: ...

    async def submit(self, bundle: dict[str, Any]) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Registration:
    """The puskesmas as SATUSEHAT knows it."""

    organization_id: str
    location_id: str
    location_name: str


def registration_of(config: Config, clinic_id: int) -> Registration:
    """The SATUSEHAT ids of `clinic_id`. One place, so they can become per-clinic settings."""
    sat = config.satusehat
    return Registration(sat.organization_id, sat.location_id, sat.location_name)


@dataclass(frozen=True)
class Converted:
    bundle: dict[str, Any]
    encounters: int
    observations: int
    unknown_patients: int  # visits left out: SATUSEHAT has no patient with that NIK
    no_practitioner: int = 0  # visits left out: their nurse has no IHS number


def niks_in(bundle: Mapping[str, Any]) -> set[str]:
    found = set()
    for entry in bundle.get("entry", []):
        ident = (entry["resource"].get("subject") or {}).get("identifier") or {}
        if ident.get("system") == exports.NIK_SYSTEM:
            found.add(str(ident["value"]))
    return found


def _participant(ihs: str) -> list[dict[str, Any]]:
    coding = {"system": PARTICIPATION_TYPE, "code": "ATND", "display": "attender"}
    return [{"type": [{"coding": [coding]}], "individual": {"reference": f"Practitioner/{ihs}"}}]


def _nurse_urns(entries: list[dict[str, Any]], ihs_of: Mapping[str, str]) -> dict[str, str]:
    """The plain bundle's Practitioner fullUrl → that nurse's IHS number (when she has one)."""
    out = {}
    for entry in entries:
        resource = entry["resource"]
        if resource["resourceType"] == "Practitioner":
            local = str(resource["identifier"][0]["value"])
            if ihs_of.get(local):
                out[entry["fullUrl"]] = ihs_of[local]
    return out


def for_satusehat(
    bundle: Mapping[str, Any],
    patient_ids: Mapping[str, str | None],
    organization_id: str,
    location_id: str,
    location_name: str = "",
    practitioner_ids: Mapping[str, str] | None = None,
) -> Converted:
    """`practitioner_ids`: the local nurse id (as text) → her IHS number."""
    entries: list[dict[str, Any]] = []
    source = copy.deepcopy(list(bundle.get("entry", [])))
    urn_ihs = _nurse_urns(source, practitioner_ids or {})
    left_out: set[str] = set()  # fullUrls of encounters not sent
    performer_of: dict[str, str] = {}  # encounter fullUrl → Practitioner/<ihs>
    encounters = observations = unknown = no_practitioner = 0
    for entry in source:
        resource = entry["resource"]
        kind = resource["resourceType"]
        if kind == "Practitioner":
            continue
        subject = resource.get("subject") or {}
        nik = (subject.get("identifier") or {}).get("value")
        ihs = patient_ids.get(str(nik)) if nik is not None else None
        if kind == "Encounter":
            attender = next(
                (
                    urn_ihs.get(p["individual"]["reference"])
                    for p in resource.get("participant") or []
                    if p["individual"]["reference"] in urn_ihs
                ),
                None,
            )
            if ihs is None or attender is None:
                left_out.add(entry["fullUrl"])
                if ihs is None:
                    unknown += 1
                else:
                    no_practitioner += 1
                continue
            resource["subject"] = {"reference": f"Patient/{ihs}"}
            resource["identifier"] = [
                {
                    "system": f"{SYS_IDS}/encounter/{organization_id}",
                    "value": resource["identifier"][0]["value"],
                }
            ]
            resource["participant"] = _participant(attender)
            performer_of[entry["fullUrl"]] = f"Practitioner/{attender}"
            resource["serviceProvider"] = {"reference": f"Organization/{organization_id}"}
            location: dict[str, Any] = {"reference": f"Location/{location_id}"}
            if location_name:
                location["display"] = location_name
            resource["location"] = [{"location": location}]
            encounters += 1
        elif kind == "Observation":
            encounter = resource["encounter"]["reference"]
            if encounter in left_out or ihs is None or encounter not in performer_of:
                continue
            resource["subject"] = {"reference": f"Patient/{ihs}"}
            resource["performer"] = [{"reference": performer_of[encounter]}]
            observations += 1
        entries.append(entry)
    out = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    exports.validate_bundle(out)
    return Converted(out, encounters, observations, unknown, no_practitioner)


def accepted_encounters(request: Mapping[str, Any], answer: Mapping[str, Any]) -> dict[str, str]:
    """Visit code → the Encounter id SATUSEHAT gave it (a transaction-response answers entry
    by entry, in the request's order)."""
    out = {}
    for sent, got in zip(request.get("entry", []), answer.get("entry") or [], strict=False):
        resource = sent["resource"]
        response = got.get("response") or {}
        if resource["resourceType"] != "Encounter":
            continue
        if not str(response.get("status", "")).startswith("2"):
            continue
        # SATUSEHAT names it in resourceID; plain FHIR in location "Encounter/<id>/_history/1".
        given = response.get("resourceID")
        if not given:
            parts = str(response.get("location", "")).split("/")
            given = parts[1] if len(parts) > 1 else ""
        if given:
            out[resource["identifier"][0]["value"]] = str(given)[:64]
    return out


@dataclass(frozen=True)
class Submitted:
    visits: int
    encounters: int
    observations: int
    unknown_patients: int
    no_nik: int
    accepted: int  # entries SATUSEHAT answered 2xx for
    no_practitioner: int = 0
    already_sent: int = 0  # accepted on an earlier run: not sent again


def reason_of(exc: SatusehatError) -> str:
    """The failure as a code heads are told and the reports page shows."""
    if isinstance(exc, SatusehatRejected):
        return "credentials" if exc.status in (401, 403) else "refused"
    if "client secret" in str(exc):
        return "credentials"
    return "unavailable"


async def _ihs_numbers(session: Any, clinic_id: int) -> dict[str, str]:
    rows = await session.execute(
        select(Nurse.id, Nurse.ihs_number).where(
            Nurse.clinic_id == clinic_id, Nurse.ihs_number.is_not(None)
        )
    )
    return {str(nid): ihs for nid, ihs in rows if ihs}


async def _load_unsent(
    db: Database, config: Config, start: date, end: date
) -> tuple[int, exports.ExportData, dict[str, str], int]:
    c = config.clinic
    async with db.transaction() as session:
        clinic_id = await ensure_clinic(session, c.code, c.name, c.timezone)
        data = await exports.load(session, clinic_id, c.code, start, end, c.tz)
        ihs_of = await _ihs_numbers(session, clinic_id)
        ids = [r["visit_id"] for r in data.tables["visits"]] or [0]
        done = set(
            await session.scalars(
                select(SatusehatSent.visit_id).where(SatusehatSent.visit_id.in_(ids))
            )
        )
    rows = [r for r in data.tables["visits"] if r["visit_id"] not in done]
    already = sum(1 for r in data.tables["visits"] if r["visit_id"] in done)
    data = dataclasses.replace(data, tables={**data.tables, "visits": rows})
    return clinic_id, data, ihs_of, already


async def submit_period(
    db: Database,
    config: Config,
    client: Client,
    start: date,
    end: date,
    *,
    kind: str = "manual",
    now: datetime | None = None,
) -> Submitted:
    """Send the finished visits of `start`..`end` (clinic days) SATUSEHAT has not accepted
    yet. Raises SatusehatError (the run and the audit chain record the failure too) or returns
    what SATUSEHAT took."""
    now = now or utcnow()
    clinic_id, data, ihs_of, already = await _load_unsent(db, config, start, end)
    reg = registration_of(config, clinic_id)
    plain = exports.build_fhir(data)
    subject = f"satusehat:{start.isoformat()}..{end.isoformat()}"
    run = SatusehatRun(clinic_id=clinic_id, at=now, kind=kind, no_nik=plain.skipped_no_nik)
    converted: Converted | None = None
    try:
        ids = {nik: await client.patient_id(nik) for nik in sorted(niks_in(plain.bundle))}
        converted = for_satusehat(
            plain.bundle, ids, reg.organization_id, reg.location_id, reg.location_name, ihs_of
        )
        run.unknown_patient, run.no_practitioner = (
            converted.unknown_patients,
            converted.no_practitioner,
        )
        answer = await client.submit(converted.bundle) if converted.bundle["entry"] else {}
    except SatusehatError as exc:
        # Not converted yet (sign-in or lookup failed): every visit with a NIK was held back.
        run.reason, run.failed = reason_of(exc), (converted or plain).encounters
        issues = getattr(exc, "issues", None) or [str(exc)]
        run.detail = str(issues[0])[:300]
        await _finish(db, clinic_id, run, {}, data, f"{subject}:failed:{type(exc).__name__}")
        raise
    taken = accepted_encounters(converted.bundle, answer)
    run.ok, run.sent = True, len(taken)
    await _finish(db, clinic_id, run, taken, data, f"{subject}:sent:{converted.encounters}")
    accepted = sum(
        1
        for e in answer.get("entry") or []
        if str((e.get("response") or {}).get("status", "")).startswith("2")
    )
    return Submitted(
        visits=len(data.tables["visits"]),
        encounters=converted.encounters,
        observations=converted.observations,
        unknown_patients=converted.unknown_patients,
        no_nik=plain.skipped_no_nik,
        accepted=accepted,
        no_practitioner=converted.no_practitioner,
        already_sent=already,
    )


async def _finish(
    db: Database,
    clinic_id: int,
    run: SatusehatRun,
    taken: Mapping[str, str],
    data: exports.ExportData,
    subject: str,
) -> None:
    by_code = {r["code"]: r["visit_id"] for r in data.tables["visits"]}
    async with db.transaction() as session:
        session.add(run)
        for code, encounter_id in taken.items():
            visit_id = by_code.get(code)
            if visit_id is None or await session.scalar(
                select(SatusehatSent.id).where(SatusehatSent.visit_id == visit_id)
            ):
                continue  # another run recorded it meanwhile
            session.add(
                SatusehatSent(
                    visit_id=visit_id,
                    clinic_id=clinic_id,
                    encounter_id=encounter_id,
                    submitted_at=run.at,
                )
            )
        await audit.append(
            session,
            clinic_id=clinic_id,
            actor_account_id=None,
            actor_role="system",
            action=audit.EXPORT,
            subject=subject[:200],
        )
