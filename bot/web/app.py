"""The console's ASGI app: routes, static files, headers, and the pages for errors.

Every asset ships in the package (bot/web/static): clinics have poor connections and tests run
offline. Pages carry personal data, so none is cached, framed by other sites, or sent on in a
Referer (a login link's secret is in its query).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.web import (
    auth,
    clinic_picker,
    downloads,
    health,
    nurse_actions,
    pages,
    planning,
    reassign,
    reports,
    staff,
    staff_leave,
    webhook,
)
from bot.web.context import HERE, SignInNeeded, current_staff, page
from bot.web.urls import tile_origin
from homecare.config_telegram import webhook_path

if TYPE_CHECKING:
    from bot.app import HomecareApp


def headers_for(tile_url: str) -> dict[bytes, bytes]:
    """Security headers; the map tiles' host (when configured) is the one image source added."""
    tiles = tile_origin(tile_url)
    img = "img-src 'self' data:" + (f" {tiles}" if tiles else "")
    csp = (
        f"default-src 'self'; {img}; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'self' https://web.telegram.org"
    )
    return {
        b"cache-control": b"no-store",
        b"referrer-policy": b"no-referrer",
        b"x-content-type-options": b"nosniff",
        b"content-security-policy": csp.encode("ascii"),
    }


HEADERS = headers_for("")
# A form post is small; anything bigger is refused before it is read.
MAX_BODY = 64 * 1024


class Guard:
    """Security headers on every answer; oversized bodies refused with 413. `limits`: a larger
    cap for some paths (Telegram's webhook: an update may be bigger than a form)."""

    def __init__(
        self,
        app: ASGIApp,
        headers: dict[bytes, bytes] = HEADERS,
        limits: Mapping[str, int] | None = None,
    ) -> None:
        self.app = app
        self.headers = headers
        self.limits = dict(limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"0")
        limit = self.limits.get(scope["path"], MAX_BODY)
        if not length.isdigit() or int(length) > limit:
            await Response("request too large", status_code=413)(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                mine = self.headers
                headers = [(k, v) for k, v in message.get("headers", []) if k not in mine]
                message["headers"] = headers + list(mine.items())
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _sign_in(request: Request, exc: Exception) -> Response:
    return page(request, "sign_in.html", None, status_code=401)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    staff = await current_staff(request) if exc.status_code == 403 else None
    return page(request, "error.html", staff, status_code=exc.status_code, code=exc.status_code)


def create_web_app(hc: HomecareApp) -> Starlette:
    routes: list[Any] = [
        *health.ROUTES,
        *auth.ROUTES,
        *clinic_picker.ROUTES,
        *downloads.ROUTES,  # before /kunjungan/{visit_id}
        *pages.ROUTES,
        *nurse_actions.ROUTES,
        *reports.ROUTES,
        *reassign.ROUTES,
        *staff_leave.ROUTES,  # before /staf/{nurse_id}/{what}
        *staff.ROUTES,
        *planning.ROUTES,
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    limits: dict[str, int] = {}
    telegram = hc.config.telegram
    if telegram.mode == "webhook":
        routes[:0] = webhook.routes(telegram.webhook_url)
        limits[webhook_path(telegram.webhook_url)] = webhook.MAX_UPDATE_BODY
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(health.Measured, metrics=hc.metrics),
            Middleware(Guard, headers=headers_for(hc.config.web.tile_url), limits=limits),
        ],
        exception_handlers={SignInNeeded: _sign_in, HTTPException: _http_error},
    )
    app.state.hc = hc
    return app
