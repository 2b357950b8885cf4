"""Chat with the bot from a terminal, as a simulated Telegram user of the sandbox.

``homecare chat --as siti`` (or ``python -m sandbox.chat --url http://127.0.0.1:8081 --as siti``)
connects to a running sandbox, becomes the user *siti* (created on first use) and shows what the
bot sends: text, numbered inline buttons, the reply keyboard, photos/documents (saved to a
folder), locations; edits and deletions appear as they happen.

Type a message and press Enter to send it (``/start`` is a Telegram command, sent as text).
Lines starting with ``:`` (or ``!``) are chat commands:

====================  ==========================================================
``:1``                press inline button 1 of the latest message with buttons
``:r 2``              press button 2 of the reply keyboard (``:r Kirim kontak`` by text)
``:contact [+62..]``  share your phone number (your own contact card)
``:location LAT LON`` share a location
``:photo [caption]``  send a photo
``:data TEXT``        press a button with forged callback data (testing)
``:help``             show this help; ``:quit`` leave (Ctrl-D works too)
``::text``            send a text that starts with ':'
====================  ==========================================================

The pieces (:func:`parse_input`, :func:`render_message`, :class:`ChatView`) are plain functions
and classes so they are tested without a terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import aiohttp

from sandbox.client import BotMessage, SandboxClient, SandboxError, SandboxUser

__all__ = ["ChatCommand", "ChatView", "main", "parse_input", "render_message", "run_chat"]

HELP = """Commands (type them at the start of a line):
  :1  :2 ...           press inline button 1, 2 ... of the latest message with buttons
  :r 2   :r TEXT       press reply-keyboard button 2 (or the one labelled TEXT)
  :contact [+62...]    share your phone number
  :location LAT LON    share a location, e.g. :location -5.14 119.43
  :photo [caption]     send a photo
  :data TEXT           press a button with forged callback data (for testing)
  :quit                leave (Ctrl-D works too)
