"""GET /kunjungan/unduh?format=csv|xlsx|fhir&…: the visit log's filtered set as a file.

The filter is read exactly as the log page reads it (`pages.log_filter`), so the file holds
what the page listed. Every download is written to the audit chain. CSV comes as a zip of the
three tables (visits, status history, feedback), as `homecare export` writes them.
"""

from __future__ import annotations

import asyncio
import io
import zipfile

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.i18n import Translator
from bot.web.context import config_of, hc_of, page, require_staff, today_of
from bot.web.pages import log_filter
from db.services import exports, log_export
from db.services.console_auth import Staff
from db.types import utcnow


def _zip(files: list[exports.ExportFile]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for f in files:
            z.writestr(f.filename, f.content)
    return buf.getvalue()


async def download(request: Request) -> Response:
    staff = await require_staff(request, head=True)
    hc = hc_of(request)
    fmt = request.query_params.get("format", "")
    if fmt not in exports.FORMATS:
        raise HTTPException(404)
    found = log_filter(request, today_of(request, utcnow()), config_of(request).clinic.service_area)
    if isinstance(found, str):
        return page(request, "refused.html", staff, status_code=400, text=staff_text(staff, found))
    clinic = config_of(request).clinic
    async with hc.db.read() as session:
        data = await log_export.filtered(session, staff.clinic_id, clinic.code, found, clinic.tz)
    try:
        # Rendering a month as XLSX takes a second of CPU: off the event loop, which the bot shares.
        result = await asyncio.to_thread(exports.render_files, data, fmt)
    except exports.ExportError:
        return page(
            request,
            "refused.html",
            staff,
            status_code=500,
            text=staff_text(staff, "console.web.export_failed"),
        )
    async with hc.db.transaction(urgent=True) as session:
        await log_export.record(session, staff.clinic_id, staff.account, staff.role, found, fmt)
    if fmt == "csv":
        stem = f"{clinic.code}-{found.start.isoformat()}_{found.end.isoformat()}"
        body, name, mime = _zip(result.files), f"{stem}-csv.zip", "application/zip"
    else:
        file = result.files[0]
        body, name, mime = file.content, file.filename, file.mime
    return Response(
        body,
        media_type=mime,
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


def staff_text(staff: Staff, key: str) -> str:
    return Translator(staff.account.language)(key)


ROUTES = [Route("/kunjungan/unduh", download)]
