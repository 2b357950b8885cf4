"""SATUSEHAT with several puskesmas: each submits as itself (its Organization, Location and
client: SATUSEHAT issues credentials per health facility), in its own daily run, and the
configuration refuses a city-wide file that would send one clinic's visits as another's."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from bot.app import HomecareApp
from bot.jobs_satusehat import SatusehatJobs
from db.models import Nurse
from homecare.config import Config, SatusehatConfig, apply_environment, validate
from homecare.config_clinics import secret_variable
from homecare.errors import ConfigError
from sandbox.satusehat import SatusehatStandIn
from tests.clinics.conftest import BARA, two_clinics
from tests.head import factory

DAY = date(2026, 11, 3)  # within the daily run's 30 days before the tests' clock (9 Nov)
KASSI_LOCATION = "b017aa54-f1df-4ec2-9d84-8823815d7228"
BARA_ORG, BARA_LOCATION = "100000002", "c5d2e0a1-7d0a-4a39-9a51-2f1e7b0c9d11"
BARA_CLIENT, BARA_SECRET = "bara-client", "bara-secret"


@pytest.fixture
async def stand_in() -> AsyncIterator[SatusehatStandIn]:
    server = SatusehatStandIn()
    server.add_organization(BARA_CLIENT, BARA_SECRET, BARA_ORG, BARA_LOCATION)
    await server.start()
    yield server
    await server.stop()


def city_config(cfg: Config, server: SatusehatStandIn, **sat: Any) -> Config:
    kassi = dataclasses.replace(
        cfg.clinic,
        satusehat_organization_id=server.organization_id,
        satusehat_location_id=KASSI_LOCATION,
        satusehat_client_id=server.client_id,
        satusehat_client_secret=server.client_secret,
    )
    bara = dataclasses.replace(
        BARA,
        satusehat_organization_id=BARA_ORG,
        satusehat_location_id=BARA_LOCATION,
        satusehat_location_name="Puskesmas Bara-Baraya",
        satusehat_client_id=BARA_CLIENT,
        satusehat_client_secret=BARA_SECRET,
    )
    satusehat = SatusehatConfig(enabled=True, base_url=server.url, backoff_s=0.01, **sat)
    two = two_clinics(cfg)
    return two.replace(clinic=kassi, clinics=(kassi, bara), satusehat=satusehat)


@pytest.fixture
def config(make_config: Callable[..., Config], sandbox: Any, stand_in: SatusehatStandIn) -> Config:
    return city_config(make_config(sandbox), stand_in, submit_at="19:00")


async def seed_finished_visits(app: HomecareApp) -> None:
    """One finished visit in each puskesmas, by a nurse with an IHS number."""
    async with app.db.transaction() as s:
        for code, name, kel, nik in (
            (app.config.clinic.code, "Ani Wulandari", "Karunrung", "7371015705500001"),
            (BARA.code, "Zubaidah Xenia", "Maricaya", "7371015705500002"),
        ):
            cid = app.clinics.id_of(code)
            nurse = await factory.nurse(s, cid, f"Perawat {code}")
            pat = await factory.patient(s, cid, name, kel, nik=nik)
            await factory.visit(
                s,
                cid,
                pat,
                DAY,
                "completed",
                who=nurse,
                started_at=factory.wita(DAY, 8, 40),
                completed_at=factory.wita(DAY, 9, 20),
                planned_start=factory.wita(DAY, 8, 30),
            )
        await s.execute(update(Nurse).values(ihs_number="10009880728"))


def _encounters(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Encounter"]


async def test_each_puskesmas_sends_its_own_visits_as_itself(
    app: HomecareApp, stand_in: SatusehatStandIn
) -> None:
    await seed_finished_visits(app)
    stand_in.add_patient("7371015705500001")
    stand_in.add_patient("7371015705500002")
    # One daily job per clinic, each in its own time zone.
    assert app.jobs.scheduler.get_job(SatusehatJobs.JOB) is not None
    assert app.jobs.scheduler.get_job(f"{SatusehatJobs.JOB}:{BARA.code}") is not None

    jobs = SatusehatJobs(app.jobs)
    now = factory.wita(DAY + timedelta(days=1), 19)
    kassi = await jobs.send(now, clinic_code=app.config.clinic.code)
    bara = await jobs.send(now, clinic_code=BARA.code)
    assert (kassi.ok, kassi.sent, bara.ok, bara.sent) == (True, 1, True, 1)

    first, second = stand_in.accepted
    for bundle, org, location in (
        (first, stand_in.organization_id, KASSI_LOCATION),
        (second, BARA_ORG, BARA_LOCATION),
    ):
        (encounter,) = _encounters(bundle)
        assert encounter["serviceProvider"] == {"reference": f"Organization/{org}"}
        systems = {i["system"] for i in encounter["identifier"]}
        assert systems == {f"http://sys-ids.kemkes.go.id/encounter/{org}"}
        assert encounter["location"][0]["location"]["reference"] == f"Location/{location}"
    # Nothing sent twice: a second run of each finds nothing new.
    assert (await jobs.send(now, clinic_code=BARA.code)).sent == 0
    # And Kassi-Kassi's token could not have sent Bara-Baraya's Encounter.
    problems = stand_in.problems(second, stand_in.organization_id)
    assert any("serviceProvider" in p for p in problems)


def test_a_city_wide_file_needs_each_puskesmas_registration() -> None:
    server = SatusehatStandIn(url="http://127.0.0.1:9")
    good = city_config(Config(), server)
    validate(good)
    bara = good.clinics[1]
    cases = {
        "satusehat_organization_id": dataclasses.replace(bara, satusehat_organization_id=""),
        "satusehat_client_id": dataclasses.replace(bara, satusehat_client_id=""),
        "each puskesmas has its own": dataclasses.replace(
            bara, satusehat_organization_id=server.organization_id
        ),
    }
    for expected, changed in cases.items():
        with pytest.raises(ConfigError) as caught:
            validate(good.replace(clinics=(good.clinics[0], changed)))
        assert expected in str(caught.value) and "bara-baraya" in str(caught.value)


def test_each_puskesmas_secret_comes_from_its_own_variable() -> None:
    server = SatusehatStandIn(url="http://127.0.0.1:9")
    cfg = city_config(Config(), server)
    assert secret_variable("bara-baraya") == "HOMECARE_SATUSEHAT_CLIENT_SECRET_BARA_BARAYA"
    got = apply_environment(cfg, {"HOMECARE_SATUSEHAT_CLIENT_SECRET_BARA_BARAYA": "from-env"})
    assert got.for_clinic("bara-baraya").satusehat.client_secret == "from-env"
    assert got.for_clinic("bara-baraya").satusehat.organization_id == BARA_ORG
    assert got.for_clinic(cfg.clinic.code).satusehat.client_secret == server.client_secret
