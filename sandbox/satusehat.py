"""A local stand-in for SATUSEHAT (Kemenkes' FHIR R4 platform), built from its published API
guide, as the Telegram sandbox is built from the Bot API's. Tests and demos talk to it over real
HTTP on loopback; nothing here reaches the real service.

- ``POST /oauth2/v1/accesstoken?grant_type=client_credentials`` (form client_id, client_secret)
  → ``{"access_token", "expires_in": "14399", "token_type": "BearerToken"}``;
- ``GET /fhir-r4/v1/Patient?identifier=https://fhir.kemkes.go.id/id/nik|<NIK>`` → a searchset
  Bundle with the patient (id ``P…``) when the NIK is known;
- ``POST /fhir-r4/v1`` a transaction Bundle → checked with fhir.resources (R4B) and SATUSEHAT's
  rules for Encounter and Observation (an Encounter needs its participant, typed with
  v3-ParticipationType and referencing ``Practitioner/<11-digit IHS number>``; an Observation's
  performer the same); 200 with a transaction-response, or 400 with an OperationOutcome naming
  each problem. No bearer token, or an expired one → 401.

Each client is one organisation (SATUSEHAT issues credentials per health facility): its token
submits only Encounters of its own Organization (``add_organization`` adds one more).

Faults for tests: ``fail_next(n, status)`` answers the next n API requests with that status;
``expire_tokens()`` ends every token issued so far.
"""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

NIK = "https://fhir.kemkes.go.id/id/nik"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
# SATUSEHAT names a practitioner by her IHS number (11 digits, from SISDMK).
PRACTITIONER_REF = re.compile(r"^Practitioner/[0-9]{11}$")


def outcome(status: int, problems: list[str], code: str = "invalid") -> web.Response:
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": p} for p in problems],
    }
    return web.json_response(body, status=status)


