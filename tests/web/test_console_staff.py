"""/staf in the console over plain HTTP: leave recorded for a planned day re-plans it (the family
and the nurse hear it through the sandbox), leave taken back, a nurse deactivated (her menu reset,
her console session ended), another clinic's nurse 403, forms without CSRF 403; the visit log's
text search and its download. Stories in id and en."""

from __future__ import annotations

import asyncio
import csv
import io
import zipfile
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from bot.app import HomecareApp
from bot.i18n import Translator, t
from bot.render.formats import visit_code
from bot.render.head.common import day_label
from db.models import Account, AuditEntry, Nurse, NurseLeave, OutboxMessage, PlanRun, Visit
from db.models import Clinic as ClinicRow
from db.models_console import ConsoleSession
from tests.nurse.helpers import TUESDAY, Clinic, wait_for, wait_run
from tests.web.conftest import base_url, login_link
from tests.web.test_console_http import _csrf, _signed_in

LANGUAGES = ["id", "en"]
# nurse.family_moved's heading, as the family reads it.
MOVED = {"id": "berubah", "en": "has changed"}


async def _languages(app: HomecareApp, language: str) -> None:
    async with app.db.transaction() as s:
        await s.execute(update(Account).values(language=language))


async def _head(app: HomecareApp, clinic: Clinic, http: httpx.AsyncClient, lang: str) -> str:
    """Signs the head in; the CSRF token of the /staf page."""
    await _signed_in(
        http, await login_link(clinic.head.user, "/konsol" if lang == "id" else "/console")
    )
    staff = await http.get("/staf")
    assert staff.status_code == 200
    return _csrf(staff.text)


async def _last_run(app: HomecareApp) -> int:
    async with app.db.read() as s:
        return int(await s.scalar(select(PlanRun.id).order_by(PlanRun.id.desc()).limit(1)) or 0)


async def _audited(app: HomecareApp, subject: str) -> int:
    async with app.db.read() as s:
        return len(list(await s.scalars(select(AuditEntry).where(AuditEntry.subject == subject))))


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_leave_on_a_planned_day_replans_it_and_everyone_hears(
    app: HomecareApp, client: Any, clinic: Clinic, http: httpx.AsyncClient, lang: str
) -> None:
    await _languages(app, lang)
    csrf = await _head(app, clinic, http, lang)
    async with app.db.read() as s:
        sitis = list(
            await s.scalars(
                select(Visit).where(Visit.nurse_id == clinic.siti_id, Visit.day == TUESDAY)
            )
        )
    assert sitis, "the plan gave Siti no visit"
    last = await _last_run(app)
    tomorrow = TUESDAY + timedelta(days=1)
    answer = await http.post(
        f"/staf/{clinic.siti_id}/cuti",
        data={
            "csrf": csrf,
            "dari": TUESDAY.isoformat(),
            "sampai": tomorrow.isoformat(),
            "jenis": "sick",
        },
    )
    assert answer.status_code == 303, answer.text
    # Today was planned: its re-plan moves her stops; the families hear the new nurse.
    await wait_run(app, "replan", after_id=last)
    async with app.db.read() as s:
        after = {v.id: v for v in await s.scalars(select(Visit).where(Visit.day == TUESDAY))}
        leave = list(
            await s.scalars(select(NurseLeave).where(NurseLeave.nurse_id == clinic.siti_id))
        )
    assert sorted((lv.day, lv.kind, lv.approved) for lv in leave) == [
        (TUESDAY, "sick", True),
        (tomorrow, "sick", True),
    ]
    moved = [v for v in sitis if after[v.id].nurse_id == clinic.andi_id]
    assert moved and all(after[v.id].nurse_id != clinic.siti_id for v in sitis)
    for v in moved:
        family = clinic.families[clinic.visits.index(v.id)]
        told = await wait_for(family.user, MOVED[lang], most=10)
        assert visit_code(v.code) in told.plain_text and "Andi" in told.plain_text
    tr = Translator(lang)
    note = t(
        lang,
        "staffweb.leave_note_span",
        first=day_label(tr, TUESDAY),
        last=day_label(tr, tomorrow),
        kind=tr("head.leave_kind.sick"),
    )
    assert (await wait_for(clinic.siti.user, day_label(tr, tomorrow), most=10)).text == note
    assert await _audited(app, f"nurse:{clinic.siti_id}:leave") == 2

    # The page lists both days; taking back tomorrow's tells her she works that day.
    page = await http.get("/staf")
    assert f'data-day="{tomorrow.isoformat()}"' in page.text
    gone = next(lv for lv in leave if lv.day == tomorrow)
    assert (await http.post(f"/staf/cuti/{gone.id}/hapus", data={"csrf": csrf})).status_code == 303
    removed = t(
        lang,
        "staffweb.leave_note_removed",
        day=day_label(tr, tomorrow),
        kind=tr("head.leave_kind.sick"),
    )
    assert (await wait_for(clinic.siti.user, day_label(tr, tomorrow), most=10)).text == removed
    async with app.db.read() as s:
        left = [
            lv.day
            for lv in await s.scalars(
                select(NurseLeave).where(NurseLeave.nurse_id == clinic.siti_id)
            )
        ]
    assert left == [TUESDAY]
    assert await _audited(app, f"nurse:{clinic.siti_id}:leave_removed") == 1


