"""THE MUST-SHOW of issue 12 item 4: as each role of clinic A — family, nurse and head in the
bot; head and nurse in the console — every command, button and console route (enumerated, so a
new one is covered) shows nothing of clinic B; B's ids in paths are refused (403/404).

It fails when a clinic filter is removed: see the closing note of the branch for the mutation
that was tried by hand."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import time_machine
from sqlalchemy import select

from bot.app import HomecareApp, build_application
from bot.guard import FloodControl
from bot.web.urls import base_url
from db.models import Visit
from db.session import Database
from homecare.config import Config
from tests.clinics.conftest import two_clinics
from tests.clinics.isolation import (
    ClinicB,
    Ids,
    a_ids,
    console_session,
    everything_seen_in_chat,
    exercise_bot_role,
    exercise_console,
    leaks,
    readable,
    role_of,
    seed_clinic_b,
    set_language,
)
from tests.nurse.helpers import MONDAY, START, TUESDAY, Clinic, seed_clinic, wita


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(START, tick=True) as traveller:
        yield traveller


@pytest.fixture
def config(make_config: Any, sandbox: Any) -> Config:
    cfg = make_config(sandbox)
    return two_clinics(
        cfg,
        planner=dataclasses.replace(cfg.planner, time_limit_s=0.5),
        web=dataclasses.replace(cfg.web, enabled=True, port=0, tile_url=""),
    )


@pytest.fixture
async def app(
    clock: time_machine.Traveller, config: Config, database: Database
) -> AsyncIterator[HomecareApp]:
    hc = build_application(config, db=database)
    hc.flood = FloodControl(burst=100_000, per_second=100_000.0)
    await hc.start()
    hc.jobs.scheduler.pause()
    yield hc
    await hc.stop()


@pytest.fixture
async def clinics(
    app: HomecareApp, client: Any, clock: time_machine.Traveller
) -> tuple[Clinic, ClinicB]:
    """Clinic A (the nurse's tests' clinic) and B, both planned for Tuesday, routes sent."""
    a = await seed_clinic(app, client)
    b = await seed_clinic_b(app)
    clock.move_to(wita(MONDAY, 18))
    outcomes = await app.jobs.planning.nightly()
    assert sorted(o.status for o in outcomes) == ["done", "done"], outcomes
    clock.move_to(wita(TUESDAY, 6, 30))
    assert await app.jobs.planning.morning_routes() >= 2
    await app.jobs.digests.send()
    async with app.db.read() as s:
        planned = await s.scalars(select(Visit).where(Visit.id.in_(b.visits[1:])))
        assert {v.nurse_id for v in planned} == {b.nurse_id}
    return a, b


@pytest.mark.parametrize("lang", ["id", "en"])
async def test_no_role_of_clinic_a_ever_sees_clinic_b(
    app: HomecareApp, client: Any, clinics: tuple[Clinic, ClinicB], lang: str
) -> None:
    a, b = clinics
    people = {"family": a.families[0], "nurse": a.siti, "head": a.head}
    await set_language(app, [p.account_id for p in people.values()], lang)
    # The console first, as A's head and A's nurse, with A's and B's ids in every path.
    mine = await a_ids(app, a.siti_id, a.visits[0])
    theirs = Ids(b.visits[0], b.nurse_id, b.leave_id, "bara-baraya")
    refused_all: list[Any] = []
    bodies: list[str] = []
    for person in (a.siti, a.head):  # the head's posts may deactivate Siti: she goes first
        async with httpx.AsyncClient(base_url=base_url(app.config.web)) as http:
            csrf = await console_session(http, person.user)
            not_refused, seen = await exercise_console(app, http, csrf, mine, theirs, b)
            refused_all += not_refused
            bodies += seen
    assert len(bodies) > 50
    assert refused_all == [], refused_all
    assert leaks(bodies, b.markers) == []
    assert any("Ani Lestari" in t for t in bodies)  # A's own records were reached
    # Then the bot (last: /data_saya lets a person erase their own data, and the walk presses
    # every button).
    sent = 0
    for person in people.values():
        roles = await role_of(app, person.account_id)
        sent += await exercise_bot_role(app, client, person.user, roles, b)
    assert sent > 100  # the walk really pressed things
    chat_texts: list[str] = []
    for person in people.values():
        chat_texts += await everything_seen_in_chat(client, person.user)
    assert leaks(chat_texts, b.markers) == []
    assert any("Ani Lestari" in t for t in chat_texts)


@pytest.mark.parametrize("lang", ["id", "en"])
async def test_a_city_admin_invited_by_the_cli_picks_any_clinic_in_the_console(
    app: HomecareApp,
    client: Any,
    clinics: tuple[Clinic, ClinicB],
    capsys: pytest.CaptureFixture[str],
    lang: str,
) -> None:
    from homecare.cli_staff import _invite

    a, b = clinics
    assert await _invite(app.config, "city_admin", "Dinas Kesehatan", "bara-baraya") == 0
    code = capsys.readouterr().out.split("code: ", 1)[1].split()[0]
    officer = await client.user(f"dinas{lang}", language_code=lang, first_name="Dinas")
    await officer.send(f"/start inv_{code}")
    await officer.wait_message()
    assert await role_of(app, await _account_id(app, officer.id)) == {"city_admin"}
    async with httpx.AsyncClient(base_url=base_url(app.config.web)) as http:
        await console_session(http, officer)
        board = (await http.get("/papan")).text
        # Its own clinic first (Bara-Baraya), and a picker naming both.
        assert "Xaverius" in board and "Puskesmas Kassi-Kassi" in board
        assert (await http.get("/klinik/tidak-ada")).status_code == 404
        picked = await http.get("/klinik/kassi-kassi")
        assert picked.status_code == 303
        log = (await http.get("/kunjungan")).text
        assert "Siti Rahmawati" in log and "Xaverius" not in log
        report = await http.get("/laporan")
        assert report.status_code == 200
        csv = await http.get("/kunjungan/unduh?format=csv")
        files = readable(csv.content)
        assert csv.status_code == 200 and "Ani Lestari" in files and "Zubaidah" not in files
        await http.get("/klinik/bara-baraya")
        assert "Xaverius" in (await http.get("/kunjungan")).text
    # A clinic's head cannot pick: bound to their own clinic.
    async with httpx.AsyncClient(base_url=base_url(app.config.web)) as http:
        await console_session(http, a.head.user)
        assert (await http.get("/klinik/bara-baraya")).status_code == 403
        http.cookies.set("hc_clinic", str(b.clinic_id))  # a forged picker cookie is ignored
        assert "Xaverius" not in (await http.get("/kunjungan")).text
        assert "Xaverius" not in (await http.get("/papan")).text


async def _account_id(app: HomecareApp, telegram_id: int) -> int:
    from db.models import Account

    async with app.db.read() as s:
        account = await s.scalar(select(Account).where(Account.telegram_user_id == telegram_id))
        assert account is not None
        return account.id