@dataclass
class SatusehatStandIn:
    client_id: str = "homecare-test"
    client_secret: str = "stand-in-secret"
    organization_id: str = "100000001"
    location_ids: set[str] = field(default_factory=lambda: {"b017aa54-f1df-4ec2-9d84-8823815d7228"})
    patients: dict[str, str] = field(default_factory=dict)  # NIK → IHS id
    host: str = "127.0.0.1"
    accepted: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    _tokens: dict[str, str] = field(default_factory=dict)  # token → its organisation
    _clients: dict[str, tuple[str, str]] = field(default_factory=dict)  # more: id → secret, org
    _faults: list[int] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    url: str = ""

    # --- control ------------------------------------------------------------------------------

    def add_patient(self, nik: str) -> str:
        ihs = self.patients.setdefault(nik, f"P{secrets.randbelow(10**11):011d}")
        return ihs

    def add_organization(
        self, client_id: str, client_secret: str, organization_id: str, location_id: str
    ) -> None:
        self._clients[client_id] = (client_secret, organization_id)
        self.location_ids.add(location_id)

    def fail_next(self, count: int, status: int = 503) -> None:
        self._faults.extend([status] * count)

    def expire_tokens(self) -> None:
        self._tokens.clear()

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/oauth2/v1/accesstoken", self._token)
        app.router.add_get("/fhir-r4/v1/Patient", self._patient)
        app.router.add_post("/fhir-r4/v1", self._bundle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://{self.host}:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- the API ------------------------------------------------------------------------------

    def _fault(self) -> web.Response | None:
        self.requests += 1
        if self._faults:
            status = self._faults.pop(0)
            return outcome(status, [f"stand-in fault {status}"], code="transient")
        return None

    async def _token(self, request: web.Request) -> web.Response:
        if (fault := self._fault()) is not None:
            return fault
        form = await request.post()
        if request.query.get("grant_type") != "client_credentials":
            return outcome(400, ["grant_type must be client_credentials"])
        clients = {self.client_id: (self.client_secret, self.organization_id), **self._clients}
        client_id = str(form.get("client_id", ""))
        known = clients.get(client_id)
        if known is None or form.get("client_secret") != known[0]:
            return outcome(401, ["invalid client credentials"], code="security")
        token = secrets.token_urlsafe(24)
        self._tokens[token] = known[1]
        return web.json_response(
            {
                "access_token": token,
                "expires_in": "14399",
                "token_type": "BearerToken",
                "client_id": client_id,
                "organization_name": "stand-in",
            }
        )

    def _authorised(self, request: web.Request) -> str | None:
        """The organisation whose token this is, or None."""
        given = request.headers.get("Authorization", "")
        return self._tokens.get(given[7:]) if given.startswith("Bearer ") else None

    async def _patient(self, request: web.Request) -> web.Response:
        if (fault := self._fault()) is not None:
            return fault
        if self._authorised(request) is None:
            return outcome(401, ["invalid or expired access token"], code="security")
        system, _, nik = request.query.get("identifier", "").partition("|")
        if system != NIK:
            return outcome(400, [f"identifier must be {NIK}|<NIK>"])
        ihs = self.patients.get(nik)
        entry = [] if ihs is None else [{"resource": {"resourceType": "Patient", "id": ihs}}]
        return web.json_response(
            {"resourceType": "Bundle", "type": "searchset", "total": len(entry), "entry": entry}
        )

    async def _bundle(self, request: web.Request) -> web.Response:
        if (fault := self._fault()) is not None:
            return fault
        organization = self._authorised(request)
        if organization is None:
            return outcome(401, ["invalid or expired access token"], code="security")
        try:
            body = await request.json()
        except ValueError:
            return outcome(400, ["body is not JSON"])
        problems = self.problems(body, organization)
        if problems:
            return outcome(400, problems)
        self.accepted.append(body)
        entries = [
            {
                "response": {
                    "status": "201 Created",
                    "resourceType": e["resource"]["resourceType"],
                    "resourceID": str(uuid.uuid4()),
                }
            }
            for e in body["entry"]
        ]
        return web.json_response(
            {"resourceType": "Bundle", "type": "transaction-response", "entry": entries}
        )

    # --- SATUSEHAT's rules --------------------------------------------------------------------

    def problems(self, bundle: Any, organization: str | None = None) -> list[str]:
        """What SATUSEHAT would refuse in `bundle` sent with `organization`'s token."""
        from fhir.resources.R4B.bundle import Bundle
        from pydantic import ValidationError

        try:
            Bundle.model_validate(bundle)
        except ValidationError as exc:
            return [f"not a valid FHIR R4 Bundle: {exc.errors()[0]['msg']}"]
        if bundle.get("type") != "transaction":
            return ["Bundle.type must be transaction"]
        out: list[str] = []
        encounters = {
            e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Encounter"
        }
        known_patients = set(self.patients.values())
        for i, entry in enumerate(bundle["entry"]):
            r = entry["resource"]
            where = f"entry[{i}] {r['resourceType']}"
            subject = (r.get("subject") or {}).get("reference", "")
            clinical = r["resourceType"] in ("Encounter", "Observation")
            if clinical and subject.removeprefix("Patient/") not in known_patients:
                out.append(f"{where}: subject must reference a known Patient/<IHS id>")
            if r["resourceType"] == "Encounter":
                org = organization or self.organization_id
                out += [f"{where}: {p}" for p in self._encounter_problems(r, org)]
            elif r["resourceType"] == "Observation":
                if (r.get("encounter") or {}).get("reference") not in encounters:
                    out.append(f"{where}: encounter must reference an Encounter of this bundle")
                if not any(c.get("system") == LOINC for c in r["code"].get("coding", [])):
                    out.append(f"{where}: code needs a LOINC coding")
                for who in r.get("performer") or []:
                    if not PRACTITIONER_REF.match(who.get("reference", "")):
                        out.append(f"{where}: performer must be Practitioner/<IHS number>")
                quantity = r.get("valueQuantity")
                if quantity is not None and quantity.get("system") != UCUM:
                    out.append(f"{where}: valueQuantity must use UCUM")
            else:
                out.append(f"{where}: this stand-in takes Encounter and Observation only")
        return out

    def _encounter_problems(self, r: dict[str, Any], organization: str) -> list[str]:
        out = []
        system = f"http://sys-ids.kemkes.go.id/encounter/{organization}"
        if not any(i.get("system") == system for i in r.get("identifier", [])):
            out.append(f"identifier system must be {system}")
        klass = r.get("class") or {}
        if klass.get("system") != ACT_CODE or klass.get("code") != "HH":
            out.append("class must be v3-ActCode HH for a home visit")
        if not r.get("statusHistory"):
            out.append("statusHistory is required")
        start = (r.get("period") or {}).get("start", "")
        if not start.endswith("+08:00"):
            out.append("period.start must carry the clinic's offset (+08:00)")
        out += self._participant_problems(r.get("participant") or [])
        provider = (r.get("serviceProvider") or {}).get("reference")
        if provider != f"Organization/{organization}":
            out.append("serviceProvider must be the puskesmas' Organization")
        locations = [(x.get("location") or {}).get("reference", "") for x in r.get("location", [])]
        if not any(loc.removeprefix("Location/") in self.location_ids for loc in locations):
            out.append("location must reference a known Location")
        return out

    @staticmethod
    def _participant_problems(participants: list[dict[str, Any]]) -> list[str]:
        """SATUSEHAT's Encounter needs its attending practitioner (participant 1..*)."""
        if not participants:
            return ["participant is required (the attending Practitioner)"]
        out = []
        for p in participants:
            codings = [c for t in p.get("type") or [] for c in t.get("coding") or []]
            if not any(c.get("system") == PARTICIPATION and c.get("code") for c in codings):
                out.append("participant.type must use v3-ParticipationType (e.g. ATND)")
            ref = (p.get("individual") or {}).get("reference", "")
            if not PRACTITIONER_REF.match(ref):
                out.append("participant.individual must be Practitioner/<IHS number>")
        return out
