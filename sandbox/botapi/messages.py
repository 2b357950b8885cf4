"""Sending, editing, pinning and deleting messages (text, contact, location, reactions)."""

from __future__ import annotations

from typing import Any

from sandbox.botapi.core import ApiCore
from sandbox.botapi.protocol import MAX_TEXT, NOT_MODIFIED, Call, bad_request, same_markup
from sandbox.state import ChatState

_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)


class MessageMethods(ApiCore):
    async def send_message(self, call: Call) -> Any:
        params = call.params
        chat = self._chat(params)
        text = params.get_str("text")
        if not text:
            raise bad_request("message text is empty")
        parse_mode = params.get_str("parse_mode")
        parsed = self._parse(
            text, parse_mode, params.get_json("entities", "can't parse entities JSON object")
        )
        if not parsed.text:
            raise bad_request("message text is empty")
        if len(parsed.text) > MAX_TEXT:
            raise bad_request("message is too long")
        markup = self._reply_markup(params)
        reply_to = self._reply_to(chat, params)
        preview = params.get_json("link_preview_options", "can't parse link preview options")
        self._flood(call.method, chat)
        return self._store(
            call,
            chat,
            "text",
            text=text,
            parse_mode=parse_mode,
            parsed=parsed,
            reply_markup=markup,
            reply_to=reply_to,
            link_preview_options=preview if isinstance(preview, dict) else None,
        )

    async def send_contact(self, call: Call) -> Any:
        params = call.params
        chat = self._chat(params)
        phone = params.get_str("phone_number")
        first_name = params.get_str("first_name")
        if not phone:
            raise bad_request("phone number is empty")
        if not first_name:
            raise bad_request("first name is empty")
        contact: dict[str, Any] = {"phone_number": phone, "first_name": first_name}
        for key in ("last_name", "vcard"):
            value = params.get_str(key)
            if value:
                contact[key] = value
        markup = self._reply_markup(params)
        reply_to = self._reply_to(chat, params)
        self._flood(call.method, chat)
        return self._store(
            call, chat, "contact", contact=contact, reply_markup=markup, reply_to=reply_to
        )

    async def pin_chat_message(self, call: Call) -> Any:
        chat = self._chat(call.params)
        message_id = call.params.get_int("message_id", "message to pin not found")
        message = chat.messages.get(message_id) if message_id is not None else None
        if message is None or message.deleted:
            raise bad_request("message to pin not found")
        chat.pinned.append(message.message_id)
        self.world.record_event(chat, "pin", message_id=message.message_id)
        return True

    async def unpin_chat_message(self, call: Call) -> Any:
        chat = self._chat(call.params)
        message_id = call.params.get_int("message_id", "message to unpin not found")
        if not chat.pinned:
            raise bad_request("message to unpin not found")
        target = message_id if message_id is not None else chat.pinned[-1]
        if target not in chat.pinned:
            raise bad_request("message to unpin not found")
        chat.pinned.remove(target)
        self.world.record_event(chat, "unpin", message_id=target)
        return True

    async def unpin_all_chat_messages(self, call: Call) -> Any:
        chat = self._chat(call.params)
        chat.pinned.clear()
        self.world.record_event(chat, "unpin")
        return True

    async def get_chat_member(self, call: Call) -> Any:
        chat = self._chat(call.params, sending=False)
        user_id = call.params.get_int("user_id", "user not found")
        if user_id == int(call.token.split(":", 1)[0]):
            return {"status": "member", "user": self.identity.user(call.token)}
        if user_id != chat.user.id:
            raise bad_request("user not found")
        return {"status": "member", "user": chat.user.to_api()}

    async def set_message_reaction(self, call: Call) -> Any:
        chat = self._chat(call.params)
        message_id = call.params.get_int("message_id", "message to react not found")
        message = chat.messages.get(message_id) if message_id is not None else None
        if message is None or message.deleted:
            raise bad_request("message to react not found")
        reaction = call.params.get_json("reaction", "can't parse reaction types JSON object")
        self.world.record_event(
            chat, "reaction", message_id=message.message_id, reaction=reaction or []
        )
        return True

    async def send_location(self, call: Call) -> Any:
        params = call.params
        chat = self._chat(params)
        latitude = params.get_float("latitude", "wrong latitude")
        longitude = params.get_float("longitude", "wrong longitude")
        if latitude is None or not -90 <= latitude <= 90:
            raise bad_request("wrong latitude")
        if longitude is None or not -180 <= longitude <= 180:
            raise bad_request("wrong longitude")
        location: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
        accuracy = params.get_float("horizontal_accuracy", "wrong horizontal accuracy")
        if accuracy is not None:
            location["horizontal_accuracy"] = accuracy
        markup = self._reply_markup(params)
        reply_to = self._reply_to(chat, params)
        self._flood(call.method, chat)
        return self._store(
            call, chat, "location", location=location, reply_markup=markup, reply_to=reply_to
        )

    async def send_chat_action(self, call: Call) -> Any:
        params = call.params
        chat = self._chat(params)
        action = params.get_str("action")
        if action not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        record = {"action": action, "date": self.world.now()}
        chat.actions.append(record)
        self.world.record_event(chat, "chat_action", action=action)
        return True

    async def edit_message_text(self, call: Call) -> Any:
        params = call.params
        chat, message = self._editable(params)
        text = params.get_str("text")
        if not text:
            raise bad_request("message text is empty")
        if message.kind != "text":
            raise bad_request("there is no text in the message to edit")
        parse_mode = params.get_str("parse_mode")
        parsed = self._parse(
            text, parse_mode, params.get_json("entities", "can't parse entities JSON object")
        )
        if not parsed.text:
            raise bad_request("message text is empty")
        if len(parsed.text) > MAX_TEXT:
            raise bad_request("message is too long")
        # Like Telegram, an edit without reply_markup removes the inline keyboard.
        markup = self._reply_markup(params, inline_only=True)
        if parsed == message.parsed and same_markup(markup, message.reply_markup):
            raise bad_request(NOT_MODIFIED)
        preview = params.get_json("link_preview_options", "can't parse link preview options")
        return self._apply_edit(
            chat,
            message,
            text=text,
            parse_mode=parse_mode,
            parsed=parsed,
            reply_markup=markup,
            link_preview_options=preview if isinstance(preview, dict) else None,
        )

    async def edit_message_caption(self, call: Call) -> Any:
        params = call.params
        chat, message = self._editable(params)
        if message.file is None:
            raise bad_request("there is no caption in the message to edit")
        caption, parsed = self._caption(params)
        markup = self._reply_markup(params, inline_only=True)
        if parsed == message.parsed and same_markup(markup, message.reply_markup):
            raise bad_request(NOT_MODIFIED)
        return self._apply_edit(
            chat,
            message,
            caption=caption,
            parse_mode=params.get_str("parse_mode"),
            parsed=parsed,
            reply_markup=markup,
        )

    async def edit_message_reply_markup(self, call: Call) -> Any:
        params = call.params
        chat, message = self._editable(params)
        markup = self._reply_markup(params, inline_only=True)
        if same_markup(markup, message.reply_markup):
            raise bad_request(NOT_MODIFIED)
        return self._apply_edit(chat, message, reply_markup=markup)

    async def delete_message(self, call: Call) -> Any:
        params = call.params
        chat = self._chat(params, sending=False)
        message_id = params.get_int("message_id", "message to delete not found")
        self._delete(chat, message_id)
        return True

    async def delete_messages(self, call: Call) -> Any:
        params = call.params
        chat = self._chat(params, sending=False)
        ids = params.get_json("message_ids", "can't parse message identifiers")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise bad_request("message identifiers are not specified")
        deleted = 0
        for message_id in ids:
            message = chat.messages.get(message_id) if isinstance(message_id, int) else None
            if message is not None and not message.deleted:
                self._delete(chat, message_id)
                deleted += 1
        if deleted == 0:
            raise bad_request("message to delete not found")
        return True

    def _delete(self, chat: ChatState, message_id: int | None) -> None:
        message = chat.messages.get(message_id) if message_id is not None else None
        if message is None or message.deleted:
            raise bad_request("message to delete not found")
        message.deleted = True
        message.version += 1
        self.world.record_event(chat, "delete", message_id=message.message_id)
