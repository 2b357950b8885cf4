"""A client for SATUSEHAT, Kemenkes' FHIR R4 platform: OAuth2 client credentials, patient
lookup by NIK, and transaction bundles, with retries.

I/O goes through an httpx transport, so tests (and the demo) point it at the local stand-in
(`sandbox/satusehat.py`), never at the real service. Retried: no answer, 429 (its Retry-After)
and 5xx, with doubling waits; a 401 gets one new token. Any other 4xx is SatusehatRejected at
once: the content is wrong and sending it again cannot help. Requests carry health data, so
nothing of their body is logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from homecare.config import SatusehatConfig
from homecare.errors import SatusehatError, SatusehatRejected, SatusehatUnavailable

log = logging.getLogger(__name__)

NIK_SYSTEM = "https://fhir.kemkes.go.id/id/nik"
TOKEN_PATH = "/oauth2/v1/accesstoken"
FHIR_PATH = "/fhir-r4/v1"
# A token is renewed this long before SATUSEHAT says it ends (clocks differ, requests take time).
TOKEN_MARGIN_S = 60.0


# A practitioner's IHS number, as SATUSEHAT's registry (SISDMK) gives it: 11 digits.
IHS_DIGITS = 11
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"


def parse_ihs_number(text: str) -> str | None:
    """The IHS number in `text` (spaces around and inside ignored), or None when it is not
    one. An empty text is "" (the number is removed)."""
    cleaned = "".join(text.split())
    if cleaned == "":
        return ""
    if len(cleaned) == IHS_DIGITS and cleaned.isascii() and cleaned.isdigit():
        return cleaned
    return None


def issues_of(body: Any) -> list[str]:
    """The diagnostics of an OperationOutcome (SATUSEHAT's way of saying what is wrong)."""
    if not isinstance(body, dict) or body.get("resourceType") != "OperationOutcome":
        return []
    out = []
    for issue in body.get("issue") or []:
        text = issue.get("diagnostics") or (issue.get("details") or {}).get("text") or ""
        out.append(f"{issue.get('code', 'error')}: {text}".strip(": "))
    return out


class SatusehatClient:
    def __init__(
        self,
        config: SatusehatConfig,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not config.client_secret:
            raise SatusehatError(
                "no client secret: set HOMECARE_SATUSEHAT_CLIENT_SECRET"
                " (or [satusehat] client_secret)"
            )
        self.config = config
        self._http = httpx.AsyncClient(
            base_url=config.base_url.rstrip("/"), transport=transport, timeout=config.timeout_s
        )
        self._sleep = sleep
        self._token: str | None = None
        self._token_until = 0.0
        self.attempts = 0  # requests sent, retries included (for the report)

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> SatusehatClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- the API ------------------------------------------------------------------------------

    async def patient_id(self, nik: str) -> str | None:
        """The patient's SATUSEHAT (IHS) id, or None when no patient has this NIK."""
        body = await self._fhir("GET", "/Patient", params={"identifier": f"{NIK_SYSTEM}|{nik}"})
        for entry in body.get("entry") or []:
            resource = entry.get("resource") or {}
            if resource.get("resourceType") == "Patient" and resource.get("id"):
                return str(resource["id"])
        return None

    async def submit(self, bundle: dict[str, Any]) -> dict[str, Any]:
        """POST a transaction bundle; returns SATUSEHAT's response bundle."""
        return await self._fhir("POST", "", json=bundle)

    # --- plumbing -----------------------------------------------------------------------------

    async def _token_now(self, renew: bool = False) -> str:
        if self._token and not renew and time.monotonic() < self._token_until:
            return self._token
        answer = await self._send(
            "POST",
            TOKEN_PATH,
            params={"grant_type": "client_credentials"},
            data={"client_id": self.config.client_id, "client_secret": self.config.client_secret},
        )
        if answer.status_code != 200:
            raise SatusehatRejected(
                answer.status_code, issues_of(_json(answer)) or ["sign-in refused"]
            )
        body = _json(answer)
        token = body.get("access_token")
        if not token:
            raise SatusehatError("SATUSEHAT's sign-in answer has no access_token")
        lifetime = float(body.get("expires_in") or 3600)  # SATUSEHAT sends it as a string
        self._token = str(token)
        self._token_until = time.monotonic() + max(0.0, lifetime - TOKEN_MARGIN_S)
        return self._token

    async def _fhir(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        for renewed in (False, True):
            token = await self._token_now(renew=renewed)
            answer = await self._send(
                method, FHIR_PATH + path, headers={"Authorization": f"Bearer {token}"}, **kw
            )
            if answer.status_code == 401 and not renewed:
                continue  # the token ended early: one new one
            if answer.status_code >= 400:
                raise SatusehatRejected(answer.status_code, issues_of(_json(answer)))
            return _json(answer)
        raise AssertionError("unreachable")

    async def _send(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """One request, repeated on no answer, 429 and 5xx; the last failure raised."""
        wait = self.config.backoff_s
        why = ""
        for attempt in range(1, self.config.max_attempts + 1):
            self.attempts += 1
            try:
                answer = await self._http.request(method, path, **kw)
            except httpx.TransportError as exc:
                why = f"no answer ({type(exc).__name__})"
            else:
                if answer.status_code != 429 and answer.status_code < 500:
                    return answer
                why = f"HTTP {answer.status_code}"
                if answer.status_code == 429:
                    wait = max(wait, _retry_after(answer))
            if attempt < self.config.max_attempts:
                log.warning("SATUSEHAT %s %s: %s; again in %.0f s", method, path, why, wait)
                await self._sleep(wait)
                wait *= 2
        raise SatusehatUnavailable(
            f"SATUSEHAT did not take it after {self.config.max_attempts} attempts ({why})"
        )


def _retry_after(answer: httpx.Response) -> float:
    try:
        return float(answer.headers.get("retry-after", "0"))
    except ValueError:
        return 0.0


def _json(answer: httpx.Response) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