async def test_leave_input_is_checked_and_nothing_is_written(
    app: HomecareApp, client: Any, clinic: Clinic, http: httpx.AsyncClient
) -> None:
    csrf = await _head(app, clinic, http, "id")
    url = f"/staf/{clinic.siti_id}/cuti"
    for data, status, key in (
        ({"dari": "besok"}, 400, "staffweb.bad_date"),
        ({"dari": "2027-04-20", "sampai": "2027-04-15"}, 409, "head.staff_error.leave_span"),
        ({"dari": "2027-04-01"}, 409, "head.staff_error.leave_day_range"),
        ({"dari": "2027-04-20", "jenis": "holiday"}, 409, "head.staff_error.unknown_leave_kind"),
    ):
        answer = await http.post(url, data={"csrf": csrf, **data})
        assert answer.status_code == status, data
        assert t("id", key) in answer.text
    # Without the token: refused before anything happens.
    assert (await http.post(url, data={"dari": "2027-04-20"})).status_code == 403
    assert (
        await http.post(f"/staf/{clinic.siti_id}/aktif", data={"jadi": "0", "sure": "yes"})
    ).status_code == 403
    async with app.db.read() as s:
        assert not list(await s.scalars(select(NurseLeave)))
        siti = await s.get(Nurse, clinic.siti_id)
    assert siti is not None and siti.active


async def test_another_clinics_nurse_is_403(
    app: HomecareApp, client: Any, clinic: Clinic, http: httpx.AsyncClient
) -> None:
    async with app.db.transaction() as s:
        other = ClinicRow(code="other", name="Puskesmas Lain", timezone="Asia/Makassar")
        s.add(other)
        await s.flush()
        nurse = Nurse(clinic_id=other.id, name="Perawat Lain", skills=[], daily_cap=6, active=True)
        s.add(nurse)
        await s.flush()
        leave = NurseLeave(nurse_id=nurse.id, day=TUESDAY + timedelta(days=2), kind="leave")
        s.add(leave)
        await s.flush()
    csrf = await _head(app, clinic, http, "id")
    for url, data in (
        (f"/staf/{nurse.id}/cuti", {"dari": "2027-04-20"}),
        (f"/staf/{nurse.id}/aktif", {"jadi": "0"}),
        (f"/staf/{nurse.id}/aktif", {"jadi": "0", "sure": "yes"}),
        (f"/staf/cuti/{leave.id}/hapus", {}),
        (f"/staf/cuti/{leave.id}/setuju", {}),
        (f"/staf/{nurse.id}/cap", {"delta": "+1"}),
    ):
        answer = await http.post(url, data={"csrf": csrf, **data})
        assert answer.status_code == 403, url
        assert "Perawat Lain" not in answer.text
    async with app.db.read() as s:
        still = await s.get(Nurse, nurse.id)
        kept = await s.get(NurseLeave, leave.id)
    assert still is not None and still.active and kept is not None and not kept.approved


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_deactivating_resets_her_menu_and_ends_her_console_session(
    app: HomecareApp, client: Any, clinic: Clinic, http: httpx.AsyncClient, lang: str
) -> None:
    await _languages(app, lang)
    async with httpx.AsyncClient(base_url=base_url(app), follow_redirects=False) as siti:
        await _signed_in(
            siti, await login_link(clinic.siti.user, "/konsol" if lang == "id" else "/console")
        )
        assert (await siti.get("/rute")).status_code == 200
        csrf = await _head(app, clinic, http, lang)
        # First the confirm page; nothing changes yet.
        ask = await http.post(f"/staf/{clinic.siti_id}/aktif", data={"csrf": csrf, "jadi": "0"})
        assert ask.status_code == 200
        assert t(lang, "staffweb.confirm_deactivate", name="Siti Rahmawati") in ask.text
        assert (await siti.get("/rute")).status_code == 200
        done = await http.post(
            f"/staf/{clinic.siti_id}/aktif", data={"csrf": csrf, "jadi": "0", "sure": "yes"}
        )
        assert done.status_code == 303
        assert (await siti.get("/rute")).status_code == 401
    told = await wait_for(clinic.siti.user, "Kassi-Kassi", most=10)
    assert told.text == t(lang, "head.nurse_note_deactivated", clinic="Puskesmas Kassi-Kassi")
    async with app.db.read() as s:
        menus = list(
            await s.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.template == "staff.menu",
                    OutboxMessage.chat_id == clinic.siti.user.id,
                )
            )
        )
        sessions = list(
            await s.scalars(
                select(ConsoleSession).where(ConsoleSession.account_id == clinic.siti.account_id)
            )
        )
    assert len(menus) == 1 and menus[0].kind == "menu"
    assert sessions and all(x.ended_at is not None for x in sessions)
    menu = await _menu_without(client, clinic.siti.user.id, "jadwal")
    assert "jadwal" not in menu
    assert await _audited(app, f"nurse:{clinic.siti_id}:deactivated") == 1

    # Activated again (confirm page first): her menu comes back, the old session stays ended.
    back = await http.post(
        f"/staf/{clinic.siti_id}/aktif", data={"csrf": csrf, "jadi": "1", "sure": "yes"}
    )
    assert back.status_code == 303
    assert "jadwal" in await _menu_with(client, clinic.siti.user.id, "jadwal")
    async with app.db.read() as s:
        n = await s.get(Nurse, clinic.siti_id)
    assert n is not None and n.active


