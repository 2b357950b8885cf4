"""The browser chat of the sandbox (``GET /chat``): play a Telegram user from a web page.

The page (sandbox/static/chat.*, no external assets) reads one small long-poll feed per chat
(``GET /chat/api/feed/{ref}``: the chat's messages rendered by :mod:`sandbox.webchat_render`,
the reply keyboard, callback answers) and *acts* through the control API's own endpoints
(``POST /control/users/{ref}/messages``, ``/press``, ``/press_reply``, ``/contact``,
``/location``, ``/media``) — the same code the terminal chat and the tests drive.

It is a demo tool on a loopback server: requests from other addresses are refused, and the page
ships a strict Content-Security-Policy (scripts only from this server, nothing inline).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from sandbox.control_core import MAX_WAIT, ControlCore, ControlError
from sandbox.state import ChatState
from sandbox.webchat_render import message_item

__all__ = ["ChatPerson", "WebChat"]

STATIC = Path(__file__).with_name("static")
_ASSETS = {"chat.css": "text/css", "chat.js": "text/javascript"}
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_INLINE_IMAGES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
#: Locations a demo user can share with one tap (Makassar, around the demo clinic).
PRESET_POINTS = (
    ("Puskesmas Kassi-Kassi", -5.1601, 119.4480),
    ("Karunrung", -5.1571, 119.4459),
    ("Mappala", -5.1690, 119.4422),
    ("Pantai Losari (far)", -5.1437, 119.4077),
)
MAX_FEED_MESSAGES = 200


@dataclass(frozen=True)
class ChatPerson:
    """A person the page offers: a sandbox user name and what they are in the demo."""

    name: str
    label: str
    language: str = "id"


def _loopback(request: web.Request) -> bool:
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _guarded(handler: Handler) -> Handler:
    async def wrapped(request: web.Request) -> web.StreamResponse:
        if not _loopback(request):
            return web.Response(status=403, text="the sandbox chat is for this computer only")
        try:
            response = await handler(request)
        except ControlError as error:
            return web.json_response({"error": error.message}, status=error.status)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    return wrapped


class WebChat:
    """Routes of the browser chat on one sandbox's control core."""

    def __init__(self, control: ControlCore) -> None:
        self.control = control
        # Filled by whoever runs the sandbox (the demo names its family, nurses and head).
        self.people: list[ChatPerson] = []

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/chat", _guarded(self.page)),
            web.get("/chat/static/{name}", _guarded(self.asset)),
            web.get("/chat/api/people", _guarded(self.people_list)),
            web.get("/chat/api/feed/{ref}", _guarded(self.feed)),
            web.get("/chat/files/{file_id}", _guarded(self.file)),
        ]

    async def page(self, request: web.Request) -> web.StreamResponse:
        response = web.FileResponse(STATIC / "chat.html")
        response.headers["Content-Security-Policy"] = _CSP
        response.headers["Cache-Control"] = "no-store"
        return response

    async def asset(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in _ASSETS:  # a fixed list: no path from the URL reaches the disk
            raise web.HTTPNotFound()
        body = (STATIC / name).read_bytes()
        return web.Response(body=body, content_type=_ASSETS[name], charset="utf-8")

    async def people_list(self, request: web.Request) -> web.StreamResponse:
        world = self.control.world
        listed = {p.name for p in self.people}
        people = [
            {"name": p.name, "label": p.label, "language": p.language} for p in self.people
        ] + [
            {"name": u.name, "label": "", "language": u.language_code or "id"}
            for u in world.users.values()
            if u.name not in listed
        ]
        points = [{"label": n, "latitude": lat, "longitude": lon} for n, lat, lon in PRESET_POINTS]
        return web.json_response({"people": people, "points": points})

    async def feed(self, request: web.Request) -> web.StreamResponse:
        """The chat as it is now, once its events pass ``after`` (long poll up to ``timeout``)."""
        user = self.control._user(request.match_info["ref"])
        chat = self.control.world.chats[user.id]
        after = int(self.control._query_num(request, "after", 0))
        timeout = min(MAX_WAIT, self.control._query_num(request, "timeout", 0))
        await self.control.world.notifier.wait_for(
            lambda: self.control.world.last_event_seq(chat) > after, timeout
        )
        return web.json_response(self.snapshot(chat, after))

    def snapshot(self, chat: ChatState, after: int) -> dict[str, Any]:
        messages = list(chat.messages.values())[-MAX_FEED_MESSAGES:]
        answers = [
            e["answer"]
            for e in chat.events
            if e["type"] == "callback_answer" and e["seq"] > after and e["answer"].get("text")
        ]
        keyboard = None
        if chat.reply_keyboard is not None:
            keyboard = [
                [
                    {
                        "text": b if isinstance(b, str) else str(b.get("text", "")),
                        "contact": isinstance(b, dict) and bool(b.get("request_contact")),
                        "location": isinstance(b, dict) and bool(b.get("request_location")),
                    }
                    for b in row
                ]
                for row in chat.reply_keyboard.get("keyboard", [])
            ]
        user = chat.user
        return {
            "user": {"name": user.name, "first_name": user.first_name, "id": user.id},
            "messages": [message_item(m.view()) for m in messages],
            "reply_keyboard": keyboard,
            "placeholder": (chat.reply_keyboard or {}).get("input_field_placeholder"),
            "answers": [
                {"text": a.get("text"), "alert": bool(a.get("show_alert"))} for a in answers
            ],
            "last_seq": self.control.world.last_event_seq(chat),
        }

    async def file(self, request: web.Request) -> web.StreamResponse:
        """A stored file; only real image types are shown inline, the rest is a download
        (an uploaded "document" must never run as a page of this origin)."""
        stored = self.control.world.files.get(request.match_info["file_id"])
        if stored is None:
            raise web.HTTPNotFound()
        mime = stored.mime_type or "application/octet-stream"
        response = web.Response(
            body=stored.data,
            content_type=mime if mime in _INLINE_IMAGES else "application/octet-stream",
        )
        if mime not in _INLINE_IMAGES:
            name = stored.file_name or Path(stored.file_path).name
            name = name.encode("ascii", "replace").decode().replace('"', "").replace("\\", "")
            response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response
