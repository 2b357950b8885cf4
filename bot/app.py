"""`build_application(config)`: the one place that wires handlers, jobs and services.

Production (`homecare run`), the demo and every story test build the app here, the same way.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
from typing import TYPE_CHECKING, Any

from telegram.ext import Application, ApplicationBuilder, ContextTypes

from bot.clinics import ClinicDirectory
from bot.delivery import Relay
from bot.guard import FloodControl
from bot.handlers import register_handlers
from bot.handlers.common import apologise
from bot.i18n import LANGUAGES
from bot.intake import Intake
from bot.jobs import JobRunner
from bot.menus import commands_payload
from bot.metrics import Metrics
from bot.turn import CallbackAnswer, HomecareContext, Turn
from db.services import outbox
from db.services.accounts import ensure_clinic
from db.session import Database
from homecare.config import ClinicConfig, Config

if TYPE_CHECKING:
    from bot.web.server import WebServer

log = logging.getLogger(__name__)


def _digest(payload: dict[str, Any]) -> str:
    """Same menu → same key, so a restart queues it once; a changed menu is queued again."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def file_base_url(base_url: str) -> str:
    """Telegram serves files under /file/bot<token>; the same shape for the sandbox."""
    head, _, _ = base_url.rstrip("/").rpartition("/bot")
    return f"{head}/file/bot"


class HomecareApp:
    """Everything a running bot is made of; `start()`/`stop()` run it inside an event loop."""

    def __init__(
        self, config: Config, db: Database, application: Application[Any, Any, Any, Any, Any, Any]
    ) -> None:
        self.config = config
        self.db = db
        self.application = application
        self.clinic_id = 0  # the first clinic (bot.clinics.ClinicDirectory.default_id)
        self.clinics = ClinicDirectory(config)
        self.intake = Intake(self, on_committed=self._after_commit, apologise=apologise)
        self.relay = Relay(self)
        self.jobs = JobRunner(self)
        self.flood = FloodControl()
        self.metrics = Metrics(relay_stats=lambda: self.relay.stats)
        self._tasks: list[asyncio.Task[None]] = []
        self._setup: list[asyncio.Task[None]] = []
        self._answering: set[asyncio.Task[None]] = set()
        self.web: WebServer | None = None
        application.bot_data["homecare"] = self

    async def prepare(self) -> None:
        """Make sure every clinic's row exists and the default menus are queued."""
        async with self.db.transaction() as session:
            for c in self.config.clinics:
                self.clinics.ids[c.code] = await ensure_clinic(session, c.code, c.name, c.timezone)
            self.clinic_id = self.clinics.default_id
            for language in LANGUAGES:
                payload: dict[str, Any] = {"commands": commands_payload(frozenset(), language)}
                if language != "id":
                    payload["language_code"] = language
                await outbox.queue(
                    session,
                    chat_id=0,
                    method="setMyCommands",
                    payload=payload,
                    kind="menu",
                    dedupe_key=f"menu:default:{language}:{_digest(payload)}",
                )

    async def start(self) -> None:
        await self.prepare()
        await self.application.initialize()
        await self.relay.recover()
        webhook = self.config.telegram.mode == "webhook"
        self._tasks = [
            asyncio.create_task(self.intake.work_forever(), name="intake-worker"),
            asyncio.create_task(self.relay.run_forever(), name="outbox-relay"),
        ]
        if not webhook:
            self._tasks.append(
                asyncio.create_task(self.intake.poll_forever(), name="intake-poller")
            )
        await self.jobs.start()
        if self.config.web.enabled:
            await self._start_web()
        if webhook:  # after the server listens, so Telegram's first post finds the route
            # A start-up step, not a worker: once done it is not "stopped" (intake.webhook_set).
            self._setup.append(
                asyncio.create_task(self.intake.set_webhook(), name="intake-set-webhook")
            )
        log.info("homecare bot running for %s", ", ".join(c.name for c in self.config.clinics))

    def workers(self) -> dict[str, bool]:
        """The long-running tasks by name, and whether each still runs (GET /healthz)."""
        return {task.get_name(): not task.done() for task in self._tasks}

    async def _start_web(self) -> None:
        from bot.web.app import create_web_app
        from bot.web.server import WebServer

        web = self.config.web
        self.web = WebServer(create_web_app(self), web.host, web.port)
        port = await self.web.start()
        if port != web.port:  # port 0: links must name the port the system chose
            self.config = self.config.replace(web=dataclasses.replace(web, port=port))
            self.clinics.rebind(self.config)

    def clinic(self, clinic_id: int | None) -> ClinicConfig:
        """One clinic's settings (the first clinic's for an unknown id)."""
        return self.clinics.clinic(clinic_id)

    async def stop(self) -> None:
        if self.web is not None:
            await self.web.stop()
            self.web = None
        self.intake.stop()
        self.relay.stop()
        await self.jobs.stop()
        # The relay ends its sends itself (cancelling it mid-database-call would not stop the call).
        await self.relay.wait_closed()
        if self._answering:
            await asyncio.wait(self._answering, timeout=5.0)
        for task in (*self._tasks, *self._setup):
            task.cancel()
        await asyncio.gather(*self._tasks, *self._setup, return_exceptions=True)
        self._tasks, self._setup = [], []
        await self.application.shutdown()
        await self.db.dispose()

    async def _after_commit(self, turn: Turn) -> None:
        if turn.outbox_ids:
            self.relay.wake(turn.outbox_ids)
        if turn.compact:
            task = asyncio.create_task(self._compact(), name="compact")
            self._answering.add(task)
            task.add_done_callback(self._answering.discard)
        if turn.callback_answer is not None:
            # Answered beside the intake worker, not by it: the next update need not wait for
            # this round trip, and the spinner on the person's button stops at once.
            task = asyncio.create_task(self._answer(turn.callback_answer), name="answer-button")
            self._answering.add(task)
            task.add_done_callback(self._answering.discard)

    async def _compact(self) -> None:
        await self.jobs.privacy.compact()

    async def _answer(self, a: CallbackAnswer) -> None:
        try:
            await self.application.bot.answer_callback_query(
                a.query_id, text=a.text, show_alert=a.alert
            )
        except Exception as exc:  # an unanswered button only spins a while; not worth more
            log.info("answerCallbackQuery failed: %s", exc)


def build_application(config: Config, db: Database | None = None) -> HomecareApp:
    """Wire the bot: PTB application (without its own polling), handlers, database, jobs."""
    token = config.telegram.token
    if not token:
        raise ValueError("build_application needs a token (the demo sets the sandbox's)")
    application = (
        ApplicationBuilder()
        .token(token)
        .base_url(config.telegram.base_url)
        .base_file_url(file_base_url(config.telegram.base_url))
        .context_types(ContextTypes(context=HomecareContext))
        # We poll ourselves (bot.intake): PTB's updater would confirm updates too early.
        .updater(None)
        .job_queue(None)
        .connection_pool_size(16)
        .read_timeout(config.telegram.request_timeout_s)
        .write_timeout(config.telegram.request_timeout_s)
        .build()
    )
    register_handlers(application)
    database = db or Database(config.database.url, echo=config.database.echo)
    return HomecareApp(config, database, application)
