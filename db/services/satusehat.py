"""Finished home visits to SATUSEHAT: the export's FHIR bundle in SATUSEHAT's profile, sent.

`for_satusehat` is pure: it takes the bundle `exports.build_fhir` made (NIK identifiers, local
ids) and the ids SATUSEHAT knows, and returns what SATUSEHAT's FHIR R4 guide asks for:
- Patient by its SATUSEHAT (IHS) id, looked up from the NIK (`Patient/P…`); a visit whose
  patient SATUSEHAT does not know is left out and counted;
- Encounter: identifier in `http://sys-ids.kemkes.go.id/encounter/<organization id>`, class HH
  (home health), statusHistory, period with +08:00, serviceProvider `Organization/<id>`,
  location `Location/<id>` of the puskesmas;
- Observation: subject and encounter references, LOINC codes and UCUM units (as exported);
- nurses: SATUSEHAT names practitioners by IHS number, which the clinic's records do not hold
  yet, so the bundle carries no Practitioner and no participant (noted in the issue).

`submit_period` loads the period's finished visits, looks up patients, converts, validates
with fhir.resources and posts one bundle; the result (or why not) is written to the audit
chain and returned for the head or operator who asked.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from db.services import audit, exports
from db.services.accounts import ensure_clinic
from db.session import Database
from homecare.config import Config

SYS_IDS = "http://sys-ids.kemkes.go.id"


class Client(Protocol):
    async def patient_id(self, nik: str) -> str | None: ...

    async def submit(self, bundle: dict[str, Any]) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Converted:
    bundle: dict[str, Any]
    encounters: int
    observations: int
    unknown_patients: int  # visits left out: SATUSEHAT has no patient with that NIK


def niks_in(bundle: Mapping[str, Any]) -> set[str]:
    found = set()
    for entry in bundle.get("entry", []):
        ident = (entry["resource"].get("subject") or {}).get("identifier") or {}
        if ident.get("system") == exports.NIK_SYSTEM:
            found.add(str(ident["value"]))
    return found


def for_satusehat(
    bundle: Mapping[str, Any],
    patient_ids: Mapping[str, str | None],
    organization_id: str,
    location_id: str,
    location_name: str = "",
) -> Converted:
    entries: list[dict[str, Any]] = []
    left_out: set[str] = set()  # fullUrls of encounters whose patient SATUSEHAT does not know
    encounters = observations = unknown = 0
    for entry in copy.deepcopy(list(bundle.get("entry", []))):
        resource = entry["resource"]
        kind = resource["resourceType"]
        if kind == "Practitioner":
            continue
        subject = resource.get("subject") or {}
        nik = (subject.get("identifier") or {}).get("value")
        ihs = patient_ids.get(str(nik)) if nik is not None else None
        if kind == "Encounter":
            if ihs is None:
                left_out.add(entry["fullUrl"])
                unknown += 1
                continue
            resource["subject"] = {"reference": f"Patient/{ihs}"}
            resource["identifier"] = [
                {
                    "system": f"{SYS_IDS}/encounter/{organization_id}",
                    "value": resource["identifier"][0]["value"],
                }
            ]
            resource.pop("participant", None)
            resource["serviceProvider"] = {"reference": f"Organization/{organization_id}"}
            location: dict[str, Any] = {"reference": f"Location/{location_id}"}
            if location_name:
                location["display"] = location_name
            resource["location"] = [{"location": location}]
            encounters += 1
        elif kind == "Observation":
            if resource["encounter"]["reference"] in left_out or ihs is None:
                continue
            resource["subject"] = {"reference": f"Patient/{ihs}"}
            resource.pop("performer", None)
            observations += 1
        entries.append(entry)
    out = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    exports.validate_bundle(out)
    return Converted(out, encounters, observations, unknown)


@dataclass(frozen=True)
class Submitted:
    visits: int
    encounters: int
    observations: int
    unknown_patients: int
    no_nik: int
    accepted: int  # entries SATUSEHAT answered 2xx for


async def submit_period(
    db: Database, config: Config, client: Client, start: date, end: date
) -> Submitted:
    """Send the finished visits of `start`..`end` (clinic days). Raises SatusehatError (the
    audit chain records the failure too) or returns what SATUSEHAT took."""
    from homecare.errors import SatusehatError

    c, sat = config.clinic, config.satusehat
    async with db.transaction() as session:
        clinic_id = await ensure_clinic(session, c.code, c.name, c.timezone)
        data = await exports.load(session, clinic_id, c.code, start, end, c.tz)
    plain = exports.build_fhir(data)
    subject = f"satusehat:{start.isoformat()}..{end.isoformat()}"
    try:
        ids = {nik: await client.patient_id(nik) for nik in sorted(niks_in(plain.bundle))}
        converted = for_satusehat(
            plain.bundle, ids, sat.organization_id, sat.location_id, sat.location_name
        )
        answer = await client.submit(converted.bundle) if converted.bundle["entry"] else {}
    except SatusehatError as exc:
        await _record(db, clinic_id, f"{subject}:failed:{type(exc).__name__}")
        raise
    accepted = sum(
        1
        for e in answer.get("entry") or []
        if str((e.get("response") or {}).get("status", "")).startswith("2")
    )
    await _record(db, clinic_id, f"{subject}:sent:{converted.encounters}")
    return Submitted(
        visits=len(data.tables["visits"]),
        encounters=converted.encounters,
        observations=converted.observations,
        unknown_patients=converted.unknown_patients,
        no_nik=plain.skipped_no_nik,
        accepted=accepted,
    )


async def _record(db: Database, clinic_id: int, subject: str) -> None:
    async with db.transaction() as session:
        await audit.append(
            session,
            clinic_id=clinic_id,
            actor_account_id=None,
            actor_role="system",
            action=audit.EXPORT,
            subject=subject[:200],
        )