Anything else is sent to the bot as a message (start with :: to send a leading ':')."""

CommandKind = Literal[
    "text",
    "press",
    "press_reply",
    "contact",
    "location",
    "photo",
    "forged",
    "help",
    "quit",
    "empty",
    "error",
]


@dataclass(frozen=True)
class ChatCommand:
    """One parsed input line."""

    kind: CommandKind
    text: str = ""
    index: int = 0
    latitude: float = 0.0
    longitude: float = 0.0


def parse_input(line: str) -> ChatCommand:
    """Turn a typed line into a :class:`ChatCommand` (never raises)."""
    stripped = line.strip()
    if not stripped:
        return ChatCommand("empty")
    if stripped[:2] in ("::", "!!"):
        return ChatCommand("text", text=stripped[1:])
    if stripped[0] not in ":!":
        return ChatCommand("text", text=stripped)
    body = stripped[1:].strip()
    if body.isdigit():
        return ChatCommand("press", index=int(body))
    word, _, rest = body.partition(" ")
    word, rest = word.lower(), rest.strip()
    if word in ("r", "reply"):
        if not rest:
            return ChatCommand("error", text="which reply button? e.g. :r 1")
        if rest.isdigit():
            return ChatCommand("press_reply", index=int(rest))
        return ChatCommand("press_reply", text=rest)
    if word == "contact":
        return ChatCommand("contact", text=rest)
    if word in ("location", "loc"):
        parts = rest.replace(",", " ").split()
        try:
            latitude, longitude = (float(p) for p in parts)
        except ValueError:
            return ChatCommand(
                "error", text="usage: :location LAT LON, e.g. :location -5.14 119.43"
            )
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            return ChatCommand("error", text="latitude must be -90..90 and longitude -180..180")
        return ChatCommand("location", latitude=latitude, longitude=longitude)
    if word == "photo":
        return ChatCommand("photo", text=rest)
    if word in ("data", "forge"):
        if not rest:
            return ChatCommand("error", text="usage: :data CALLBACK_DATA")
        return ChatCommand("forged", text=rest)
    if word in ("h", "help", "?"):
        return ChatCommand("help")
    if word in ("q", "quit", "exit"):
        return ChatCommand("quit")
    return ChatCommand("error", text=f"unknown command {stripped.split()[0]!r}; type :help")


def render_message(
    message: BotMessage,
    *,
    saved_to: str | None = None,
    edited: bool = False,
    bot_name: str = "bot",
) -> str:
    """How a bot message looks in the terminal (buttons numbered from 1)."""
    label = f"{bot_name} (edited)" if edited else bot_name
    lines: list[str] = []
    body = message.plain_text
    if message.kind == "photo" and message.photo is not None:
        where = f", saved to {saved_to}" if saved_to else ""
        lines.append(f"[photo: {message.photo.file_size} bytes{where}]")
    elif message.kind == "document" and message.document is not None:
        doc = message.document
        where = f", saved to {saved_to}" if saved_to else ""
        lines.append(f"[document: {doc.file_name or 'file'}, {doc.file_size} bytes{where}]")
    elif message.kind == "location" and message.location is not None:
        lat, lon = message.location["latitude"], message.location["longitude"]
        lines.append(f"[location: {lat}, {lon}]")
    elif message.kind == "contact" and message.contact is not None:
        contact = message.contact
        lines.append(f"[contact: {contact.get('first_name', '')}, {contact.get('phone_number')}]")
    elif message.file is not None:
        where = f", saved to {saved_to}" if saved_to else ""
        lines.append(f"[{message.kind}: {message.file.file_size} bytes{where}]")
    if body:
        lines.extend(body.splitlines() or [""])
    number = 0
    for row in message.inline_keyboard:
        cells = []
        for button in row:
            number += 1
            suffix = f" -> {button.url}" if button.url and button.callback_data is None else ""
            cells.append(f"[{number}] {button.text}{suffix}")
        lines.append("   ".join(cells))
    if message.reply_keyboard:
        lines.append("keyboard (use :r N):")
        number = 0
        for reply_row in message.reply_keyboard:
            cells = []
            for reply_button in reply_row:
                number += 1
                hint = ""
                if reply_button.request_contact:
                    hint = " (shares your phone number)"
                elif reply_button.request_location:
                    hint = " (shares your location)"
                cells.append(f"(r{number}) {reply_button.text}{hint}")
            lines.append("   ".join(cells))
    if message.remove_keyboard:
        lines.append("(keyboard closed)")
    if message.force_reply:
        lines.append("(the bot waits for your reply)")
    if not lines:
        lines.append("(empty message)")
    head, *rest = lines
    indent = " " * (len(label) + 2)
    return "\n".join([f"{label}: {head}", *(indent + line for line in rest)])


class ChatView:
    """What the user's screen holds: the bot's messages and the current reply keyboard."""

    def __init__(self) -> None:
        self.messages: dict[int, BotMessage] = {}
        self.reply_keyboard: list[str] = []

    def apply(self, message: BotMessage) -> None:
        known = self.messages.get(message.message_id)
        self.messages[message.message_id] = message
        if known is None:  # keyboards change only with new messages, not edits
            if message.reply_keyboard is not None:
                self.reply_keyboard = [b.text for b in message.reply_buttons]
            elif message.remove_keyboard:
                self.reply_keyboard = []

    def latest_with_buttons(self) -> BotMessage | None:
        for message in sorted(self.messages.values(), key=lambda m: -m.message_id):
            if not message.deleted and message.inline_keyboard:
                return message
        return None


class _Session:
    def __init__(
        self,
        client: SandboxClient,
        user: SandboxUser,
        write: Callable[[str], None],
        media_dir: Path,
    ) -> None:
        self.client = client
        self.user = user
        self.write = write
        self.media_dir = media_dir
        self.view = ChatView()
        self.seq = 0

    async def save_file(self, message: BotMessage) -> str | None:
        info = message.file
        if info is None:
            return None
        data = await self.client.file_bytes(info)
        suffix = Path(info.file_path).suffix
        name = info.file_name or f"{message.kind}{suffix}"
        path = self.media_dir / f"{message.message_id}-{Path(name).name}"

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

        await asyncio.to_thread(write)
        return str(path)

    async def show(self, message: BotMessage, *, edited: bool = False) -> None:
        saved = None if edited else await self.save_file(message)
        self.write(render_message(message, saved_to=saved, edited=edited))

    async def handle_event(self, event: dict[str, Any], *, replay: bool = False) -> None:
        kind = event["type"]
        view = event.get("message")
        if view is None or not view.get("from_bot", False):
            if kind == "callback_answer" and not replay:
                answer = event.get("answer") or {}
                if answer.get("text"):
                    prefix = "alert" if answer.get("show_alert") else "notice"
                    self.write(f"[{prefix}] {answer['text']}")
            return
        message = BotMessage.from_view(view)
        is_new = message.message_id not in self.view.messages
        self.view.apply(message)
        if replay:
            return
        if kind == "message" and is_new:
            await self.show(message)
        elif kind == "edit" and not message.deleted:
            await self.show(message, edited=True)
        elif kind == "delete":
            snippet = message.plain_text[:40] or message.kind
            self.write(f"(the bot deleted a message: {snippet!r})")

    async def follow(self) -> None:
        while True:
            try:
                batch = await self.client.events(self.user.id, after=self.seq, timeout=25)
            except (aiohttp.ClientError, TimeoutError):
                self.write("! lost contact with the sandbox; retrying...")
                await asyncio.sleep(1.0)
                continue
            for event in batch["events"]:
                # An edit/delete event carries the message as it is *now*; a later event for
                # the same message would repeat it, which is harmless.
                await self.handle_event(event)
            self.seq = max(self.seq, int(batch["last_seq"]))

    async def execute(self, command: ChatCommand) -> bool:
        """Run one command; returns False to leave the chat."""
        user = self.user
        if command.kind == "quit":
            return False
        if command.kind == "empty":
            return True
        if command.kind == "help":
            self.write(HELP)
        elif command.kind == "error":
            self.write(f"! {command.text}")
        elif command.kind == "text":
            await user.send(command.text)
        elif command.kind == "press":
            await self._press(command.index)
        elif command.kind == "press_reply":
            await self._press_reply(command)
        elif command.kind == "contact":
            await user.share_contact(command.text or None)
            self.write("(you shared your phone number)")
        elif command.kind == "location":
            await user.share_location(command.latitude, command.longitude)
            self.write(f"(you shared a location: {command.latitude}, {command.longitude})")
        elif command.kind == "photo":
            await user.send_photo(caption=command.text or None)
            self.write("(you sent a photo)")
        elif command.kind == "forged":
            await user.press_forged(command.text)
            self.write(f"(you pressed a forged button: {command.text!r})")
        return True

    async def _press(self, index: int) -> None:
        message = self.view.latest_with_buttons()
        if message is None:
            self.write("! no message with buttons yet")
            return
        buttons = message.buttons
        if not 1 <= index <= len(buttons):
            self.write(f"! choose a button between 1 and {len(buttons)}")
            return
        button = buttons[index - 1]
        if button.callback_data is None:
            self.write(f"(that button opens a link: {button.url})")
            return
        await self.user.press(data=button.callback_data, message_id=message.message_id)
        self.write(f"(you pressed [{button.text}])")

    async def _press_reply(self, command: ChatCommand) -> None:
        labels = self.view.reply_keyboard
        if not labels:
            self.write("! the bot shows no keyboard")
            return
        if command.text:
            text = command.text
        elif 1 <= command.index <= len(labels):
            text = labels[command.index - 1]
        else:
            self.write(f"! choose a keyboard button between 1 and {len(labels)}")
            return
        await self.user.press_reply(text)
        self.write(f"(you pressed ({text}))")


async def _stdin_lines() -> AsyncIterator[str]:
    """Lines typed on stdin; a daemon thread reads, so Ctrl-C never waits for it."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def reader() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(queue.put_nowait, line)
        loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=reader, daemon=True).start()
    while (line := await queue.get()) is not None:
        yield line


