"""Signing in with the bot's link, and out again.

GET /masuk?t=… only shows a "Masuk" button: the link is used by the POST it sends, so a link
preview or a prefetching browser cannot use it up.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.web import initdata
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
    async with hc.db.transaction(urgent=True) as session:
        opened = await console_auth.redeem(session, token, utcnow())
    if opened is None:
        return page(request, "login_refused.html", None, status_code=403)
    return _signed_in_response(request, opened[0])


def _signed_in_response(request: Request, secret: str) -> Response:
    response = redirect("/")
    web = hc_of(request).config.web
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


async def mini_app_page(request: Request) -> Response:
    """Opened by the bot's Mini App button: a script of ours posts Telegram's initData."""
    return page(request, "mini_app.html", None)


async def mini_app_login(request: Request) -> Response:
    hc = hc_of(request)
    form = await request.form()
    now = utcnow()
    user = initdata.validate(str(form.get("initData", "")), hc.config.telegram.token, now)
    if isinstance(user, str):
        return page(request, "login_refused.html", None, status_code=403)
    async with hc.db.transaction(urgent=True) as session:
        opened = await console_auth.open_for_telegram_user(
            session, user.telegram_user_id, hc.clinics.of_account, now
        )
    if opened is None:
        return page(request, "login_refused.html", None, status_code=403)
    return _signed_in_response(request, opened[0])


async def logout(request: Request) -> Response:
    staff = await require_staff(request)
    await check_csrf(request)
    async with hc_of(request).db.transaction(urgent=True) as session:
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
    Route("/app", mini_app_page, methods=["GET"]),
    Route("/app", mini_app_login, methods=["POST"]),
]
