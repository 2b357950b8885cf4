"""How many actions a family needs (issue 10 "fewer steps"): the happy path from /start to a
sent request for a new family, and a repeat request, through the sandbox. Fails above 12 and 5.

An action is what the person does: a message typed, a button pressed, a contact or location
shared. Each step's question is read from the chat, never assumed, so a longer conversation
fails here.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.app import HomecareApp
from bot.i18n import t
from db.models import Visit
from sandbox.client import BotMessage, SandboxUser
from tests.patient.helpers import NIK_1950_MALE, last, user
from tests.patient.story_helpers import no_failures, rows

NEW_FAMILY_MAX = 12
REPEAT_MAX = 5


class Person:
    """A sandbox user whose every action is counted."""

    def __init__(self, u: SandboxUser) -> None:
        self.u = u
        self.actions = 0

    async def send(self, text: str) -> BotMessage:
        self.actions += 1
        await self.u.send(text)
        return await last(self.u)

    async def press(self, text: str) -> BotMessage:
        self.actions += 1
        await self.u.press(text)
        return await last(self.u)

    async def share(self, label: str, **location: float) -> None:
        """A contact or location shared; the caller reads the reply (one or more messages)."""
        self.actions += 1
        await self.u.press_reply(label, **location)


async def _request(p: Person, language: str, service: str) -> BotMessage:
    """From the service question to the "request received" message."""
    danger = await p.press(service)
    assert danger.button_texts[1] == t(language, "patient.book.danger_none")
    await p.press(t(language, "patient.book.danger_none"))  # → the complaint question
    days = await p.send("Luka di kaki belum kering")
    earliest = days.button_texts[0]
    assert earliest.startswith("⚡")
    summary = await p.press(earliest)
    return await p.press(summary.button_texts[0])


@pytest.mark.parametrize("language", ["id", "en"])
async def test_a_new_family_books_in_at_most_12_actions_and_a_repeat_in_5(
    app: HomecareApp, client: Any, language: str
) -> None:
    p = Person(await user(client, "nai", language))
    await p.send("/start")
    name_question = await p.press(t(language, "patient.consent.agree_me"))
    assert name_question.plain_text == t(language, "patient.reg.name_self")
    phone = await p.send("Daeng Nai")
    await p.share(phone.reply_buttons[0].text)
    assert (await last(p.u)).plain_text.startswith(t(language, "patient.reg.nik")[:3])
    address = await p.send(NIK_1950_MALE)
    assert address.plain_text.startswith(t(language, "patient.reg.address").split("\n")[0])
    location = await p.send("Jl. Tamalate I No. 12, RT 3/5, Karunrung, depan masjid")
    await p.share(location.reply_buttons[0].text, latitude=-5.1601, longitude=119.4480)
    saved, services = await p.u.wait_messages(2)
    assert saved.plain_text.startswith(
        t(language, "patient.reg.saved", who=t(language, "patient.you"))
    )
    service = services.button_texts[0]
    booked = await _request(p, language, service)
    assert "✅" in booked.plain_text.split("\n")[0]
    assert p.actions <= NEW_FAMILY_MAX, f"a new family needed {p.actions} actions"
    new_family = p.actions

    # A repeat: the same service and complaint again, the safety question, the earliest slot.
    p.actions = 0
    services = await p.send("/minta_kunjungan")
    again = services.button_texts[0]
    assert again == t(language, "patient.book.again", service=service)
    await p.press(again)  # → the safety question
    days = await p.press(t(language, "patient.book.danger_none"))
    summary = await p.press(days.button_texts[0])
    assert "Luka di kaki belum kering" in summary.plain_text  # the complaint came along
    booked_again = await p.press(summary.button_texts[0])
    assert booked_again.plain_text.split("\n")[0] == booked.plain_text.split("\n")[0]
    assert p.actions <= REPEAT_MAX, f"a repeat request needed {p.actions} actions"

    visits = await rows(app, Visit)
    assert len(visits) == 2 and visits[0].day != visits[1].day
    print(f"actions: new family {new_family}, repeat {p.actions}")
    await no_failures(app)
