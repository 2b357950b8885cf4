"""The console's rules over plain HTTP (real requests to the server in the bot's process): CSRF,
record access across clinics, who may sign in, session end, headers and bad input."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import time_machine
from sqlalchemy import delete, func, select

from bot.app import HomecareApp
from db.models import AccountRole, AuditEntry, Patient, Visit
from db.models import Clinic as ClinicRow
from db.models_console import ConsoleLogin, ConsoleSession
from db.services import console_auth
from db.types import utcnow
from tests.nurse.helpers import TUESDAY, Clinic, add_visit
from tests.web.conftest import login_link


async def _signed_in(http: httpx.AsyncClient, link: str) -> httpx.Response:
    token = parse_qs(urlparse(link).query)["t"][0]
    shown = await http.get("/masuk", params={"t": token})
    assert shown.status_code == 200 and 'name="t"' in shown.text
    answer = await http.post("/masuk", data={"t": token})
    assert answer.status_code == 303, answer.text
    assert "hc_console" in http.cookies
    return answer


def _csrf(html: str) -> str:
    marker = 'name="csrf" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


async def test_the_cookie_is_httponly_and_the_login_page_does_not_use_the_link(
    app: HomecareApp, client: Any, clinic: Clinic, http: httpx.AsyncClient
) -> None:
    link = await login_link(clinic.head.user)
    token = parse_qs(urlparse(link).query)["t"][0]
    # Opening the link (a preview, a prefetch) twice does not use it up.
    for _ in range(2):
        assert (await http.get("/masuk", params={"t": token})).status_code == 200
    answer = await http.post("/masuk", data={"t": token})
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["cache-control"] == "no-store"
    async with app.db.read() as s:
        rows = list(await s.scalars(select(ConsoleLogin)))
    # Only the hash is stored.
    assert [r.token_hash for r in rows] == [console_auth.digest(token)]
    assert token not in str([r.__dict__ for r in rows])


async def test_a_post_without_the_csrf_token_is_refused(
    app: HomecareApp, client: Any, clinic: Clinic, http: httpx.AsyncClient
) -> None:
    await _signed_in(http, await login_link(clinic.head.user))
    board = await http.get("/papan")
    assert board.status_code == 200
    assert (await http.post("/keluar", data={})).status_code == 403
    assert (await http.post("/keluar", data={"csrf": "0" * 64})).status_code == 403
    # Still signed in: nothing changed.
    assert (await http.get("/papan")).status_code == 200
    out = await http.post("/keluar", data={"csrf": _csrf(board.text)})
    assert out.status_code == 200
    assert (await http.get("/papan")).status_code == 401


async def test_another_clinics_visit_is_403_and_nothing_is_audited(
    app: HomecareApp, client: Any, clinic: Clinic, http: httpx.AsyncClient
) -> None:
    async with app.db.transaction() as s:
        other = ClinicRow(code="other", name="Puskesmas Lain", timezone="Asia/Makassar")
        s.add(other)
        await s.flush()
        p = Patient(clinic_id=other.id, full_name="Orang Lain", kelurahan="Lain")
        s.add(p)
        await s.flush()
        v = await add_visit(s, app, p.id, TUESDAY, "injection", (8, 10))
        v.clinic_id = other.id
        before = await s.scalar(select(func.count()).select_from(AuditEntry))
    await _signed_in(http, await login_link(clinic.head.user))
    answer = await http.get(f"/kunjungan/{v.id}")
    assert answer.status_code == 403
    assert "Orang Lain" not in answer.text
    assert (await http.get("/kunjungan/999999")).status_code == 403
    assert (await http.get("/kunjungan/abc")).status_code == 404
    async with app.db.read() as s:
        after = await s.scalar(select(func.count()).select_from(AuditEntry))
    assert after == before
    # The own clinic's visit opens.
    assert (await http.get(f"/kunjungan/{clinic.visits[0]}")).status_code == 200


async def test_a_patient_account_gets_no_link(
    app: HomecareApp, client: Any, clinic: Clinic, http: httpx.AsyncClient
) -> None:
    family = clinic.families[0]
    await family.user.send("/konsol")
    answer = await family.user.wait_message()
    assert "/masuk" not in answer.plain_text
    async with app.db.transaction() as s:
        from db.models import Account

        account = await s.get(Account, family.account_id)
        assert account is not None
        assert (
            await console_auth.create_login_link(
                s, app.config.web, account, app.clinic_id, utcnow()
            )
            is None
        )
        assert await s.scalar(select(func.count()).select_from(ConsoleLogin)) == 0
    # A made-up token signs nobody in.
    assert (await http.post("/masuk", data={"t": "x" * 43})).status_code == 403
    assert "hc_console" not in http.cookies


async def test_idle_sessions_end_and_a_removed_role_ends_the_session(
    app: HomecareApp,
    client: Any,
    clinic: Clinic,
    http: httpx.AsyncClient,
    clock: time_machine.Traveller,
) -> None:
    await _signed_in(http, await login_link(clinic.head.user))
    clock.shift(timedelta(minutes=20))
    assert (await http.get("/papan")).status_code == 200  # a page view keeps it alive
    clock.shift(timedelta(minutes=25))
    assert (await http.get("/papan")).status_code == 200
    clock.shift(timedelta(minutes=31))
    assert (await http.get("/papan")).status_code == 401

    await _signed_in(http, await login_link(clinic.head.user))
    assert (await http.get("/papan")).status_code == 200
    async with app.db.transaction() as s:
        await s.execute(delete(AccountRole).where(AccountRole.account_id == clinic.head.account_id))
    assert (await http.get("/papan")).status_code == 401


async def test_bad_input_gets_a_message_and_big_bodies_are_refused(
    app: HomecareApp, client: Any, clinic: Clinic, http: httpx.AsyncClient
) -> None:
    await _signed_in(http, await login_link(clinic.head.user))
    for query in (
        {"dari": "2027-13-01"},
        {"dari": "2027-04-20", "sampai": "2027-04-01"},
        {"status": "gone"},
        {"kelurahan": "<script>"},
    ):
        answer = await http.get("/kunjungan", params=query)
        assert answer.status_code == 400, query
        assert 'role="alert"' in answer.text
        assert "<script>" not in answer.text
    big = await http.post("/keluar", content=b"x" * 100_000)
    assert big.status_code == 413
    assert (await http.get("/papan")).status_code == 200


async def test_forgetting_an_account_removes_its_console_rows(
    app: HomecareApp, client: Any, clinic: Clinic, http: httpx.AsyncClient
) -> None:
    await _signed_in(http, await login_link(clinic.head.user))
    async with app.db.transaction() as s:
        await console_auth.forget_account(s, clinic.head.account_id)
    async with app.db.read() as s:
        assert await s.scalar(select(func.count()).select_from(ConsoleSession)) == 0
        assert await s.scalar(select(func.count()).select_from(ConsoleLogin)) == 0
    assert (await http.get("/papan")).status_code == 401


async def test_a_nurse_cannot_act_on_another_nurses_visit_or_without_csrf(
    app: HomecareApp,
    client: Any,
    clinic: Clinic,
    http: httpx.AsyncClient,
    clock: time_machine.Traveller,
) -> None:
    from tests.nurse.helpers import wita

    clock.move_to(wita(TUESDAY, 7, 45))
    await _signed_in(http, await login_link(clinic.siti.user))
    route = await http.get("/rute")
    assert route.status_code == 200
    csrf = _csrf(route.text)
    async with app.db.read() as s:
        andis = await s.scalar(
            select(Visit).where(Visit.nurse_id == clinic.andi_id, Visit.day == TUESDAY).limit(1)
        )
        sitis = await s.scalar(
            select(Visit).where(Visit.nurse_id == clinic.siti_id, Visit.day == TUESDAY).limit(1)
        )
    assert andis is not None and sitis is not None
    assert (await http.post(f"/rute/{andis.id}/go", data={"csrf": csrf})).status_code == 403
    assert (await http.post(f"/rute/{sitis.id}/go", data={})).status_code == 403
    assert (await http.post(f"/rute/{sitis.id}/fly", data={"csrf": csrf})).status_code == 404
    async with app.db.read() as s:
        unchanged = {v.status for v in await s.scalars(select(Visit).where(Visit.day == TUESDAY))}
    assert unchanged <= {"scheduled", "confirmed"}
    # Her own visit moves.
    went = await http.post(f"/rute/{sitis.id}/go", data={"csrf": csrf})
    assert went.status_code == 303
    async with app.db.read() as s:
        moved = await s.get(Visit, sitis.id)
    assert moved is not None and moved.status == "on_the_way"
