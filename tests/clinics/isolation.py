"""Two clinics with data, and what every role of clinic A can reach: each command (with B's
ids and codes as arguments too), each button (and each button forged with B's ids), each console
route (enumerated from the Starlette app, path parameters filled with A's and B's ids).

Clinic B's records carry names no A record has ("Zubaidah", "Xaverius", "Zamrud"…): any of them
in a reply, a callback answer, a sent file, a page or a download is a leak.
"""

from __future__ import annotations

import asyncio
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from starlette.routing import Mount, Route

from bot.app import HomecareApp
from bot.commands import menu_for
from db.models import (
    Account,
    AccountRole,
    InboxUpdate,
    Nurse,
    NurseLeave,
    OutboxMessage,
    Patient,
    PatientLink,
    StaffTask,
)
from sandbox.views import SandboxError
from scheduler.formats import visit_code
from tests.clinics.conftest import BARA
from tests.head import factory
from tests.nurse.helpers import MONDAY, TUESDAY, near

B_CODES = ("QZX7W2", "QZX8W3", "QZX9W4")
# What the walk types to look for B's records (B's second visit's code, its patient's first
# name): echoed back it is no leak; what they find would be (names, addresses, the other codes).
PROBE_CODE = B_CODES[1]
PROBE_NAME = "Qais"
B_WORDS = (
    "Zubaidah",
    "Qomariah",
    "Zulkarnain",
    "Xaverius",
    "Qodratullah",
    "Zulfikar",
    "Yusrina",
    "Zamrud",
    "+6281299990",
)


@dataclass
class ClinicB:
    clinic_id: int
    head_account: int
    nurse_id: int
    nurse_account: int
    patients: list[int] = field(default_factory=list)
    visits: list[int] = field(default_factory=list)
    leave_id: int = 0

    @property
    def markers(self) -> tuple[str, ...]:
        codes = [c for c in B_CODES if c != PROBE_CODE]
        return (*B_WORDS, *codes, *(visit_code(c) for c in codes))


async def seed_clinic_b(app: HomecareApp) -> ClinicB:
    """Head Zulfikar, nurse Xaverius Qodratullah, caregiver Yusrina with two patients; a visit
    done on Monday (with a note), two requested for Tuesday (planned tonight), a leave, a task."""
    cid = app.clinics.id_of(BARA.code)
    skills = sorted({s for svc in app.config.services for s in svc.skills})
    async with app.db.transaction() as s:
        head = await factory.account(s, 992_001, "Zulfikar", ("head",), cid)
        nurse_acc = await factory.account(s, 992_002, "Xaverius", ("nurse",), cid)
        family = await factory.account(s, 992_003, "Yusrina", ("caregiver",), cid)
        nurse = Nurse(
            clinic_id=cid,
            account_id=nurse_acc.id,
            name="Xaverius Qodratullah",
            skills=skills,
            daily_cap=8,
            shift_start=time(7, 30),
            shift_end=time(12),
            active=True,
        )
        s.add(nurse)
        await s.flush()
        b = ClinicB(cid, head.id, nurse.id, nurse_acc.id)
        for i, name in enumerate(("Zubaidah Qomariah", "Qais Zulkarnain")):
            p = Patient(
                clinic_id=cid,
                full_name=name,
                birth_date=date(1951, 2, 3 + i),
                phone=f"+6281299990{i:03d}",
                address=f"Jl. Quasar Zamrud No. {88 + i}",
                kelurahan="Maricaya",
                rt_rw="004/005",
                landmark="dekat menara Zamrud",
                lat=near(-2500 + 200 * i, -2000)[0],
                lon=near(-2500 + 200 * i, -2000)[1],
            )
            s.add(p)
            await s.flush()
            s.add(PatientLink(account_id=family.id, patient_id=p.id, relation="caregiver"))
            b.patients.append(p.id)
        pats = [await s.get(Patient, pid) for pid in b.patients]
        done = await factory.visit(
            s,
            cid,
            pats[0],
            MONDAY,
            "completed",
            who=nurse,
            note="Catatan Zamrud: luka membaik",
            vitals={"systolic": 131, "diastolic": 87},
        )
        done.code = B_CODES[0]
        for i, p in enumerate(pats):
            v = await factory.visit(s, cid, p, TUESDAY, "requested", window=(8, 10))
            v.code = B_CODES[1 + i]
            v.complaint = "Keluhan Zamrud"
            b.visits.append(v.id)
        b.visits.insert(0, done.id)
        leave = NurseLeave(nurse_id=nurse.id, day=TUESDAY + timedelta(days=7), kind="leave")
        s.add(leave)
        s.add(
            StaffTask(clinic_id=cid, kind="unreachable", patient_id=b.patients[0], detail="Zamrud")
        )
        await s.flush()
        b.leave_id = leave.id
    return b


