"""The demo: with no token configured, `homecare run` starts the local Telegram sandbox, runs the
bot against it, seeds a demo clinic, and prints how to chat with it from another terminal."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from homecare.config import Config

if TYPE_CHECKING:
    from bot.app import HomecareApp

# Not a secret: the sandbox accepts it and it never leaves this machine.
DEMO_TOKEN = "100000001:DEMO-sandbox-token-not-a-secret"


async def start_sandbox(config: Config) -> tuple[Any, Config]:
    from sandbox.server import SandboxServer

    server = SandboxServer(host=config.sandbox.host, port=config.sandbox.port)
    await server.start()
    telegram = dataclasses.replace(
        config.telegram, token=DEMO_TOKEN, base_url=server.bot_api_base_url
    )
    # The demo runs offline: route maps without tiles (numbered stops and lines only).
    web = dataclasses.replace(config.web, tile_url="")
    return server, config.replace(telegram=telegram, web=web)


async def seed(hc: HomecareApp, server: Any) -> None:
    from db.services.demo import DEMO_STAFF, seed_demo_staff
    from sandbox.client import SandboxClient
    from sandbox.webchat import ChatPerson

    client = SandboxClient(server.url)
    try:
        user_ids = {
            s.login: (await client.user(s.login, first_name=s.name.split()[0], started=True)).id
            for s in DEMO_STAFF
        }
    finally:
        await client.close()
    async with hc.db.transaction() as session:
        await seed_demo_staff(session, hc.clinic_id, user_ids, hc.config.clinic.working_hours)
    # Who the browser chat offers: two new families (one in English), then the staff.
    server.webchat.people = [
        ChatPerson("ani", "family member (new: consent, register, book)"),
        ChatPerson("maya", "family member, English", "en"),
        *(ChatPerson(s.login, f"{s.role}: {s.name}") for s in DEMO_STAFF),
    ]


def print_instructions(config: Config, server: Any) -> None:
    from db.services.demo import DEMO_STAFF

    staff = ", ".join(f"{s.login} ({s.role})" for s in DEMO_STAFF)
    console = ""
    if config.web.enabled:
        from bot.web.urls import base_url

        console = (
            f"Web console: {base_url(config.web)}  (as a demo head or nurse, send /konsol in "
            "the chat for a login link)\n"
        )
    print(
        f"""
Demo running: {config.clinic.name} on a local Telegram sandbox at {server.url}
(no token configured — see README "Use a real Telegram bot" to switch).

Web chat: {server.chat_url}  (in a browser: be a family member, a nurse or the head)
Or talk to the bot from another terminal:
    .venv/bin/homecare chat --as ani          # any new name is a new patient or family member
    .venv/bin/homecare chat --as ani --language en
Demo staff: {staff}
{console}Stop with Ctrl-C.
""",
        flush=True,
    )
