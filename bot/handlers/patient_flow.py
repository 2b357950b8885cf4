"""The family side's conversation engine: step context, input kinds, callback parsing.

Every multi-step flow (registration, booking, my visits, data rights, feedback comment) keeps its
state in the `conversations` row (db.services.conversation). A flow module exports `FLOW` (its
name), `prompt(c)` (the current step's question, read-only), `on_button(c, action, args)` and
`on_message(c, incoming)`. Handlers refuse bad input with `c.reject(...)`, which repeats the
question with a short hint and writes nothing.

Inline buttons of a step: ``pc:<nonce>:<action>[:<arg>]``. The nonce changes at every step, so a
button from an older message, a forged one, or one from before a restart that has since moved on
is answered "stale" and changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from html import escape
from typing import TYPE_CHECKING, Any, Protocol

from telegram import Message

from bot.callbacks import BadCallback, decode_int
from bot.i18n import Translator
from bot.messages import Reply
from bot.render import patient as render
from bot.turn import Turn
from db.models import Account, Conversation
from db.services import conversation
from db.services.patients import Notes

if TYPE_CHECKING:
    from homecare.config import Config

# Where a finished registration goes next, by the `then` it was begun with: (turn, now,
# patient_id). Booking registers "book" here; it begins registration, so registration cannot
# import it back.
CONTINUATIONS: dict[str, Callable[[Turn, datetime, int | None], Awaitable[None]]] = {}


@dataclass(frozen=True)
class Incoming:
    """A message reduced to what flows read: text, a shared contact or location, or other media."""

    kind: str  # text | contact | location | media
    text: str = ""
    phone: str = ""
    lat: float = 0.0
    lon: float = 0.0


def incoming(message: Message) -> Incoming:
    if message.contact is not None:
        return Incoming("contact", phone=message.contact.phone_number or "")
    if message.location is not None:
        return Incoming("location", lat=message.location.latitude, lon=message.location.longitude)
    if message.text is not None:
        return Incoming("text", text=message.text)
    return Incoming("media")


@dataclass
class Ctx:
    """One update inside a flow: the turn, the conversation row, and `now`."""

    turn: Turn
    conv: Conversation
    now: datetime
    query_id: str | None = None
    # The message whose button was pressed (its keyboard is taken away once the press is taken).
    turn_message_id: int | None = None
    # That message's text (HTML) and the pressed button's label, to keep the answer visible.
    pressed_html: str | None = None
    pressed_label: str | None = None
    _answered: bool = field(default=False)

    @property
    def account(self) -> Account:
        return self.turn.require_account()

    @property
    def tr(self) -> Translator:
        return self.turn.tr

    @property
    def config(self) -> Config:
        return self.turn.config

    @property
    def session(self) -> Any:
        return self.turn.session

    @property
    def clinic_id(self) -> int:
        return self.turn.clinic_id

    @property
    def data(self) -> dict[str, Any]:
        return self.conv.data or {}

    @property
    def nonce(self) -> str:
        return self.conv.nonce

    @property
    def today(self) -> date:
        return self.now.astimezone(self.config.clinic.tz).date()

    async def say(self, reply: Reply) -> None:
        await self.turn.reply(reply)

    def answer(self, key: str | None = None, **params: str) -> None:
        if self.query_id is not None and not self._answered:
            self.turn.answer(self.query_id, self.tr(key, **params) if key else None)
            self._answered = True

    def stale(self) -> None:
        """A button that does not belong to this step: answered, nothing changes."""
        self.answer("common.stale_button")

    def not_yours(self) -> None:
        self.answer("common.not_your_button")

    async def accepted_press(self) -> None:
        """Take the buttons off the message just pressed, so it cannot be pressed again, and
        write the chosen answer under the question ("✓ Untuk saya sendiri") so the chat keeps
        the history."""
        if self.query_id is None or self.turn.chat_id is None:
            return
        message_id = self.turn_message_id
        if message_id is None:
            return
        target = {"chat_id": self.turn.chat_id, "message_id": message_id}
        text = answered_text(self.pressed_html, self.pressed_label)
        payload: dict[str, Any]
        if text is None:
            method, payload = "editMessageReplyMarkup", {"reply_markup": {"inline_keyboard": []}}
        else:
            # An edit without reply_markup also removes the inline keyboard.
            method, payload = "editMessageText", {"text": text, "parse_mode": "HTML"}
        await self.turn.call(method, target | payload, chat_id=self.turn.chat_id, kind="markup")

    @property
    def notes(self) -> Notes:
        """Staff notes this update queues: attributed to it, and the relay woken for them."""
        return Notes(self.turn.update_id, self.turn.outbox_ids)

    def advance(self, step: str, **changes: Any) -> None:
        conversation.advance(self.conv, step, self.now, **changes)

    async def end(self) -> None:
        await conversation.finish(self.session, self.conv)

    async def reject(self, hint_key: str, prompt: Reply, **params: str) -> None:
        """Refuse the input: say why and ask again (the conversation row is not touched)."""
        if self.query_id is not None:
            self.answer(hint_key, **params)
            return
        await self.say(render.with_hint(self.tr, hint_key, prompt, **params))


# Telegram's cap on a message's text; an answer that would not fit only loses its keyboard.
_MAX_TEXT = 4096
_LEADING_ICONS = re.compile(r"^[^\w(]+")


def pressed_button(message: object, data: str | None) -> tuple[str | None, str | None]:
    """(the message's text as HTML, the label of the button carrying `data`) of a pressed
    message; (None, None) for a photo, an inaccessible message or a label not found."""
    if not isinstance(message, Message) or message.text is None or message.reply_markup is None:
        return None, None
    for row in message.reply_markup.inline_keyboard:
        for button in row:
            if button.callback_data == data:
                return message.text_html, button.text
    return None, None


def answered_text(question_html: str | None, label: str | None) -> str | None:
    """The question with the chosen answer under it, or None when there is nothing to write."""
    if not question_html or not label:
        return None
    # "✅ Setuju" → "✓ Setuju": the check mark says it was chosen; the button's own icon is noise.
    words = _LEADING_ICONS.sub("", label).strip()
    if not words:
        return None
    text = f"{question_html}\n\n✓ {escape(words)}"
    return text if len(text) <= _MAX_TEXT else None


class Flow(Protocol):
    FLOW: str

    async def prompt(self, c: Ctx) -> Reply: ...

    async def on_button(self, c: Ctx, action: str, args: list[str]) -> None: ...

    async def on_message(self, c: Ctx, msg: Incoming) -> None: ...


def parse_step_callback(data: str | None) -> tuple[str, str, list[str]]:
    """``pc:<nonce>:<action>[:<arg>...]`` → (nonce, action, args); BadCallback otherwise."""
    if not data or len(data.encode()) > 64:
        raise BadCallback(data)
    parts = data.split(":")
    if len(parts) < 3 or len(parts) > 5 or parts[0] != render.STEP_PREFIX:
        raise BadCallback(data)
    nonce, action, args = parts[1], parts[2], parts[3:]
    if not (nonce.isalnum() and len(nonce) == conversation.NONCE_LENGTH):
        raise BadCallback(data)
    if not action.isalnum() or len(action) > 8:
        raise BadCallback(data)
    return nonce, action, args


def int_arg(args: list[str], index: int = 0) -> int:
    """An integer argument of a button, or BadCallback."""
    if len(args) <= index:
        raise BadCallback("missing argument")
    return decode_int(args[index])


def day_arg(args: list[str]) -> date:
    if len(args) != 1 or len(args[0]) != 8 or not args[0].isdigit():
        raise BadCallback("bad day")
    try:
        return date(int(args[0][:4]), int(args[0][4:6]), int(args[0][6:]))
    except ValueError:
        raise BadCallback("bad day") from None
