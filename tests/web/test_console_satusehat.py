"""SATUSEHAT on a running clinic, through the sandbox and the SATUSEHAT stand-in: the nurse's
IHS number set on the console's /staf (valid, invalid in id and en: nothing changed), the daily
job (sends once, a second run sends nothing, a 5xx day is retried the next run), heads told
about a failure in Telegram (id and en, once per day and reason), the report page's last
submission, an erased patient's visit never sent."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from bot.app import HomecareApp
from bot.i18n import t
from bot.jobs_satusehat import SatusehatJobs
from db.models import Account, AuditEntry, Nurse, OutboxMessage, Patient, Visit
from db.models_satusehat import SatusehatRun, SatusehatSent
from db.services import exports
from db.types import utcnow
from homecare.config import Config
from sandbox.satusehat import SatusehatStandIn
from tests.nurse.helpers import TUESDAY, Clinic, wait_for, wita
from tests.satusehat_support import LOCATION, stand_in_settings
from tests.web.conftest import login_link
from tests.web.test_console_http import _csrf, _signed_in

LANGUAGES = ["id", "en"]
SITI_IHS, ANDI_IHS = "10009880728", "10006926841"


@pytest.fixture
async def stand_in() -> AsyncIterator[SatusehatStandIn]:
    server = SatusehatStandIn(location_ids={LOCATION})
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def config(config: Config, stand_in: SatusehatStandIn) -> Config:
    sat = stand_in_settings(
        stand_in,
        config.satusehat,
        max_attempts=2,
        submit_at="20:00",  # after the fixture's clock: no catch-up run at start
    )
    return config.replace(satusehat=sat)


async def _languages(app: HomecareApp, language: str) -> None:
    async with app.db.transaction() as s:
        await s.execute(update(Account).values(language=language))


async def _head(clinic: Clinic, http: httpx.AsyncClient, lang: str) -> str:
    await _signed_in(
        http, await login_link(clinic.head.user, "/konsol" if lang == "id" else "/console")
    )
    staff = await http.get("/staf")
    assert staff.status_code == 200
    return _csrf(staff.text)


async def _ihs(app: HomecareApp, nurse_id: int) -> str | None:
    async with app.db.read() as s:
        return (await s.get(Nurse, nurse_id)).ihs_number  # type: ignore[union-attr]


async def _finish_visits(app: HomecareApp, stand_in: SatusehatStandIn, clinic: Clinic) -> None:
    """Tuesday's visits done, every patient with a NIK SATUSEHAT knows."""
    async with app.db.transaction() as s:
        for i, pid in enumerate(clinic.patients):
            nik = f"737101570550{i:04d}"
            stand_in.add_patient(nik)
            await s.execute(update(Patient).where(Patient.id == pid).values(nik=nik))
        await s.execute(
            update(Visit)
            .where(Visit.id.in_(clinic.visits))
            .values(
                status="completed",
                started_at=wita(TUESDAY, 9),
                completed_at=wita(TUESDAY, 9, 40),
            )
        )


async def _set_both(app: HomecareApp, clinic: Clinic) -> None:
    async with app.db.transaction() as s:
        await s.execute(update(Nurse).where(Nurse.id == clinic.siti_id).values(ihs_number=SITI_IHS))
        await s.execute(update(Nurse).where(Nurse.id == clinic.andi_id).values(ihs_number=ANDI_IHS))


