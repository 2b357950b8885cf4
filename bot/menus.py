"""Command menus per chat, derived from the person's roles and language."""

from __future__ import annotations

from typing import Any

from bot.commands import menu_for
from bot.i18n import t
from bot.turn import Turn


def commands_payload(roles: frozenset[str], language: str) -> list[dict[str, str]]:
    return [
        {"command": c.name, "description": t(language, c.description_key)} for c in menu_for(roles)
    ]


async def queue_chat_menu(turn: Turn) -> None:
    """Set this chat's menu to the person's current roles and language."""
    if turn.chat_id is None:
        return
    payload: dict[str, Any] = {
        "commands": commands_payload(turn.roles, turn.language),
        "scope": {"type": "chat", "chat_id": turn.chat_id},
    }
    await turn.call("setMyCommands", payload, chat_id=turn.chat_id, kind="menu")
