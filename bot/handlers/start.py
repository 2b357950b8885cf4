"""/start: the one entry that leads on into the staff invite or the family's onboarding.

It lives apart from bot.handlers.common because it imports head and patient, which use common.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.handlers.head import accept_invite
from bot.handlers.patient import begin_onboarding
from bot.menus import queue_chat_menu
from bot.render import common as render
from bot.render.common import STAFF_ROLES
from bot.turn import HomecareContext


async def start(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    account = turn.require_account()
    if context.args and context.args[0].startswith("inv_"):
        await accept_invite(update, context, context.args[0])  # staff invite: /start inv_<code>
        return
    welcome = render.welcome(turn.tr, turn.config.clinic, account.first_name, turn.roles)
    if not turn.roles & STAFF_ROLES:
        await begin_onboarding(turn, welcome)  # one message: welcome + where to go on
    else:
        await turn.reply(welcome)
    await queue_chat_menu(turn)


HANDLERS: list[BaseHandler[Any, Any, Any]] = [CommandHandler("start", start)]
