"""The terminal chat client: input parsing, rendering, and a scripted session (no TTY)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from sandbox.chat import ChatCommand, ChatView, parse_input, render_message, run_chat
from sandbox.client import BotMessage
from sandbox.media import sample_png
from sandbox.server import SandboxServer


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("halo", ChatCommand("text", text="halo")),
        ("  /start abc  ", ChatCommand("text", text="/start abc")),
        ("", ChatCommand("empty")),
        (":1", ChatCommand("press", index=1)),
        ("!12", ChatCommand("press", index=12)),
        (":r 2", ChatCommand("press_reply", index=2)),
        (":r Kirim nomor", ChatCommand("press_reply", text="Kirim nomor")),
        (":contact", ChatCommand("contact")),
        (":contact +6281234", ChatCommand("contact", text="+6281234")),
        (":location -5.14 119.43", ChatCommand("location", latitude=-5.14, longitude=119.43)),
        (":loc -5.14, 119.43", ChatCommand("location", latitude=-5.14, longitude=119.43)),
        (":photo luka kaki", ChatCommand("photo", text="luka kaki")),
        (":data admin:1", ChatCommand("forged", text="admin:1")),
        (":help", ChatCommand("help")),
        (":QUIT", ChatCommand("quit")),
        ("::) senyum", ChatCommand("text", text=":) senyum")),
    ],
)
def test_parse_input(line: str, expected: ChatCommand) -> None:
    assert parse_input(line) == expected


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (":location here", "usage: :location"),
        (":location 100 10", "latitude must be"),
        (":r", "which reply button"),
        (":dance", "unknown command ':dance'"),
        (":data", "usage: :data"),
    ],
)
def test_parse_input_errors_explain(line: str, message: str) -> None:
    command = parse_input(line)
    assert command.kind == "error" and message in command.text


def view(**fields: Any) -> BotMessage:
    base: dict[str, Any] = {
        "chat_id": 1,
        "message_id": 5,
        "date": 0,
        "kind": "text",
        "text": "<b>Halo</b>",
        "plain_text": "Halo\nSiti",
        "inline_keyboard": [],
    }
    return BotMessage.from_view({**base, **fields})


def test_render_text_with_numbered_buttons_and_keyboard() -> None:
    message = view(
        inline_keyboard=[
            [
                {"text": "Ya", "callback_data": "y", "url": None},
                {"text": "Tidak", "callback_data": "n", "url": None},
            ],
            [{"text": "Peta", "callback_data": None, "url": "https://m.org"}],
        ],
        reply_keyboard=[
            [{"text": "Kirim nomor", "request_contact": True, "request_location": False}],
            [{"text": "Batal", "request_contact": False, "request_location": False}],
        ],
    )
    assert render_message(message) == (
        "bot: Halo\n"
        "     Siti\n"
        "     [1] Ya   [2] Tidak\n"
        "     [3] Peta -> https://m.org\n"
        "     keyboard (use :r N):\n"
        "     (r1) Kirim nomor (shares your phone number)\n"
        "     (r2) Batal"
    )


def test_render_media_location_and_edits() -> None:
    photo = view(
        kind="photo",
        text=None,
        caption="rute",
        plain_text="rute",
        photo={
            "file_id": "f",
            "file_unique_id": "u",
            "kind": "photo",
            "file_size": 1234,
            "file_path": "photos/file_1.jpg",
        },
    )
    assert render_message(photo, saved_to="/tmp/x.jpg") == (
        "bot: [photo: 1234 bytes, saved to /tmp/x.jpg]\n     rute"
    )
    location = view(kind="location", plain_text="", location={"latitude": 1.5, "longitude": 2})
    assert render_message(location, edited=True) == "bot (edited): [location: 1.5, 2]"
    assert "(keyboard closed)" in render_message(view(remove_keyboard=True))


def test_chat_view_tracks_keyboard_and_latest_buttons() -> None:
    screen = ChatView()
    buttons = [[{"text": "A", "callback_data": "a", "url": None}]]
    keyboard = [[{"text": "K", "request_contact": False, "request_location": False}]]
    screen.apply(view(message_id=1, inline_keyboard=buttons, reply_keyboard=keyboard))
    screen.apply(view(message_id=2))
    latest = screen.latest_with_buttons()
    assert latest is not None and latest.message_id == 1
    assert screen.reply_keyboard == ["K"]
    screen.apply(view(message_id=1, deleted=True, inline_keyboard=buttons))
    assert screen.latest_with_buttons() is None
    screen.apply(view(message_id=3, remove_keyboard=True))
    assert screen.reply_keyboard == []


class Screen:
    """Collects the chat's output; tests wait for text to appear (no sleeping)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._changed = asyncio.Event()

    def write(self, text: str) -> None:
        self.lines.append(text)
        self._changed.set()

    async def wait_for(self, needle: str) -> str:
        async def scan() -> str:
            while True:
                for line in self.lines:
                    if needle in line:
                        return line
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(scan(), 10)


