"""The commands menu (setMyCommands and scopes), bot profile texts and the menu button."""

from __future__ import annotations

import re
from typing import Any

from sandbox.botapi.core import ApiCore
from sandbox.botapi.protocol import Call, Handler, Params, bad_request

_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_SCOPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)


class CommandMethods(ApiCore):
    def _scope_key(self, params: Params) -> tuple[str, int | None, int | None, str]:
        scope = params.get_json("scope", "can't parse BotCommandScope JSON object")
        if scope is None:
            scope = {"type": "default"}
        if not isinstance(scope, dict) or scope.get("type") not in _SCOPES:
            raise bad_request("can't parse BotCommandScope JSON object")
        kind = str(scope["type"])
        chat_id: int | None = None
        user_id: int | None = None
        if kind in ("chat", "chat_administrators", "chat_member"):
            try:
                chat_id = int(scope["chat_id"])
            except (KeyError, TypeError, ValueError):
                raise bad_request("chat not found") from None
            if chat_id not in self.world.chats:
                raise bad_request("chat not found")
        if kind == "chat_member":
            try:
                user_id = int(scope["user_id"])
            except (KeyError, TypeError, ValueError):
                raise bad_request("user not found") from None
        language = params.get_str("language_code") or ""
        return kind, chat_id, user_id, language

    async def set_my_commands(self, call: Call) -> Any:
        params = call.params
        commands = params.get_json("commands", "can't parse commands JSON object")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise bad_request("BOT_COMMANDS_TOO_MUCH")
        clean: list[dict[str, str]] = []
        for command in commands:
            if not isinstance(command, dict):
                raise bad_request("can't parse commands JSON object")
            name = command.get("command")
            description = command.get("description")
            if not isinstance(name, str) or not _COMMAND.fullmatch(name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            clean.append({"command": name, "description": description})
        key = self._scope_key(params)
        if clean:
            self.world.commands[key] = clean
        else:
            self.world.commands.pop(key, None)
        self.world.notifier.notify()
        return True

    async def get_my_commands(self, call: Call) -> Any:
        return self.world.commands.get(self._scope_key(call.params), [])

    async def delete_my_commands(self, call: Call) -> Any:
        self.world.commands.pop(self._scope_key(call.params), None)
        self.world.notifier.notify()
        return True

    def _profile_setter(self, field: str) -> Handler:
        async def setter(call: Call) -> Any:
            language = call.params.get_str("language_code") or ""
            value = call.params.get_str(field) or ""
            self.world.bot_profile.setdefault(field, {})[language] = value
            return True

        return setter

    def _profile_getter(self, field: str) -> Handler:
        async def getter(call: Call) -> Any:
            language = call.params.get_str("language_code") or ""
            values = self.world.bot_profile.get(field, {})
            value = values.get(language, values.get("", ""))
            if field == "name" and not value:
                value = self.identity.first_name
            return {field: value}

        return getter

    async def get_chat_menu_button(self, call: Call) -> Any:
        return {"type": "commands"}
