"""`GET /healthz` and `GET /metrics` on the console's server, and the requests' own metrics.

/healthz is for a load balancer or systemd's watchdog script: 200 while the database answers and
the bot's workers run (with the backlogs, so a person can read it too), 503 otherwise. A long
backlog is not "unhealthy" here — a restart would not shorten it; alert on /metrics instead.
Neither answer names a person.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.metrics import Metrics, status_class
from db.services.health import Backlog, backlog
from db.types import utcnow

if TYPE_CHECKING:
    from bot.app import HomecareApp

log = logging.getLogger(__name__)

# A database that has not answered in this long is down as far as anyone waiting is concerned.
DATABASE_TIMEOUT_S = 3.0


async def _backlog(hc: HomecareApp) -> Backlog | None:
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT_S):
            async with hc.db.read() as session:
                return await backlog(session, utcnow())
    except Exception as exc:  # any failure to answer is "down"; say why in the log only
        log.warning("health: the database did not answer (%s)", type(exc).__name__)
        return None


async def healthz(request: Request) -> Response:
    hc: HomecareApp = request.app.state.hc
    found = await _backlog(hc)
    stopped = sorted(name for name, alive in hc.workers().items() if not alive)
    # Webhook mode: until Telegram accepts setWebhook no update can arrive (it is retried).
    webhook_waits = hc.config.telegram.mode == "webhook" and not hc.intake.webhook_set
    healthy = found is not None and not stopped and not webhook_waits
    body: dict[str, Any] = {
        "status": "ok" if healthy else "unavailable",
        "database": "ok" if found is not None else "unreachable",
        "workers_stopped": stopped,
    }
    if hc.config.telegram.mode == "webhook":
        body["webhook"] = "not_set" if webhook_waits else "set"
    if found is not None:
        body |= {
            "inbox_backlog": found.inbox_pending,
            "outbox_backlog": found.outbox_due,
            "outbox_oldest_age_s": round(found.outbox_oldest_age_s, 1),
            "reminders_late": found.reminders_late,
            "plans_waiting": found.plans_waiting,
            "last_plan": None
            if found.last_plan_at is None
            else {"finished_at": found.last_plan_at.isoformat(), "status": found.last_plan_status},
        }
    return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)


async def metrics(request: Request) -> Response:
    hc: HomecareApp = request.app.state.hc
    token = hc.config.web.metrics_token
    if token:
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return Response("unauthorised\n", status_code=401, media_type="text/plain")
    text = hc.metrics.render(await _backlog(hc))
    return Response(text, media_type=CONTENT_TYPE_LATEST)


ROUTES = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
]


class Measured:
    """Counts and times every request by its route's template (/kunjungan/{visit_id}), never
    by its path: a path holds ids, a query may hold a login secret."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            m = self.metrics
            m.console_requests.labels(template, scope["method"], status_class(status)).inc()
            m.console_seconds.labels(template).observe(time.perf_counter() - started)