async def run_chat(
    sandbox_url: str,
    name: str,
    *,
    language_code: str = "id",
    lines: AsyncIterator[str] | None = None,
    write: Callable[[str], None] | None = None,
    media_dir: Path | None = None,
    history: int = 5,
) -> int:
    """Chat as user ``name`` until ``:quit`` or end of input; returns an exit code.

    ``lines`` (default: stdin) and ``write`` (default: print) make it drivable from tests.
    ``history`` earlier bot messages are shown first.
    """
    out = write or (lambda text: print(text, flush=True))
    folder = media_dir or Path(tempfile.gettempdir()) / "homecare-chat" / name
    async with SandboxClient(sandbox_url) as client:
        user = await client.user(name, language_code)
        session = _Session(client, user, out, folder)
        out(
            f"Chatting as {user.first_name} (Telegram id {user.id}) with the bot at "
            f"{sandbox_url}.\nType a message and press Enter; :help lists commands."
        )
        backlog = await client.events(user.id, after=0)
        for event in backlog["events"]:
            await session.handle_event(event, replay=True)
        session.seq = int(backlog["last_seq"])
        earlier = sorted(session.view.messages.values(), key=lambda m: m.message_id)
        for message in [m for m in earlier if not m.deleted][-history:] if history else []:
            out(render_message(message))
        follower = asyncio.create_task(session.follow())
        try:
            async for line in lines if lines is not None else _stdin_lines():
                try:
                    if not await session.execute(parse_input(line)):
                        break
                except SandboxError as error:
                    out(f"! {error.message}")
        finally:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry: ``--url URL --as NAME [--language id|en] [--media-dir DIR]``."""
    parser = argparse.ArgumentParser(
        prog="homecare chat", description="Chat with the bot through the local Telegram sandbox."
    )
    parser.add_argument("--url", default="http://127.0.0.1:8081", help="sandbox URL")
    parser.add_argument("--as", dest="name", required=True, help="your user name, e.g. siti")
    parser.add_argument("--language", default="id", help="Telegram language code (id or en)")
    parser.add_argument("--media-dir", type=Path, help="where received photos/files are saved")
    parser.add_argument("--history", type=int, default=5, help="earlier messages to show")
    args = parser.parse_args(argv)
    try:
        return asyncio.run(
            run_chat(
                args.url,
                args.name,
                language_code=args.language,
                media_dir=args.media_dir,
                history=args.history,
            )
        )
    except KeyboardInterrupt:
        return 0
    except aiohttp.ClientConnectionError:
        print(
            f"Cannot reach the sandbox at {args.url}. Is the demo running (`make run`)?",
            file=sys.stderr,
        )
        return 1
    except SandboxError as error:
        print(f"The sandbox refused: {error.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
