"""Signing in with the bot's link, and out again.

GET /masuk?t=… only shows a "Masuk" button: the link is used by the POST it sends, so a link
preview or a prefetching browser cannot use it up.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.web.context import (
    COOKIE,
    check_csrf,
    hc_of,
    page,
    redirect,
    require_staff,
)
from bot.web.urls import secure_cookies
from db.services import console_auth
from db.types import utcnow


async def login_form(request: Request) -> Response:
    token = request.query_params.get("t", "")
    if not token:
        return page(request, "sign_in.html", None)
    return page(request, "login.html", None, token=token)


async def login(request: Request) -> Response:
    hc = hc_of(request)
    form = await request.form()
    token = str(form.get("t", ""))
    async with hc.db.transaction() as session:
        opened = await console_auth.redeem(session, token, utcnow())
    if opened is None:
        return page(request, "login_refused.html", None, status_code=403)
    secret, _ = opened
    response = redirect("/")
    web = hc.config.web
    response.set_cookie(
        COOKIE,
        secret,
        max_age=web.session_max_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(web),
        path="/",
    )
    return response


async def logout(request: Request) -> Response:
    staff = await require_staff(request)
    await check_csrf(request)
    async with hc_of(request).db.transaction() as session:
        await console_auth.sign_out(session, staff.session_id, utcnow())
    response = page(request, "signed_out.html", None)
    response.delete_cookie(COOKIE, path="/")
    return response


async def home(request: Request) -> Response:
    staff = await require_staff(request)
    return redirect("/papan" if staff.is_head else "/rute")


ROUTES = [
    Route("/", home),
    Route("/masuk", login_form, methods=["GET"]),
    Route("/masuk", login, methods=["POST"]),
    Route("/keluar", logout, methods=["POST"]),
]