# --- the bot -------------------------------------------------------------------------------------


async def settle(app: HomecareApp, client: Any, chat_id: int, seq: int) -> int:
    """Wait until every update is handled, nothing is queued for the chat, and the chat has been
    quiet a moment; returns the chat's last event number."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20.0
    while loop.time() < deadline:
        async with app.db.read() as s:
            busy = await s.scalar(
                select(func.count())
                .select_from(InboxUpdate)
                .where(InboxUpdate.status.not_in(["done", "failed"]))
            )
            queued = await s.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(
                    OutboxMessage.chat_id == chat_id,
                    OutboxMessage.status.in_(["pending", "sending"]),
                )
            )
        if not busy and not queued:
            got = await client.events(chat_id, after=seq, timeout=0.25)
            if not got["events"]:
                return int(got["last_seq"])
            seq = int(got["last_seq"])
            continue
        await asyncio.sleep(0.05)
    raise AssertionError("the bot did not settle within 20 s")


def forged_variants(data: str, b: ClinicB) -> list[str]:
    """The button's data with each number replaced by each of B's record ids."""
    parts = data.split(":")
    ids = {*b.visits, *b.patients, b.nurse_id, b.leave_id, b.head_account, b.nurse_account}
    out = []
    for i, part in enumerate(parts):
        if part.isdigit():
            out += [":".join([*parts[:i], str(x), *parts[i + 1 :]]) for x in sorted(ids)]
    return out


async def exercise_bot_role(
    app: HomecareApp, client: Any, user: Any, roles: frozenset[str], b: ClinicB
) -> int:
    """Every command of the role's menu (plain and with B's codes/ids/names as argument), every
    callback button of every reply (pressed, then forged with B's ids). Returns how many
    updates were sent."""
    chat = user.id
    seq = await settle(app, client, chat, 0)
    sent = 0
    # Typed probes are echoed in some answers ("not found: …"): they are B's, but not markers.
    args = ["", f" {visit_code(PROBE_CODE)}", f" {b.visits[1]}", f" {PROBE_NAME}"]
    pressed: set[str] = set()
    for command in [c.name for c in menu_for(roles)]:
        for arg in args:
            before = {m.message_id for m in await user.messages()}
            await user.send(f"/{command}{arg}")
            sent += 1
            seq = await settle(app, client, chat, seq)
            if arg:
                continue
            fresh = [m for m in await user.messages() if m.message_id not in before]
            for message in fresh:
                for button in message.buttons:
                    data = button.callback_data
                    if data is None or data in pressed:
                        continue
                    pressed.add(data)
                    try:
                        await user.press(data=data, message_id=message.message_id)
                    except SandboxError:  # an earlier press took this keyboard away
                        await user.press_forged(data, message_id=message.message_id)
                    sent += 1
                    seq = await settle(app, client, chat, seq)
                    for forged in forged_variants(data, b):
                        await user.press_forged(forged, message_id=message.message_id)
                        sent += 1
                    seq = await settle(app, client, chat, seq)
        await user.send("/batal")  # leave any flow the command opened
        seq = await settle(app, client, chat, seq)
    return sent


def _zip_text(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return "\n".join(
            z.read(n).decode("utf-8", "replace")
            + (_zip_text(z.read(n)) if n.endswith(".zip") else "")
            for n in z.namelist()
        )


def readable(data: bytes) -> str:
    """Text of a reply, page or file as a person could read it (XLSX and ZIP unpacked)."""
    if data[:2] == b"PK":
        return _zip_text(data)
    return data.decode("utf-8", "replace")


async def everything_seen_in_chat(client: Any, user: Any) -> list[str]:
    seen: list[str] = []
    for m in await user.messages():
        seen += [m.plain_text, m.text or "", m.caption or ""]
        seen += [v.plain_text for v in m.edit_history]
        seen += [bt.text for bt in m.buttons]
        if m.media is not None:
            seen.append(readable(await client.file_bytes(m.media)))
    seen += [a.text or "" for a in await client.callback_answers(user.id)]
    return seen


def leaks(texts: list[str], markers: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(mk, t[:200]) for t in texts for mk in markers if mk.casefold() in t.casefold()]


# --- the console ---------------------------------------------------------------------------------

LINK = re.compile(r"https?://\S+/masuk\?t=[\w\-%]+")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def console_session(http: httpx.AsyncClient, user: Any) -> str:
    """Sign in with a /konsol link; returns the CSRF token of the session."""
    before = {m.message_id for m in await user.messages()}
    await user.send("/konsol")
    for _ in range(100):
        fresh = [m for m in await user.messages() if m.message_id not in before]
        found = [LINK.search(m.plain_text) for m in fresh]
        if any(found):
            break
        await asyncio.sleep(0.1)
    links = [f.group(0) for f in found if f]
    assert links, [m.plain_text for m in fresh]
    link = links[0]
    token = link.split("t=", 1)[1]
    got = await http.get(f"/masuk?t={token}")
    form = CSRF.search(got.text)
    posted = await http.post("/masuk", data={"t": token, "csrf": form.group(1) if form else ""})
    assert posted.status_code == 303, (posted.status_code, posted.text[:300])
    page = await http.get("/papan")
    if page.status_code != 200:
        page = await http.get("/rute")
    match = CSRF.search(page.text)
    assert match, page.text[:300]
    return match.group(1)


@dataclass(frozen=True)
class Ids:
    visit_id: int
    nurse_id: int
    leave_id: int
    code: str


# Values for every path parameter a console route may have; a new parameter name must be added
# here (the test fails on an unknown one, so a new page cannot slip past unchecked).
OTHER_PARAMS = {"action": ("go", "arr", "done", "nh"), "what": ("skill", "cap", "setuju", "hapus")}


def paths_of(route: Route, ids: Ids) -> list[str]:
    path = route.path
    names = list(route.param_convertors)
    filled = [path]
    for name in names:
        if hasattr(ids, name):
            values: tuple[str, ...] = (str(getattr(ids, name)),)
        elif name in OTHER_PARAMS:
            values = OTHER_PARAMS[name]
        else:
            raise AssertionError(f"console route {path}: no test value for {{{name}}}")
        filled = [p.replace("{" + name + "}", v) for p in filled for v in values]
    return filled


QUERIES = (
    "",
    f"?q={PROBE_NAME}",
    f"?q={PROBE_CODE}",
    "?format=csv",
    "?format=xlsx",
    "?format=fhir",
    "?perawat={nurse}",
    "?dari=2027-04-01&sampai=2027-04-20",
    "?hari=2027-04-13",
    "?p=w",
)


def console_routes(app: HomecareApp) -> list[Route]:
    from bot.web.app import create_web_app

    web = create_web_app(app)
    routes = [r for r in web.routes if isinstance(r, Route)]
    assert all(isinstance(r, Route | Mount) for r in web.routes)
    return routes


async def exercise_console(
    app: HomecareApp, http: httpx.AsyncClient, csrf: str, mine: Ids, theirs: Ids, b: ClinicB
) -> tuple[list[tuple[str, str, int]], list[str]]:
    """GET (with each query) and POST every route with A's and B's ids. Returns (requests with
    B's ids that were not refused, every body read)."""
    not_refused: list[tuple[str, str, int]] = []
    bodies: list[str] = []
    signout: list[str] = []
    for route in console_routes(app):
        if "/telegram/" in route.path:
            continue  # the webhook: Telegram's, no session
        for ids in (mine, theirs):
            for path in paths_of(route, ids):
                methods = sorted((route.methods or {"GET"}) - {"HEAD"})
                for method in methods:
                    if path == "/keluar":
                        signout.append(path)
                        continue
                    if method == "GET":
                        queries = [q.format(nurse=ids.nurse_id) for q in QUERIES]
                        responses = [await http.get(path + q) for q in queries]
                    else:
                        form = {
                            "csrf": csrf,
                            "perawat": str(ids.nurse_id),
                            "hari": "2027-04-14",
                            "dari": "2027-04-20",
                            "sampai": "2027-04-20",
                            "skill": "wound",
                            "delta": "+1",
                            "jadi": "0",
                            "sure": "yes",
                        }
                        responses = [await http.post(path, data=form)]
                    for r in responses:
                        bodies.append(readable(r.content))
                        if r.headers.get("location"):
                            follow = await http.get(r.headers["location"])
                            bodies.append(readable(follow.content))
                        uses_ids = path != route.path
                        if ids is theirs and uses_ids and r.status_code not in (400, 403, 404):
                            not_refused.append((method, str(r.request.url), r.status_code))
    for path in signout:
        bodies.append((await http.post(path, data={"csrf": csrf})).text)
    return not_refused, bodies


async def a_ids(app: HomecareApp, nurse_id: int, visit_id: int) -> Ids:
    async with app.db.transaction() as s:
        leave = NurseLeave(nurse_id=nurse_id, day=TUESDAY + timedelta(days=8), kind="leave")
        s.add(leave)
        await s.flush()
        return Ids(visit_id, nurse_id, leave.id, app.config.clinic.code)


async def role_of(app: HomecareApp, account_id: int) -> frozenset[str]:
    async with app.db.read() as s:
        rows = await s.scalars(select(AccountRole.role).where(AccountRole.account_id == account_id))
        return frozenset(rows)


async def set_language(app: HomecareApp, account_ids: list[int], language: str) -> None:
    async with app.db.transaction() as s:
        for account_id in account_ids:
            account = await s.get(Account, account_id)
            assert account is not None
            account.language, account.language_chosen = language, True
