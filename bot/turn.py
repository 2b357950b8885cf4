"""One update's unit of work: its database transaction and the messages it will send.

Intake opens a write transaction, binds a `Turn` to it and lets PTB dispatch the update. Handlers
read and write through `turn.session` and queue replies with `turn.reply(...)`: replies are outbox
rows in the same transaction, so the effect, the reply and "update done" commit together. A crash
before the commit redoes the update; after it, the relay still sends the reply.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram.ext import Application, CallbackContext, ExtBot

from bot.i18n import Translator
from bot.messages import Reply, to_payload
from db.models import Account
from db.services import outbox
from db.services.accounts import roles_of

if TYPE_CHECKING:
    from bot.clinics import ClinicDirectory
    from bot.ports import Homecare
    from homecare.config import Config

CURRENT_TURN: ContextVar[Turn | None] = ContextVar("current_turn", default=None)


@dataclass
class CallbackAnswer:
    query_id: str
    text: str | None = None
    alert: bool = False


@dataclass
class Turn:
    session: AsyncSession
    config: Config
    clinic_id: int
    update_id: int
    chat_id: int | None
    account: Account | None
    outbox_ids: list[int] = field(default_factory=list)
    callback_answer: CallbackAnswer | None = None
    error: BaseException | None = None
    flood_charged: bool = False  # the flood bucket was charged (refunded if a batch is redone)
    # Personal data was erased: after the commit, empty SQLite's WAL of its old pages.
    compact: bool = False
    # Every clinic of the install; `clinic_id`/`config` are the person's (bot.clinics).
    clinics: ClinicDirectory | None = None

    def switch_clinic(self, clinic_id: int) -> None:
        """The person now belongs to `clinic_id` (registration routed them there)."""
        if self.clinics is not None and self.clinics.known(clinic_id):
            self.clinic_id = clinic_id
            self.config = self.clinics.config_for(clinic_id)

    @property
    def language(self) -> str:
        return self.account.language if self.account else "id"

    @property
    def tr(self) -> Translator:
        return Translator(self.language)

    @property
    def roles(self) -> frozenset[str]:
        return roles_of(self.account, self.clinic_id) if self.account else frozenset()

    def require_account(self) -> Account:
        if self.account is None:
            raise RuntimeError("this update has no sender")
        return self.account

    async def reply(self, reply: Reply) -> None:
        """Queue `reply` to the chat this update came from."""
        if self.chat_id is None:
            return
        await self.send(self.chat_id, reply, account_id=self.account.id if self.account else None)

    async def send(
        self,
        chat_id: int,
        reply: Reply,
        *,
        kind: str = "reply",
        account_id: int | None = None,
        dedupe_key: str | None = None,
    ) -> None:
        await self.call(
            "sendMessage",
            to_payload(chat_id, reply),
            chat_id=chat_id,
            kind=kind,
            account_id=account_id,
            dedupe_key=dedupe_key,
        )

    async def call(
        self,
        method: str,
        payload: dict[str, Any],
        *,
        chat_id: int,
        kind: str = "reply",
        account_id: int | None = None,
        dedupe_key: str | None = None,
        attachment: bytes | None = None,
    ) -> None:
        """Queue any Bot API call (editMessageText, sendPhoto…) through the outbox."""
        row = await outbox.queue(
            self.session,
            chat_id=chat_id,
            method=method,
            payload=payload,
            kind=kind,
            clinic_id=self.clinic_id,
            account_id=account_id,
            source_update_id=self.update_id,
            dedupe_key=dedupe_key,
            attachment=attachment,
        )
        if row is not None:
            self.outbox_ids.append(row.id)

    def answer(self, query_id: str, text: str | None = None, alert: bool = False) -> None:
        """Answer the pressed button (sent right after the commit; not worth a retry)."""
        self.callback_answer = CallbackAnswer(query_id, text, alert)


class HomecareContext(
    CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]
):
    """PTB's context with the current turn and the wired app."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)

    @property
    def turn(self) -> Turn:
        turn = CURRENT_TURN.get()
        if turn is None:
            raise RuntimeError("handler called outside a turn (not through bot.intake)")
        return turn

    @property
    def hc(self) -> Homecare:
        hc: Homecare = self.application.bot_data["homecare"]
        return hc
