"""The running bot's metrics in Prometheus' text format (`GET /metrics`, bot/web/health.py).

One registry per app, not prometheus-client's global one: tests run several apps in a process.
Labels are fixed words only (update kind, outcome, a route's template, a status class) — never
a chat, a name or a visit id, so a scrape holds no personal data and its series stay few.

Counters move where the work happens (intake, plan worker, console); the backlog gauges and the
relay's tallies are read when scraped, from the database and `Relay.stats`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from db.services.health import Backlog

UPDATE_KINDS = frozenset({"message", "edited_message", "callback_query", "my_chat_member"})
# Relay.stats keys → (metric, help). 429s are their own metric: the one an operator alerts on.
RELAY_COUNTERS = {
    "sent": ("homecare_messages_sent", "Bot API calls of the outbox that Telegram accepted"),
    "rate_limited": (
        "homecare_telegram_429",
        "Times Telegram answered 429 Too Many Requests to the outbox",
    ),
    "undeliverable": (
        "homecare_messages_undeliverable",
        "Messages Telegram will not deliver (the person blocked the bot, the chat is gone)",
    ),
    "failed": ("homecare_messages_failed", "Messages given up after their last attempt"),
    "retried": ("homecare_messages_retried", "Attempts to be repeated after an error"),
    "uncertain": (
        "homecare_messages_uncertain",
        "Attempts whose outcome is unknown (a timeout after sending); repeated",
    ),
}


def update_kind(payload: Mapping[str, object]) -> str:
    return next((k for k in payload if k in UPDATE_KINDS), "other")


def status_class(code: int) -> str:
    return f"{code // 100}xx"


class _Scraped(Collector):
    """Values read at scrape time: the last backlog snapshot and the relay's tallies."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        m = self.metrics
        for key, (name, help_text) in RELAY_COUNTERS.items():
            family = CounterMetricFamily(name, help_text)
            family.add_metric([], float(m.relay_stats().get(key, 0)))
            yield family
        up = GaugeMetricFamily("homecare_database_up", "1 when the database answered the scrape")
        up.add_metric([], 1.0 if m.backlog is not None else 0.0)
        yield up
        b = m.backlog
        if b is None:
            return
        gauges: list[tuple[str, str, float]] = [
            ("homecare_inbox_backlog", "Updates stored and not yet handled", b.inbox_pending),
            ("homecare_outbox_backlog", "Messages due and not yet sent", b.outbox_due),
            (
                "homecare_outbox_oldest_age_seconds",
                "How long the oldest due message has waited",
                b.outbox_oldest_age_s,
            ),
            (
                "homecare_reminders_late",
                "Pending reminders more than two minutes past their moment",
                b.reminders_late,
            ),
            ("homecare_plans_waiting", "Plan runs queued or running", b.plans_waiting),
        ]
        if b.last_plan_at is not None:
            gauges.append(
                (
                    "homecare_last_plan_finished_timestamp_seconds",
                    "When the last plan run finished (Unix time)",
                    b.last_plan_at.timestamp(),
                )
            )
        for name, help_text, value in gauges:
            yield GaugeMetricFamily(name, help_text, value=float(value))


class Metrics:
    def __init__(self, relay_stats: Callable[[], Mapping[str, int]] = dict) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.relay_stats = relay_stats
        self.backlog: Backlog | None = None
        self.updates_received = Counter(
            "homecare_updates_received",
            "Telegram updates stored in the inbox, by how they came",
            ["source"],
            registry=r,
        )
        self.updates_handled = Counter(
            "homecare_updates_handled",
            "Updates handled, by kind and outcome (ok, failed: the person got an apology)",
            ["kind", "outcome"],
            registry=r,
        )
        self.handler_seconds = Histogram(
            "homecare_handler_seconds",
            "Time to handle one update, its transaction included",
            ["kind"],
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=r,
        )
        self.plans = Counter(
            "homecare_plans",
            "Plan runs finished, by kind (nightly, manual, replan, insert) and status",
            ["kind", "status"],
            registry=r,
        )
        self.plan_seconds = Histogram(
            "homecare_plan_seconds",
            "Time of one plan run that was written (read, solve, write), by kind",
            ["kind"],
            buckets=(0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0),
            registry=r,
        )
        self.console_requests = Counter(
            "homecare_console_requests",
            "Requests to the web server, by route template, method and status class",
            ["route", "method", "status"],
            registry=r,
        )
        self.console_seconds = Histogram(
            "homecare_console_request_seconds",
            "Time to answer one request to the web server, by route template",
            ["route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=r,
        )
        r.register(_Scraped(self))

    def plan_finished(self, kind: str, status: str, runtime_s: float) -> None:
        self.plans.labels(kind, status).inc()
        if status == "done":  # a failed run's time is not measured (see planning/run.py)
            self.plan_seconds.labels(kind).observe(runtime_s)

    def render(self, backlog: Backlog | None) -> bytes:
        """The text format, with `backlog` (None: the database did not answer)."""
        self.backlog = backlog
        return generate_latest(self.registry)
