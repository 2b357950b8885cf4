"""Finished visits to SATUSEHAT, against the local stand-in over real HTTP: the bundle follows
SATUSEHAT's profile (and validates with fhir.resources), a 5xx is retried, a 401 gets a new
token, a refused bundle is not resent, and each submission is written to the audit chain."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.app import HomecareApp
from db.models import AuditEntry, Nurse
from db.services import exports, satusehat
from homecare.config import Config, SatusehatConfig
from homecare.errors import SatusehatRejected, SatusehatUnavailable
from homecare.satusehat import SatusehatClient
from sandbox.satusehat import SatusehatStandIn
from tests.head.test_exports import DAY, NIK, seed
from tests.satusehat_support import LOCATION, stand_in_settings

SITI_IHS = "10009880728"


async def seed_with_ihs(app: HomecareApp) -> dict[str, int]:
    """test_exports' seed, with the nurse's IHS number recorded (SATUSEHAT needs her)."""
    ids = await seed(app)
    async with app.db.transaction() as s:
        await s.execute(update(Nurse).values(ihs_number=SITI_IHS))
    return ids


@pytest.fixture
async def stand_in() -> AsyncIterator[SatusehatStandIn]:
    server = SatusehatStandIn()
    await server.start()
    yield server
    await server.stop()


def sat_config(app: HomecareApp, server: SatusehatStandIn, **changes: Any) -> Config:
    return app.config.replace(satusehat=stand_in_settings(server, **changes))


async def _audit_subjects(app: HomecareApp) -> list[str]:
    async with app.db.read() as s:
        rows = await s.scalars(
            select(AuditEntry.subject).where(AuditEntry.subject.like("satusehat:%"))
        )
        return list(rows)


async def test_a_period_is_sent_in_satusehats_profile(
    app: HomecareApp, stand_in: SatusehatStandIn
) -> None:
    await seed_with_ihs(app)
    ihs = stand_in.add_patient(NIK)
    config = sat_config(app, stand_in)
    async with SatusehatClient(config.satusehat) as client:
        sent = await satusehat.submit_period(app.db, config, client, DAY, DAY + timedelta(days=2))
    assert (sent.encounters, sent.no_nik, sent.unknown_patients) == (1, 1, 0)
    assert sent.observations >= 5 and sent.accepted == sent.encounters + sent.observations
    (bundle,) = stand_in.accepted
    encounter = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Encounter"
    )
    assert encounter["subject"] == {"reference": f"Patient/{ihs}"}
    assert encounter["identifier"][0]["system"] == "http://sys-ids.kemkes.go.id/encounter/100000001"
    assert encounter["serviceProvider"] == {"reference": "Organization/100000001"}
    assert encounter["location"][0]["location"]["reference"] == f"Location/{LOCATION}"
    assert encounter["period"]["start"].endswith("+08:00")
    assert [h["status"] for h in encounter["statusHistory"]] == ["arrived", "finished"]
    # No NIK anywhere in what was sent: SATUSEHAT's own id stands for the patient.
    assert NIK not in str(bundle)
    assert await _audit_subjects(app) == [f"satusehat:{DAY}..{DAY + timedelta(days=2)}:sent:1"]


async def test_a_patient_satusehat_does_not_know_is_left_out_and_counted(
    app: HomecareApp, stand_in: SatusehatStandIn
) -> None:
    await seed_with_ihs(app)
    config = sat_config(app, stand_in)
    async with SatusehatClient(config.satusehat) as client:
        sent = await satusehat.submit_period(app.db, config, client, DAY, DAY + timedelta(days=2))
    assert (sent.encounters, sent.observations, sent.unknown_patients) == (0, 0, 1)
    assert stand_in.accepted == []  # an empty bundle is not sent


async def test_a_5xx_is_retried_and_a_401_gets_a_new_token(
    app: HomecareApp, stand_in: SatusehatStandIn
) -> None:
    await seed_with_ihs(app)
    stand_in.add_patient(NIK)
    config = sat_config(app, stand_in)
    async with SatusehatClient(config.satusehat) as client:
        assert await client.patient_id("0000000000000000") is None
        stand_in.expire_tokens()
        stand_in.fail_next(2, status=503)
        sent = await satusehat.submit_period(app.db, config, client, DAY, DAY)
        # token lookup + 401 + new token + two 503s + the lookup + the bundle
        assert client.attempts == 8
    assert sent.encounters == 1 and len(stand_in.accepted) == 1


async def test_no_answer_after_every_attempt_is_unavailable_and_audited(
    app: HomecareApp, stand_in: SatusehatStandIn
) -> None:
    await seed_with_ihs(app)
    stand_in.add_patient(NIK)
    config = sat_config(app, stand_in, max_attempts=3)
    stand_in.fail_next(3, status=502)
    async with SatusehatClient(config.satusehat) as client:
        with pytest.raises(SatusehatUnavailable, match="3 attempts"):
            await satusehat.submit_period(app.db, config, client, DAY, DAY)
    assert stand_in.requests == 3 and stand_in.accepted == []
    assert await _audit_subjects(app) == [f"satusehat:{DAY}..{DAY}:failed:SatusehatUnavailable"]


async def test_a_refused_bundle_is_not_resent(app: HomecareApp, stand_in: SatusehatStandIn) -> None:
    await seed_with_ihs(app)
    stand_in.add_patient(NIK)
    # The stand-in knows another organisation: every Encounter is refused, with the reason.
    config = sat_config(app, stand_in)
    config = config.replace(satusehat=dataclasses.replace(config.satusehat, organization_id="999"))
    async with SatusehatClient(config.satusehat) as client:
        with pytest.raises(SatusehatRejected) as refused:
            await satusehat.submit_period(app.db, config, client, DAY, DAY)
        assert client.attempts == 3  # token, lookup, one bundle: not repeated
    assert refused.value.status == 400
    assert any("serviceProvider" in issue for issue in refused.value.issues)


async def test_wrong_credentials_are_refused_at_sign_in(
    app: HomecareApp, stand_in: SatusehatStandIn
) -> None:
    config = sat_config(app, stand_in)
    wrong = dataclasses.replace(config.satusehat, client_secret="not-it")
    async with SatusehatClient(wrong) as client:
        with pytest.raises(SatusehatRejected, match="401"):
            await client.patient_id(NIK)


def test_the_stand_in_refuses_what_satusehat_would() -> None:
    server = SatusehatStandIn()
    ihs = server.add_patient(NIK)
    good_encounter = {
        "resourceType": "Encounter",
        "status": "finished",
        "identifier": [
            {"system": "http://sys-ids.kemkes.go.id/encounter/100000001", "value": "K-1"}
        ],
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "HH"},
        "subject": {"reference": f"Patient/{ihs}"},
        "participant": [
            {
                "type": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/"
                                "v3-ParticipationType",
                                "code": "ATND",
                            }
                        ]
                    }
                ],
                "individual": {"reference": f"Practitioner/{SITI_IHS}"},
            }
        ],
        "period": {"start": "2026-11-18T08:40:00+08:00"},
        "statusHistory": [{"status": "finished", "period": {"start": "2026-11-18T09:20:00+08:00"}}],
        "serviceProvider": {"reference": "Organization/100000001"},
        "location": [{"location": {"reference": f"Location/{LOCATION}"}}],
    }

    def bundle(resource: dict[str, Any]) -> dict[str, Any]:
        entry = {
            "fullUrl": "urn:uuid:1",
            "resource": resource,
            "request": {"method": "POST", "url": "Encounter"},
        }
        return {"resourceType": "Bundle", "type": "transaction", "entry": [entry]}

    assert server.problems(bundle(good_encounter)) == []
    attender = good_encounter["participant"][0]
    for change, expected in [
        ({"period": {"start": "2026-11-18T00:40:00Z"}}, "+08:00"),
        ({"class": {"system": "x", "code": "AMB"}}, "HH"),
        ({"statusHistory": []}, "statusHistory"),
        ({"subject": {"reference": "Patient/P000"}}, "known Patient"),
        ({"location": []}, "Location"),
        ({"participant": []}, "participant is required"),
        (
            {"participant": [{**attender, "individual": {"reference": "Practitioner/N1"}}]},
            "Practitioner/<IHS number>",
        ),
    ]:
        found = server.problems(bundle({**good_encounter, **change}))
        assert any(expected in p for p in found), (change, found)


async def test_the_command_sends_a_period_and_says_what_was_left_out(
    app: HomecareApp, stand_in: SatusehatStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    from homecare.cli_satusehat import _submit

    await seed_with_ihs(app)
    stand_in.add_patient(NIK)
    config = sat_config(app, stand_in)
    stand_in.fail_next(4, status=500)  # every attempt of the sign-in
    assert await _submit(config, DAY, DAY) == 1
    assert "did not take it after 4 attempts" in capsys.readouterr().err
    assert await _submit(config, DAY, DAY + timedelta(days=1)) == 0
    out = capsys.readouterr().out
    assert out.startswith("1 visit(s) sent") and "1 without NIK" in out
    # Accepted visits are recorded: the same period again sends nothing.
    assert await _submit(config, DAY, DAY + timedelta(days=1)) == 0
    out = capsys.readouterr().out
    assert out.startswith("0 visit(s) sent") and "1 already accepted" in out
    assert len(stand_in.accepted) == 1
    off = config.replace(satusehat=dataclasses.replace(config.satusehat, enabled=False))
    assert await _submit(off, DAY, DAY) == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10009880728", "10009880728"),
        (" 1000 988 0728 ", "10009880728"),
        ("", ""),
        ("   ", ""),
        ("N10000001", None),  # SATUSEHAT staging's sample ids are not IHS numbers
        ("1000988072", None),
        ("100098807280", None),
        ("１０００９８８０７２８", None),  # full-width digits
        ("10009-880728", None),
    ],
)
def test_ihs_numbers_are_eleven_digits(text: str, expected: str | None) -> None:
    from homecare.satusehat import parse_ihs_number

    assert parse_ihs_number(text) == expected


async def test_the_staff_command_sets_an_ihs_number_and_refuses_a_bad_one(
    app: HomecareApp, capsys: pytest.CaptureFixture[str]
) -> None:
    from homecare.cli_staff import _nurse_ihs

    await seed(app)
    async with app.db.read() as s:
        siti = await s.scalar(select(Nurse.id))
    assert siti is not None
    assert await _nurse_ihs(app.config, siti, "1000 9880 728") == 0
    assert capsys.readouterr().out.endswith(f"IHS number {SITI_IHS}\n")
    for bad, said in [("N10000001", "11 digits"), ("12", "11 digits")]:
        assert await _nurse_ihs(app.config, siti, bad) == 2
        assert said in capsys.readouterr().err
    assert await _nurse_ihs(app.config, siti + 100, SITI_IHS) == 2
    assert "no nurse" in capsys.readouterr().err
    async with app.db.read() as s:
        assert await s.scalar(select(Nurse.ihs_number).where(Nurse.id == siti)) == SITI_IHS
    assert await _nurse_ihs(app.config, siti, "") == 0
    async with app.db.read() as s:
        assert await s.scalar(select(Nurse.ihs_number).where(Nurse.id == siti)) is None


async def test_a_visit_whose_nurse_has_no_ihs_number_is_left_out_and_counted(
    app: HomecareApp, stand_in: SatusehatStandIn
) -> None:
    await seed(app)  # Siti without an IHS number
    stand_in.add_patient(NIK)
    config = sat_config(app, stand_in)
    async with SatusehatClient(config.satusehat) as client:
        sent = await satusehat.submit_period(app.db, config, client, DAY, DAY)
    assert (sent.encounters, sent.observations, sent.no_practitioner) == (0, 0, 1)
    assert stand_in.accepted == []


async def test_the_bundle_names_the_nurse_by_her_ihs_number(
    app: HomecareApp, stand_in: SatusehatStandIn
) -> None:
    await seed_with_ihs(app)
    stand_in.add_patient(NIK)
    config = sat_config(app, stand_in)
    async with SatusehatClient(config.satusehat) as client:
        await satusehat.submit_period(app.db, config, client, DAY, DAY)
    (bundle,) = stand_in.accepted
    exports.validate_bundle(bundle)
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert "Practitioner" not in kinds  # referenced by SATUSEHAT's id, not created
    encounter = bundle["entry"][0]["resource"]
    assert encounter["participant"] == [
        {
            "type": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                            "code": "ATND",
                            "display": "attender",
                        }
                    ]
                }
            ],
            "individual": {"reference": f"Practitioner/{SITI_IHS}"},
        }
    ]
    observations = [e["resource"] for e in bundle["entry"][1:]]
    assert observations and all(
        o["performer"] == [{"reference": f"Practitioner/{SITI_IHS}"}] for o in observations
    )
    assert "Siti" not in str(bundle)


@pytest.mark.parametrize(
    ("changes", "ok"),
    [
        ({"submit_at": ""}, True),
        ({"submit_at": "07:30"}, True),
        ({"submit_at": "25:00"}, False),
        ({"submit_at": "7:30"}, False),
        ({"lookback_days": 0}, False),
        ({"lookback_days": 30}, True),
    ],
)
def test_the_daily_run_settings_are_checked(changes: dict[str, Any], ok: bool) -> None:
    from homecare.config_checks import validate
    from homecare.errors import ConfigError

    cfg = Config().replace(satusehat=SatusehatConfig(**changes))
    if ok:
        validate(cfg, complete=False)
    else:
        with pytest.raises(ConfigError, match=r"\[satusehat\]"):
            validate(cfg, complete=False)