async def test_scripted_chat_session(server: SandboxServer, bot: Bot, tmp_path: Path) -> None:
    screen = Screen()
    inbox: asyncio.Queue[str] = asyncio.Queue()

    async def typed() -> AsyncIterator[str]:
        while (line := await inbox.get()) != "EOF":
            yield line

    chat = asyncio.create_task(
        run_chat(server.url, "siti", lines=typed(), write=screen.write, media_dir=tmp_path)
    )
    await screen.wait_for("Chatting as Siti")
    await inbox.put("/start")
    [update] = await bot.get_updates(timeout=10)
    assert update.message is not None and update.message.text == "/start"
    chat_id = update.message.chat.id
    offset = update.update_id + 1

    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Setuju", callback_data="consent")]])
    question = await bot.send_message(
        chat_id, "<b>Setuju?</b>", parse_mode="HTML", reply_markup=markup
    )
    await screen.wait_for("bot: Setuju?")
    await inbox.put(":1")
    [press] = await bot.get_updates(offset=offset, timeout=10)
    assert press.callback_query is not None and press.callback_query.data == "consent"
    offset = press.update_id + 1
    await press.callback_query.answer("Tersimpan")
    await screen.wait_for("[notice] Tersimpan")
    await bot.edit_message_text("Terima kasih", chat_id, question.message_id)
    await screen.wait_for("bot (edited): Terima kasih")

    keyboard = ReplyKeyboardMarkup([[KeyboardButton("Kirim nomor", request_contact=True)]])
    await bot.send_message(chat_id, "Nomor HP?", reply_markup=keyboard)
    await screen.wait_for("(r1) Kirim nomor")
    await inbox.put(":r 1")
    [contact] = await bot.get_updates(offset=offset, timeout=10)
    assert contact.message is not None and contact.message.contact is not None
    offset = contact.update_id + 1

    png = sample_png(8, 8)
    await bot.send_photo(chat_id, png, caption="rute")
    line = await screen.wait_for("[photo:")
    saved = Path(line.split("saved to ")[1].split("]")[0])
    assert saved.parent == tmp_path
    assert await asyncio.to_thread(saved.read_bytes) == png

    await inbox.put(":location -5.1 119.4")
    await inbox.put(":9")
    await screen.wait_for("! no message with buttons")  # the question lost its buttons
    await inbox.put(":nope")
    await screen.wait_for("unknown command")
    [location] = await bot.get_updates(offset=offset, timeout=10)
    assert location.message is not None and location.message.location is not None
    await inbox.put(":quit")
    assert await asyncio.wait_for(chat, 10) == 0


async def test_chat_shows_history_on_start(server: SandboxServer, bot: Bot, tmp_path: Path) -> None:
    from sandbox.client import SandboxClient

    async with SandboxClient(server.url) as client:
        ani = await client.user("ani", started=True)
    for i in range(4):
        await bot.send_message(ani.id, f"pesan {i}")
    screen = Screen()

    async def no_input() -> AsyncIterator[str]:
        await screen.wait_for("pesan 3")
        return
        yield  # an async generator that ends after the history is shown

    code = await run_chat(
        server.url, "ani", lines=no_input(), write=screen.write, media_dir=tmp_path, history=2
    )
    assert code == 0
    shown = [line for line in screen.lines if line.startswith("bot:")]
    assert shown == ["bot: pesan 2", "bot: pesan 3"]