async def _menu_of(client: Any, chat_id: int) -> set[str]:
    return {c["command"] for c in (await client.chat(chat_id))["commands"]}


async def _menu_without(client: Any, chat_id: int, command: str) -> set[str]:
    for _ in range(200):
        menu = await _menu_of(client, chat_id)
        if menu and command not in menu:
            return menu
        await asyncio.sleep(0.05)
    return await _menu_of(client, chat_id)


async def _menu_with(client: Any, chat_id: int, command: str) -> set[str]:
    for _ in range(200):
        menu = await _menu_of(client, chat_id)
        if command in menu:
            return menu
        await asyncio.sleep(0.05)
    return menu


def _ids(html: str) -> set[int]:
    import re

    return {int(x) for x in re.findall(r'<tr data-visit="(\d+)"', html)}


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_log_text_search_and_its_download(
    app: HomecareApp, client: Any, clinic: Clinic, http: httpx.AsyncClient, lang: str
) -> None:
    await _languages(app, lang)
    await _head(app, clinic, http, lang)
    async with app.db.read() as s:
        first = await s.get(Visit, clinic.visits[0])  # Ani Lestari's
    assert first is not None
    day = {"dari": TUESDAY.isoformat(), "sampai": TUESDAY.isoformat()}

    async def found(q: str) -> set[int]:
        answer = await http.get("/kunjungan", params={**day, "q": q})
        assert answer.status_code == 200, q
        return _ids(answer.text)

    assert await found("") == set(clinic.visits)
    # By code as shown, typed in lower case, and without its dash.
    shown = visit_code(first.code)
    assert await found(shown.lower()) == {first.id}
    assert await found(first.code[:4]) >= {first.id}
    # By a part of the patient's name, any case; by address and kelurahan.
    assert await found("ANI les") == {first.id}
    assert await found("Jl. Contoh No. 3") == {clinic.visits[2]}
    assert await found("kassi") == set(clinic.visits)
    # LIKE wildcards are the person's text, not patterns.
    assert await found("%") == set()
    assert await found("_") == set()
    assert await found("zzz") == set()
    too_long = await http.get("/kunjungan", params={**day, "q": "x" * 101})
    assert too_long.status_code == 400
    assert t(lang, "staffweb.search_too_long") in too_long.text

    # The download holds the matches only, and the audit row names the text.
    got = await http.get("/kunjungan/unduh", params={**day, "q": "ani les", "format": "csv"})
    assert got.status_code == 200
    with zipfile.ZipFile(io.BytesIO(got.content)) as z:
        [name] = [n for n in z.namelist() if "visits" in n]
        rows = list(csv.DictReader(io.StringIO(z.read(name).decode("utf-8-sig"))))
    assert [int(r["visit_id"]) for r in rows] == [first.id]
    async with app.db.read() as s:
        [row] = list(await s.scalars(select(AuditEntry).where(AuditEntry.action == "export")))
    assert row.subject.endswith(";q=ani les")
    refused = await http.get("/kunjungan/unduh", params={**day, "q": "x" * 101, "format": "csv"})
    assert refused.status_code == 400