async def _sent_ids(app: HomecareApp) -> set[int]:
    async with app.db.read() as s:
        return set(await s.scalars(select(SatusehatSent.visit_id)))


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_a_head_sets_a_nurses_ihs_number_and_a_bad_one_changes_nothing(
    app: HomecareApp, client: Any, clinic: Clinic, http: httpx.AsyncClient, lang: str
) -> None:
    await _languages(app, lang)
    csrf = await _head(clinic, http, lang)
    url = f"/staf/{clinic.siti_id}/ihs"
    done = await http.post(url, data={"csrf": csrf, "ihs": " 1000 9880 728 "})
    assert done.status_code == 303, done.text
    assert await _ihs(app, clinic.siti_id) == SITI_IHS
    page = await http.get("/staf")
    assert f'value="{SITI_IHS}"' in page.text
    for bad in ("N10000001", "1000988072", "100098807289", "１０００９８８０７２８", "10009880-28"):
        refused = await http.post(url, data={"csrf": csrf, "ihs": bad})
        assert refused.status_code == 400, bad
        assert t(lang, "satusehat.ihs_error.format") in refused.text.replace("&#39;", "'")
        assert await _ihs(app, clinic.siti_id) == SITI_IHS, bad
    # Andi cannot get Siti's number; her own stays.
    taken = await http.post(f"/staf/{clinic.andi_id}/ihs", data={"csrf": csrf, "ihs": SITI_IHS})
    assert taken.status_code == 400 and t(lang, "satusehat.ihs_error.taken") in taken.text
    assert await _ihs(app, clinic.andi_id) is None
    assert (await http.post(url, data={"ihs": "10006926841"})).status_code == 403  # no CSRF
    assert (
        await http.post("/staf/999999/ihs", data={"csrf": csrf, "ihs": ANDI_IHS})
    ).status_code == 403
    # Emptied: removed.
    assert (await http.post(url, data={"csrf": csrf, "ihs": ""})).status_code == 303
    assert await _ihs(app, clinic.siti_id) is None
    async with app.db.read() as s:
        subjects = list(
            await s.scalars(
                select(AuditEntry.subject).where(
                    AuditEntry.subject == f"nurse:{clinic.siti_id}:ihs"
                )
            )
        )
    assert len(subjects) == 2  # set and removed; refusals wrote nothing


async def test_the_daily_job_sends_once_and_a_5xx_day_is_retried_the_next_run(
    app: HomecareApp, client: Any, clinic: Clinic, stand_in: SatusehatStandIn
) -> None:
    await _finish_visits(app, stand_in, clinic)
    await _set_both(app, clinic)
    jobs = SatusehatJobs(app.jobs)
    assert app.jobs.scheduler.get_job(SatusehatJobs.JOB) is not None  # registered at start

    first = await jobs.send(utcnow())
    assert first.ok and first.sent == len(clinic.visits)
    (bundle,) = stand_in.accepted
    exports.validate_bundle(bundle)  # fhir.resources, as the stand-in did
    encounters = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Encounter"
    ]
    refs = {e["participant"][0]["individual"]["reference"] for e in encounters}
    assert refs <= {f"Practitioner/{SITI_IHS}", f"Practitioner/{ANDI_IHS}"} and refs
    assert all(e["participant"][0]["type"][0]["coding"][0]["code"] == "ATND" for e in encounters)
    assert await _sent_ids(app) == set(clinic.visits)

    # The next day: nothing new finished, nothing sent (the stand-in sees no bundle).
    second = await jobs.send(utcnow() + timedelta(days=1))
    assert second.ok and second.sent == 0 and len(stand_in.accepted) == 1

    # One more visit finished; SATUSEHAT answers 5xx all day: nothing recorded as sent.
    extra = clinic.visits[0]
    async with app.db.transaction() as s:
        await s.execute(SatusehatSent.__table__.delete().where(SatusehatSent.visit_id == extra))
    stand_in.fail_next(2, status=503)
    failed = await jobs.send(utcnow() + timedelta(days=1))
    assert not failed.ok and failed.reason == "unavailable"
    assert extra not in await _sent_ids(app) and len(stand_in.accepted) == 1
    # The run after: sent, and only that visit.
    retried = await jobs.send(utcnow() + timedelta(days=2))
    assert retried.ok and retried.sent == 1 and len(stand_in.accepted) == 2
    assert [e["resource"]["resourceType"] for e in stand_in.accepted[1]["entry"]].count(
        "Encounter"
    ) == 1
    assert extra in await _sent_ids(app)


