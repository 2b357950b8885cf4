"""GET /klinik/{code}: a city admin picks the clinic the console shows (board, log, reports,
exports, planning, staff). Everyone else is bound to their own clinic: 403."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.web.context import CLINIC_COOKIE, hc_of, redirect, require_staff
from bot.web.urls import secure_cookies


async def pick_clinic(request: Request) -> Response:
    staff = await require_staff(request)
    if not staff.is_city_admin:
        raise HTTPException(403)
    hc = hc_of(request)
    code = request.path_params["code"]
    if hc.config.clinic_by_code(code) is None or code not in hc.clinics.ids:
        raise HTTPException(404)
    response = redirect("/papan")
    response.set_cookie(
        CLINIC_COOKIE,
        str(hc.clinics.id_of(code)),
        max_age=hc.config.web.session_max_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(hc.config.web),
        path="/",
    )
    return response


ROUTES = [Route("/klinik/{code}", pick_clinic, methods=["GET"])]
