"""GET /healthz and GET /metrics on the console's server, over real HTTP, with the bot running
against the sandbox: a booking moves the counters, labels never name a person, a database that
does not answer gives 503."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import time_machine
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from bot.app import HomecareApp, build_application
from bot.guard import FloodControl
from bot.web.app import create_web_app
from bot.web.urls import base_url
from db.models import Visit
from db.session import Database
from homecare.config import Config
from tests.patient.helpers import NOW, book, register_self, seed_staff, user

# The labels each metric may carry, with every value they may take: anything else could be a
# person's data leaking into a series name.
ALLOWED_LABELS: dict[str, set[str] | None] = {
    "source": {"polling", "webhook"},
    "kind": {
        "message",
        "edited_message",
        "callback_query",
        "my_chat_member",
        "other",
        "nightly",
        "manual",
        "replan",
        "insert",
    },
    "outcome": {"ok", "failed"},
    "status": {"1xx", "2xx", "3xx", "4xx", "5xx", "done", "failed"},
    "method": {"GET", "POST", "HEAD"},
    "le": None,  # histogram bucket bounds: numbers
    "route": None,  # checked against the app's route templates below
}


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture
def config(make_config: Callable[..., Config], sandbox: Any) -> Config:
    cfg = make_config(sandbox)
    fast = dataclasses.replace(
        cfg.delivery, per_chat_interval_s=0.01, per_chat_burst=100, global_burst=100
    )
    return cfg.replace(delivery=fast, web=dataclasses.replace(cfg.web, enabled=True, port=0))


@pytest.fixture
async def app(
    config: Config, database: Database, clock: time_machine.Traveller
) -> AsyncIterator[HomecareApp]:
    hc = build_application(config, db=database)
    hc.flood = FloodControl(burst=100_000, per_second=100_000.0)
    await hc.start()
    await seed_staff(hc)
    yield hc
    await hc.stop()


@pytest.fixture
async def http(app: HomecareApp) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url(app.config.web), timeout=10) as c:
        yield c


def samples(body: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(body):
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return found


def value(found: dict[Any, float], name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


async def scrape(http: httpx.AsyncClient) -> dict[Any, float]:
    answer = await http.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return samples(answer.text)


async def test_healthz_reports_the_backlogs_and_the_last_plan(
    app: HomecareApp, http: httpx.AsyncClient
) -> None:
    answer = await http.get("/healthz")
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["workers_stopped"] == []
    assert body["inbox_backlog"] == 0 and body["reminders_late"] == 0
    assert body["last_plan"] is None
    await app.jobs.planning.plan(NOW.date().replace(day=10), NOW, "manual")
    body = (await http.get("/healthz")).json()
    assert body["last_plan"]["status"] == "done"
    assert body["last_plan"]["finished_at"].endswith("+00:00")


async def test_a_booking_moves_the_counters_and_no_label_names_a_person(
    app: HomecareApp, client: Any, http: httpx.AsyncClient
) -> None:
    before = await scrape(http)
    nai = await user(client, "nai")
    await register_self(nai, name="Daeng Nairah")
    await book(nai)
    async with app.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Visit)) == 1
    await app.jobs.planning.plan(NOW.date().replace(day=10), NOW, "manual")
    # The relay marks a message sent just after Telegram answers: give the last one a moment.
    await asyncio.sleep(0.3)
    response = await http.get("/metrics")
    after = samples(response.text)

    received = value(after, "homecare_updates_received_total", source="polling")
    assert received - value(before, "homecare_updates_received_total", source="polling") >= 12
    for kind in ("message", "callback_query"):
        ok = value(after, "homecare_updates_handled_total", kind=kind, outcome="ok")
        assert ok > value(before, "homecare_updates_handled_total", kind=kind, outcome="ok")
        assert value(after, "homecare_handler_seconds_count", kind=kind) == ok
    handled = sum(v for (n, _), v in after.items() if n == "homecare_updates_handled_total")
    assert handled == received  # every stored update was handled, none failed
    sent = value(after, "homecare_messages_sent_total")
    assert sent - value(before, "homecare_messages_sent_total") >= 12
    assert value(after, "homecare_telegram_429_total") == 0
    assert value(after, "homecare_plans_total", kind="manual", status="done") == 1
    assert value(after, "homecare_plan_seconds_count", kind="manual") == 1
    assert value(after, "homecare_database_up") == 1
    assert value(after, "homecare_inbox_backlog") == 0
    assert value(after, "homecare_last_plan_finished_timestamp_seconds") > 0
    # The scrape before this one is counted under its route's template.
    assert (
        value(
            after, "homecare_console_requests_total", route="/metrics", method="GET", status="2xx"
        )
        >= 1
    )

    templates = {getattr(r, "path", "") for r in create_web_app(app).routes} | {"unmatched"}
    for (name, labels), _ in after.items():
        for key, label_value in labels:
            assert key in ALLOWED_LABELS, (name, key)
            allowed = ALLOWED_LABELS[key]
            if key == "route":
                assert label_value in templates, (name, label_value)
            elif allowed is not None:
                assert label_value in allowed, (name, key, label_value)
    for private in ("Nairah", "Daeng", str(nai.id), nai.phone_number, "Karunrung", "Luka"):
        assert private not in response.text


async def test_requests_are_counted_by_route_template_not_by_path(
    app: HomecareApp, http: httpx.AsyncClient
) -> None:
    assert (await http.get("/kunjungan/987654")).status_code == 401
    assert (await http.get("/masuk", params={"t": "secret-in-the-query"})).status_code in (
        200,
        400,
        401,
    )
    assert (await http.get("/no/such/page")).status_code == 404
    body = (await http.get("/metrics")).text
    found = samples(body)
    assert (
        value(
            found,
            "homecare_console_requests_total",
            route="/kunjungan/{visit_id}",
            method="GET",
            status="4xx",
        )
        == 1
    )
    assert (
        value(
            found, "homecare_console_requests_total", route="unmatched", method="GET", status="4xx"
        )
        == 1
    )
    assert "987654" not in body and "secret-in-the-query" not in body and "no/such" not in body


async def test_metrics_ask_for_the_token_when_one_is_set(
    app: HomecareApp, http: httpx.AsyncClient
) -> None:
    app.config = app.config.replace(
        web=dataclasses.replace(app.config.web, metrics_token="s3cret-scrape-token")
    )
    assert (await http.get("/metrics")).status_code == 401
    wrong = await http.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    right = await http.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape-token"})
    assert right.status_code == 200 and "homecare_database_up" in right.text
    # Health stays open: a load balancer has no token.
    assert (await http.get("/healthz")).status_code == 200


async def test_a_stopped_worker_makes_healthz_503(
    app: HomecareApp, http: httpx.AsyncClient
) -> None:
    relay = next(t for t in app._tasks if t.get_name() == "outbox-relay")
    relay.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await relay
    answer = await http.get("/healthz")
    assert answer.status_code == 503
    assert answer.json()["workers_stopped"] == ["outbox-relay"]


def _break_sqlite_file(path: Path, *, broken: bool) -> None:
    """Swap the database file for a link to a directory ("unable to open database file") and
    back, each in one atomic rename: a connection opened in between a two-step swap would
    create an empty database at the path and keep it open after the restore."""
    aside = path.with_suffix(".aside")
    if broken:
        os.link(path, aside)
        nowhere = path.with_suffix(".nowhere")
        nowhere.mkdir(exist_ok=True)
        link = path.with_suffix(".link")
        link.symlink_to(nowhere)
        os.replace(link, path)
    else:
        os.replace(aside, path)


@contextlib.asynccontextmanager
async def database_down(db: Database) -> AsyncIterator[None]:
    """Make the database refuse every connection for a while, for real."""
    if db.is_sqlite:
        path = Path(make_url(db.url).database or "")
        await db.engine.dispose()
        _break_sqlite_file(path, broken=True)
        try:
            yield
        finally:
            _break_sqlite_file(path, broken=False)
        return
    url = make_url(db.url)
    admin = Database(url.set(database="postgres").render_as_string(hide_password=False))
    name = url.database
    try:
        async with admin.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false'))
            await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
        await db.engine.dispose()
        yield
    finally:
        async with admin.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
        await admin.dispose()


async def test_a_database_that_does_not_answer_gives_503(
    app: HomecareApp, http: httpx.AsyncClient
) -> None:
    assert (await http.get("/healthz")).status_code == 200
    async with database_down(app.db):
        answer = await http.get("/healthz")
        assert answer.status_code == 503
        assert answer.json() == {
            "status": "unavailable",
            "database": "unreachable",
            "workers_stopped": [],
        }
        scraped = await http.get("/metrics")
        assert scraped.status_code == 200
        assert value(samples(scraped.text), "homecare_database_up") == 0
    # Back: the engine reconnects by itself.
    assert (await http.get("/healthz")).status_code == 200