async def test_visits_of_a_nurse_without_ihs_number_or_an_erased_patient_are_left_out(
    app: HomecareApp, client: Any, clinic: Clinic, stand_in: SatusehatStandIn
) -> None:
    from db.services.data_rights import delete_my_data

    await _finish_visits(app, stand_in, clinic)
    async with app.db.transaction() as s:
        await s.execute(update(Nurse).where(Nurse.id == clinic.siti_id).values(ihs_number=SITI_IHS))
        andis = list(await s.scalars(select(Visit.id).where(Visit.nurse_id == clinic.andi_id)))
        sitis = list(await s.scalars(select(Visit.id).where(Visit.nurse_id == clinic.siti_id)))
        erased = await s.get(Visit, sitis[0])
        assert erased is not None
        patient = await s.get(Patient, erased.patient_id)
        assert patient is not None and patient.nik is not None
        erased_ihs = stand_in.patients[patient.nik]
        # The family asks for their data to be deleted (the bot's /hapus_data path).
        family = clinic.families[clinic.visits.index(erased.id)]
        account = await s.get(Account, family.account_id)
        assert account is not None
        await delete_my_data(s, app.config, account, app.clinic_id, utcnow())
    assert andis and len(sitis) >= 2
    outcome = await SatusehatJobs(app.jobs).send(utcnow())
    assert outcome.ok and outcome.sent == len(sitis) - 1
    assert await _sent_ids(app) == set(sitis[1:])
    sent = str(stand_in.accepted)
    assert erased_ihs not in sent and "Siti" not in sent and "Andi" not in sent
    async with app.db.read() as s:
        run = await s.scalar(select(SatusehatRun).order_by(SatusehatRun.id.desc()))
    assert run is not None and (run.no_practitioner, run.no_nik) == (len(andis), 1)


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_heads_are_told_once_about_a_failure_and_the_report_page_shows_it(
    app: HomecareApp,
    client: Any,
    clinic: Clinic,
    http: httpx.AsyncClient,
    stand_in: SatusehatStandIn,
    lang: str,
) -> None:
    await _languages(app, lang)
    await _finish_visits(app, stand_in, clinic)
    await _set_both(app, clinic)
    jobs = SatusehatJobs(app.jobs)
    stand_in.fail_next(4, status=502)
    assert (await jobs.send(utcnow())).reason == "unavailable"
    note = await wait_for(clinic.head.user, "SATUSEHAT", most=10)
    assert note.plain_text.startswith(t(lang, "satusehat.failed.unavailable"))
    assert t(lang, "satusehat.failed.waiting", n=len(clinic.visits)) in note.plain_text
    # A second failure that day, same reason: no second note.
    assert (await jobs.send(utcnow() + timedelta(minutes=5))).reason == "unavailable"
    async with app.db.read() as s:
        notes = list(
            await s.scalars(
                select(OutboxMessage).where(OutboxMessage.template == "satusehat.failed")
            )
        )
    assert len(notes) == 1

    await _signed_in(
        http, await login_link(clinic.head.user, "/konsol" if lang == "id" else "/console")
    )
    page = await http.get("/laporan")
    assert page.status_code == 200
    assert 'data-satusehat="unavailable"' in page.text
    assert t(lang, "satusehat.reason.unavailable") in page.text
    assert t(lang, "satusehat.report.sent", n=0) in page.text
    assert f'data-failed="{len(clinic.visits)}"' in page.text

    # Wrong credentials the next day: another reason, another note; then it goes through.
    app_sat = app.config.satusehat
    app.config = app.config.replace(satusehat=dataclasses.replace(app_sat, client_secret="not-it"))
    assert (await jobs.send(utcnow() + timedelta(days=1))).reason == "credentials"
    told = await wait_for(clinic.head.user, "SATUSEHAT", most=10)
    assert told.plain_text.startswith(t(lang, "satusehat.failed.credentials"))
    # A refused bundle (SATUSEHAT knows another organisation): its reason is in the note.
    app.config = app.config.replace(satusehat=dataclasses.replace(app_sat, organization_id="999"))
    assert (await jobs.send(utcnow() + timedelta(days=1))).reason == "refused"
    refused = await wait_for(clinic.head.user, "SATUSEHAT", most=10)
    assert refused.plain_text.startswith(t(lang, "satusehat.failed.refused", detail="")[:30])
    assert "identifier system must be" in refused.plain_text
    app.config = app.config.replace(satusehat=app_sat)
    assert (await jobs.send(utcnow() + timedelta(days=1))).ok
    page = await http.get("/laporan")
    assert 'data-satusehat="ok"' in page.text
    assert t(lang, "satusehat.report.sent", n=len(clinic.visits)) in page.text


async def test_a_process_started_after_submit_at_catches_up_once(
    app: HomecareApp, client: Any, clinic: Clinic, stand_in: SatusehatStandIn, clock: Any
) -> None:
    await _finish_visits(app, stand_in, clinic)
    await _set_both(app, clinic)
    jobs = SatusehatJobs(app.jobs)
    async with app.db.read() as s:
        assert await s.scalar(select(SatusehatRun.id)) is None  # 06:30 < 20:00: no run at start
    clock.move_to(wita(TUESDAY, 21))
    await jobs.register()
    await jobs.register()  # a second start the same evening: today's run is there
    assert len(stand_in.accepted) == 1
    async with app.db.read() as s:
        runs = list(await s.scalars(select(SatusehatRun)))
    assert [(r.kind, r.ok) for r in runs] == [("daily", True)]
