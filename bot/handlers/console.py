"""/konsol (en /console): a single-use link that signs a head or nurse in to the web console."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.messages import Reply
from bot.turn import HomecareContext
from bot.web.urls import login_url
from db.services import console_auth
from db.types import utcnow


async def console_link(update: Update, context: HomecareContext) -> None:
    turn = context.turn
    web = turn.config.web
    if not web.enabled:
        await turn.reply(Reply(turn.tr("console.off")))
        return
    secret = await console_auth.create_login_link(
        turn.session, web, turn.require_account(), turn.clinic_id, utcnow()
    )
    if secret is None:
        await turn.reply(Reply(turn.tr("console.staff_only")))
        return
    url = login_url(web, secret)
    # No link preview: a preview fetch must not reach the page (it would not use the link, but
    # it need not see it either).
    await turn.reply(
        Reply(turn.tr("console.link", url=url, minutes=str(web.login_link_min)), link_preview=False)
    )


HANDLERS: list[BaseHandler[Any, Any, Any]] = [CommandHandler(["konsol", "console"], console_link)]
