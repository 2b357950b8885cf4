"""Handlers everyone can use: /help, /bahasa, and the fallbacks (/start: bot.handlers.start)."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.callbacks import BadCallback, decode
from bot.commands import menu_for
from bot.i18n import LANGUAGES
from bot.menus import queue_chat_menu
from bot.render import common as render
from bot.turn import CURRENT_TURN, HomecareContext, Turn
from db.services.accounts import set_language

log = logging.getLogger(__name__)


async def help_command(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    await turn.reply(render.help_text(turn.tr, turn.config.clinic, menu_for(turn.roles)))


async def language_command(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    await turn.reply(render.language_choice(turn.tr))


async def language_chosen(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    query = update.callback_query
    assert query is not None
    try:
        (language,) = decode(query.data, "lang", 1)
        if language not in LANGUAGES:
            raise BadCallback(query.data)
    except BadCallback:
        turn.answer(query.id, turn.tr("common.stale_button"))
        return
    await set_language(turn.session, turn.require_account(), language)
    turn.answer(query.id)
    await turn.reply(render.plain(turn.tr, "common.language_set"))
    await queue_chat_menu(turn)


async def unknown_command(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    text = update.effective_message.text if update.effective_message else ""
    command = (text or "").split()[0].split("@")[0][:40]
    await turn.reply(render.plain(turn.tr, "common.unknown_command", command=command))


async def not_understood(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    await turn.reply(render.plain(turn.tr, "common.not_understood"))


async def unknown_button(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    query = update.callback_query
    assert query is not None
    turn.answer(query.id, turn.tr("common.stale_button"))


async def on_error(update: object, context: HomecareContext) -> None:
    """Log with context; the turn is rolled back and intake apologises in the person's language."""
    turn = CURRENT_TURN.get()
    update_id = getattr(update, "update_id", None)
    log.error("handler failed for update %s", update_id, exc_info=context.error)
    if turn is not None and context.error is not None:
        turn.error = context.error


async def apologise(turn: Turn) -> None:
    """The polite answer after a handler failed (its own changes were rolled back)."""
    await turn.reply(render.plain(turn.tr, "common.error", phone=turn.config.clinic.phone))


# The fallbacks are registered after every feature module's handlers, so any feature wins.
HANDLERS: list[BaseHandler[Any, Any, Any]] = [
    CommandHandler("help", help_command),
    CommandHandler(["bahasa", "language"], language_command),
    CallbackQueryHandler(language_chosen, pattern=r"^lang:"),
]

FALLBACKS: list[BaseHandler[Any, Any, Any]] = [
    MessageHandler(filters.COMMAND, unknown_command),
    MessageHandler(filters.ALL & ~filters.COMMAND, not_understood),
    CallbackQueryHandler(unknown_button),
]
