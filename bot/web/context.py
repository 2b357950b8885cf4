"""What every console page needs: the signed-in staff member, templates and their helpers.

Authorisation is the bot's: the same `console_auth.staff_roles` as the guard's roles and the
same `db.services.access` record rules, so a page never shows what the bot would refuse.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from bot.i18n import Translator
from bot.render.formats import day_long, day_short, visit_code
from bot.render.head.common import service_name, status_word
from db.services import console_auth
from db.services.console_auth import Staff
from db.types import utcnow

if TYPE_CHECKING:
    from bot.app import HomecareApp
    from homecare.config import Config

COOKIE = "hc_console"
HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))


def hc_of(request: Request) -> HomecareApp:
    return request.app.state.hc  # type: ignore[no-any-return]


CLINIC_COOKIE = "hc_clinic"  # the clinic a city admin looks at (ignored for anyone else)


async def current_staff(request: Request) -> Staff | None:
    hc = hc_of(request)
    now = utcnow()
    async with hc.db.read() as session:
        staff = await console_auth.signed_in(
            session, hc.config.web, request.cookies.get(COOKIE), now
        )
    if staff is not None and staff.needs_touch:
        async with hc.db.transaction(urgent=True) as session:
            await console_auth.touch(session, staff.session_id, now)
    if staff is not None and staff.is_city_admin:
        chosen = request.cookies.get(CLINIC_COOKIE, "")
        if chosen.isdigit() and hc.clinics.known(int(chosen)):
            staff = dataclasses.replace(staff, clinic_id=int(chosen))
    # Every page is bound to this person's clinic: its settings come from here (config_of).
    request.state.staff = staff
    return staff


def config_of(request: Request) -> Config:
    """The configuration as the signed-in person's clinic sees it (the first clinic before
    sign-in)."""
    staff = getattr(request.state, "staff", None)
    return hc_of(request).clinics.config_for(staff.clinic_id if staff is not None else None)


class SignInNeeded(Exception):
    """No live session: the page answers with the "ask the bot for a link" page."""


async def require_staff(request: Request, *, head: bool = False, nurse: bool = False) -> Staff:
    staff = await current_staff(request)
    if staff is None:
        raise SignInNeeded
    if head and not staff.is_head:
        raise HTTPException(403)
    if nurse and not staff.is_nurse:
        raise HTTPException(403)
    return staff


def csrf_of(request: Request) -> str:
    return console_auth.csrf_token(request.cookies.get(COOKIE, ""))


async def check_csrf(request: Request) -> Mapping[str, Any]:
    """The posted form, after its CSRF token matched this browser's session (else 403)."""
    form = await request.form()
    secret = request.cookies.get(COOKIE, "")
    if not secret or not console_auth.csrf_ok(secret, str(form.get("csrf", ""))):
        raise HTTPException(403, "CSRF token missing or wrong")
    return form


def _helpers(tr: Translator, request: Request) -> dict[str, Any]:
    config = config_of(request)
    staff = getattr(request.state, "staff", None)
    hc = hc_of(request)
    # A city admin's clinic picker: (code, name, chosen) for every clinic.
    choices = (
        [(c.code, c.name, c.code == config.clinic.code) for c in hc.config.clinics]
        if staff is not None and staff.is_city_admin
        else []
    )

    def hm(t: time | datetime | None) -> str:
        return t.strftime("%H:%M") if t is not None else "--:--"

    return {
        "t": tr,
        "lang": tr.language,
        "hm": hm,
        "day": lambda d: day_long(tr, d),
        "day_short": lambda d: day_short(tr, d),
        "code": visit_code,
        # These two are escaped for Telegram's HTML already. No status icons: a clinic laptop
        # may have no emoji font.
        "status": lambda s: Markup(status_word(tr, s)),
        "service": lambda c: Markup(service_name(config, c, tr.language)),
        "clinic": config.clinic.name,
        "clinic_choices": choices,
        "csrf": csrf_of(request),
    }


def page(
    request: Request,
    name: str,
    staff: Staff | None,
    status_code: int = 200,
    **values: Any,
) -> HTMLResponse:
    language = staff.account.language if staff else "id"
    tr = Translator(language)
    ctx = {**_helpers(tr, request), "staff": staff, **values}
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)


def redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def today_of(request: Request, now: datetime) -> date:
    return now.astimezone(config_of(request).clinic.tz).date()
