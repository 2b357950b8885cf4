"""Random text, media and callback data at each step of the booking conversation.

For every input: no unhandled exception (no failed inbox row, no `common.error` reply) and the
bot reacts (a reply, or an answer to the button); the database is unchanged unless the step
accepts the input — which, for the generated inputs, only a complaint of acceptable length, a
genuine button of the step, or "cancel" do. After an accepted input the conversation is driven
back to the step under test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from bot.app import HomecareApp
from bot.i18n import t
from scheduler.identity import InvalidInput, validate_free_text
from tests.patient.helpers import failed_updates, last, register_family_member, user

STEPS = ("patient", "service", "danger", "complaint", "day", "window", "confirm")
# What a step's own buttons do; any other action with the right nonce must be refused.
VALID_ACTIONS = {
    "patient": {"p", "add"},
    "service": {"s", "again"},
    "danger": {"y", "n"},
    "complaint": set(),
    "day": {"d", "f"},
    "window": {"w"},
    "confirm": {"go"},
}
SNAPSHOT_TABLES = (
    "patients",
    "patient_links",
    "consents",
    "visits",
    "visit_status_history",
    "emergency_referrals",
    "feedback",
    "day_capacity",
    "conversations",
    "reminders",
    "staff_tasks",
    "account_roles",
)
ERROR_TEXT = t("id", "common.error", phone="").split(".")[0]


@dataclass(frozen=True)
class Input:
    kind: str  # text | photo | sticker | voice | document | location | contact | press | button
    value: str = ""


async def snapshot(hc: HomecareApp) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    async with hc.db.read() as session:
        for table in SNAPSHOT_TABLES:
            out[table] = sorted(
                (
                    tuple(map(str, row))
                    for row in await session.execute(text(f"SELECT * FROM {table}"))
                ),
            )
        out["accounts"] = sorted(
            tuple(map(str, row))
            for row in await session.execute(
                text("SELECT id, language, language_chosen, deleted_at FROM accounts")
            )
        )
    return out


class Driver:
    """One caregiver with two patients, walked to any step of the booking conversation."""

    def __init__(self, app: HomecareApp, client: Any) -> None:
        self.app = app
        self.client = client
        self.u: Any = None
        self.at: str | None = None
        self.prompt: Any = None

    async def ready(self) -> None:
        if self.u is not None:
            return
        self.u = await user(self.client, "fuzzy")
        await self.u.send("/pasien")
        await last(self.u)
        await self.u.press("✅ Setuju — untuk keluarga saya")
        await last(self.u)
        await register_family_member(self.u, "Ibu saya", "Siti Aminah", first=False)
        await self.u.send("/pasien")
        await last(self.u)
        await self.u.press("➕ Tambah pasien")
        await last(self.u)
        await register_family_member(self.u, "Bapak", "Andi Baso", first=False)

    async def goto(self, step: str) -> None:
        await self.ready()
        u = self.u
        await u.send("/minta_kunjungan")
        message = await last(u)
        path = STEPS[: STEPS.index(step)]
        for done in path:
            if done == "patient":
                await u.press("Ibu Anda (Siti Aminah)", message_id=message.message_id)
            elif done == "service":
                await u.press("Perawatan luka", message_id=message.message_id)
            elif done == "danger":
                await u.press("Tidak ada", message_id=message.message_id)
            elif done == "complaint":
                await u.send("Luka di kaki")
            elif done == "day":  # a day (the first button is the earliest day and window)
                await u.press(message.buttons[1].text, message_id=message.message_id)
            elif done == "window":
                await u.press(message.buttons[0].text, message_id=message.message_id)
            message = await last(u)
        self.at, self.prompt = step, message

    @property
    def nonce(self) -> str:
        return (self.prompt.buttons[0].callback_data or "").split(":")[1]


def inputs_for(step: str, nonce: str, genuine: list[str]) -> st.SearchStrategy[Input]:
    printable = st.text(
        alphabet=st.characters(exclude_categories=["Cs"]), min_size=1, max_size=80
    ).filter(lambda s: bool(s.strip()) and not s.startswith("/"))
    long_text = st.builds(lambda ch, n: ch * n, st.sampled_from("xyzé😀 "), st.integers(501, 4000))
    texts = st.one_of(printable, long_text.filter(lambda s: bool(s.strip()))).map(
        lambda s: Input("text", s)
    )
    media = st.sampled_from(["photo", "sticker", "voice", "document", "location", "contact"]).map(
        Input
    )
    wrong_actions = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8).filter(
        lambda a: a not in VALID_ACTIONS[step] and a != "q"
    )
    args = st.lists(st.text(alphabet="0123456789x-:", max_size=9), max_size=2)
    forged_step = st.builds(
        lambda action, a: ":".join(["pc", nonce, action, *a]), wrong_actions, args
    )
    other_nonce = st.builds(
        lambda n, action: f"pc:{n}:{action}",
        st.text(alphabet="abcdefXYZ0123", min_size=6, max_size=6).filter(lambda n: n != nonce),
        st.sampled_from(["s:0", "n", "y", "go", "d:20261110", "w:0", "p:1", "q"]),
    )
    garbage = st.text(min_size=1, max_size=30).filter(
        lambda s: len(s.encode()) <= 64 and not s.startswith("lang:")
    )
    prefixed = st.builds(
        lambda prefix, tail: f"{prefix}:{tail}",
        st.sampled_from(["pf", "pn", "pc"]),
        st.text(alphabet="0123456789:abc", max_size=20),
    ).filter(lambda s: len(s.encode()) <= 64 and not _genuine_book_now(s))
    presses = st.one_of(forged_step, other_nonce, garbage, prefixed).map(
        lambda d: Input("press", d)
    )
    choices: list[st.SearchStrategy[Input]] = [texts, media, presses]
    if genuine:
        choices.append(st.sampled_from(genuine).map(lambda d: Input("button", d)))
    return st.one_of(*choices)


def _genuine_book_now(data: str) -> bool:
    # "pn:<own patient id>" really starts a booking; the driver's patients have small ids.
    parts = data.split(":")
    return parts[0] == "pn" and len(parts) == 2 and parts[1].isdigit() and int(parts[1]) < 1000


def accepted(step: str, item: Input) -> bool:
    if item.kind == "button":
        return True
    if item.kind == "text" and step == "complaint":
        try:
            validate_free_text(item.value, max_len=500, min_len=3)
        except InvalidInput:
            return False
        return True
    return False


async def send(d: Driver, item: Input) -> str:
    """Send one input and wait for the bot's reaction; returns its text."""
    u = d.u
    if item.kind in ("press", "button"):
        press = await u.press_forged(item.value, message_id=d.prompt.message_id)
        answer = await u.callback_answer(press)
        assert answer is not None, f"no answer to the button {item.value!r}"
        if item.kind == "button":
            # A genuine button moves on (or ends the flow): read what it sent.
            return (answer.text or "") + (await last(u)).plain_text
        return answer.text or ""
    if item.kind == "text":
        await u.send(item.value)
    elif item.kind == "photo":
        await u.send_photo()
    elif item.kind == "sticker":
        await u.send_sticker()
    elif item.kind == "voice":
        await u.send_voice()
    elif item.kind == "document":
        await u.send_document()
    elif item.kind == "location":
        await u.share_location(-5.15, 119.44)
    else:
        await u.share_contact()
    return (await last(u)).plain_text


@pytest.fixture
async def driver(app: HomecareApp, client: Any) -> Driver:
    return Driver(app, client)


@pytest.mark.parametrize("step", STEPS)
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_random_input_at_each_booking_step(
    app: HomecareApp, driver: Driver, step: str, data: Any
) -> None:
    if driver.at != step:
        await driver.goto(step)
    genuine = [
        b.callback_data
        for b in driver.prompt.buttons
        if b.callback_data and not b.callback_data.endswith(":add")
    ]
    items = data.draw(st.lists(inputs_for(step, driver.nonce, genuine), min_size=1, max_size=3))
    for item in items:
        before = await snapshot(app)
        reaction = await send(driver, item)
        assert await failed_updates(app) == []
        assert ERROR_TEXT not in reaction
        after = await snapshot(app)
        if accepted(step, item):
            assert after != before, f"{item} was accepted but nothing changed"
            await driver.goto(step)
            break  # the rest of the drawn inputs were meant for the old message
        else:
            assert after == before, f"{item} changed the database at step {step}"
            assert reaction, f"{item} got a silent reaction"
