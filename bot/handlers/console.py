"""/konsol (en /console): a single-use link that signs a head or nurse in to the web console."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.messages import Button, Reply
from bot.turn import HomecareContext
from bot.web.urls import base_url, login_url, secure_cookies
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
    # Telegram opens Mini Apps only from https addresses.
    buttons = (
        ((Button(turn.tr("console.open_app"), url=f"{base_url(web)}/app", web_app=True),),)
        if secure_cookies(web)
        else ()
    )
    # No link preview: a preview fetch must not reach the page (it would not use the link, but
    # it need not see it either).
    text = turn.tr("console.link", url=url, minutes=str(web.login_link_min))
    await turn.reply(Reply(text, buttons=buttons, link_preview=False))


HANDLERS: list[BaseHandler[Any, Any, Any]] = [CommandHandler(["konsol", "console"], console_link)]
