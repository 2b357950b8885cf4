"""One table decides who may use each handler.

`GUARD` maps every handler callback ("module.function") to the roles allowed to reach it.
`register_handlers` wraps each callback with `guarded(...)`, and refuses to start when a handler has
no entry — so a new handler cannot be added without deciding who may use it. Record-level checks
(a nurse only her assigned visits, a caregiver only linked patients, a head only their own clinic)
are made by the services that load the records (`db/services/access.py`).

Roles: "guest" is anyone without a role yet (a newcomer may register and book).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update

from bot.render.common import plain
from bot.turn import HomecareContext, Turn

EVERYONE = frozenset({"guest", "patient", "caregiver", "nurse", "head", "admin", "city_admin"})
FAMILY = frozenset({"guest", "patient", "caregiver"})
NURSE = frozenset({"nurse"})
HEAD = frozenset({"head", "admin"})
STAFF = NURSE | HEAD

GUARD: dict[str, frozenset[str]] = {
    "bot.handlers.start.start": EVERYONE,
    "bot.handlers.common.help_command": EVERYONE,
    "bot.handlers.common.language_command": EVERYONE,
    "bot.handlers.common.language_chosen": EVERYONE,
    "bot.handlers.common.unknown_command": EVERYONE,
    "bot.handlers.common.not_understood": EVERYONE,
    "bot.handlers.common.unknown_button": EVERYONE,
    # Answers to the evening reminder; the visit must be the presser's (db.services.access).
    "bot.handlers.confirm.confirm_button": FAMILY,
    # Family journey (bot/handlers/patient.py). Typed answers and step buttons are open to all:
    # flows are started only by the entries below, and /data_saya serves staff too.
    "bot.handlers.patient.request_visit": FAMILY,
    "bot.handlers.patient.my_visits": FAMILY,
    "bot.handlers.patient.patients_command": FAMILY,
    "bot.handlers.patient.my_data": EVERYONE,
    "bot.handlers.patient.quit_command": EVERYONE,
    "bot.handlers.patient.on_step_button": EVERYONE,
    "bot.handlers.patient.on_feedback_button": FAMILY,
    "bot.handlers.patient.on_book_now_button": FAMILY,
    "bot.handlers.patient.on_other_day_button": FAMILY,
    "bot.handlers.patient.on_message": EVERYONE,
    # Clinic head (bot/handlers/head.py, head_reports.py, staff.py); records are confined to the
    # head's own clinic by db.services.access. Invites are used through bot.handlers.start.
    "bot.handlers.head.board_command": HEAD,
    "bot.handlers.head.board_refresh": HEAD,
    "bot.handlers.head.log_command": HEAD,
    "bot.handlers.head.log_page": HEAD,
    "bot.handlers.head.log_filter_menu": HEAD,
    "bot.handlers.head.log_filter_set": HEAD,
    "bot.handlers.head.log_detail": HEAD,
    "bot.handlers.head.reassign_menu": HEAD,
    "bot.handlers.head.reassign_do": HEAD,
    "bot.handlers.head.audit_command": HEAD,
    "bot.handlers.head.invite_command": HEAD,
    "bot.handlers.head.invite_name_reply": HEAD,
    "bot.handlers.head_reports.report_command": HEAD,
    "bot.handlers.head_reports.report_period": HEAD,
    "bot.handlers.head_reports.export_command": HEAD,
    "bot.handlers.head_reports.export_range": HEAD,
    "bot.handlers.head_reports.export_run": HEAD,
    "bot.handlers.staff.staff_command": HEAD,
    "bot.handlers.staff.staff_list": HEAD,
    "bot.handlers.staff.nurse_card": HEAD,
    "bot.handlers.staff.skill_toggle": HEAD,
    "bot.handlers.staff.cap_change": HEAD,
    "bot.handlers.staff.active_ask": HEAD,
    "bot.handlers.staff.active_set": HEAD,
    "bot.handlers.staff.leave_menu": HEAD,
    "bot.handlers.staff.leave_day": HEAD,
    "bot.handlers.staff.leave_record": HEAD,
    "bot.handlers.staff.leave_approve": HEAD,
    "bot.handlers.staff.leave_refuse": HEAD,
    # The nurse's day (bot/handlers/nurse.py); a nurse reaches only visits assigned to her
    # (db.services.access.nurse_visit). /rencana plans now, for heads.
    "bot.handlers.nurse.schedule_today": NURSE,
    "bot.handlers.nurse.schedule_tomorrow": NURSE,
    "bot.handlers.nurse.leave_command": NURSE,
    "bot.handlers.nurse.show_list": NURSE,
    "bot.handlers.nurse.open_stop": NURSE,
    "bot.handlers.nurse.stop_action": NURSE,
    "bot.handlers.nurse.confirm_action": NURSE,
    "bot.handlers.nurse.sick_button": NURSE,
    "bot.handlers.nurse.done_note": NURSE,
    "bot.handlers.plan_now.plan_now": HEAD,
    # Follow-up and series (bot/handlers/series_*.py).
    "bot.handlers.series_nurse.follow_up_button": NURSE,
    "bot.handlers.series_head.series_command": HEAD,
    # The web console's login link (bot/handlers/console.py); the service checks the role again.
    "bot.handlers.console.console_link": STAFF | {"city_admin"},
}

Callback = Callable[[Update, HomecareContext], Awaitable[Any]]


class FloodControl:
    """A token bucket per account: a person (or a stuck client) sending faster than anyone types
    gets one polite "slow down", then is ignored until the bucket refills. In memory on purpose:
    it protects this process, and forgetting it on restart is harmless."""

    def __init__(
        self, burst: int = 15, per_second: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.clock = clock
        self.burst = burst
        self.per_second = per_second
        self._buckets: dict[int, tuple[float, float, bool]] = {}  # tokens, stamp, warned

    def check(self, account_id: int, now: float | None = None) -> str:
        """Returns "ok", "warn" (the first refusal: tell them) or "drop"."""
        now = self.clock() if now is None else now
        tokens, stamp, warned = self._buckets.get(account_id, (float(self.burst), now, False))
        tokens = min(float(self.burst), tokens + (now - stamp) * self.per_second)
        if tokens >= 1.0:
            self._buckets[account_id] = (tokens - 1.0, now, False)
            return "ok"
        self._buckets[account_id] = (tokens, now, True)
        return "drop" if warned else "warn"

    def refund(self, account_id: int) -> None:
        """Give back one charge: the update is handled again (its batch was rolled back)."""
        if account_id in self._buckets:
            tokens, stamp, warned = self._buckets[account_id]
            self._buckets[account_id] = (min(float(self.burst), tokens + 1.0), stamp, warned)


def key_of(callback: Callable[..., Any]) -> str:
    return f"{callback.__module__}.{callback.__qualname__}"


def effective_roles(roles: frozenset[str]) -> frozenset[str]:
    return roles or frozenset({"guest"})


def allowed(roles: frozenset[str], key: str) -> bool:
    return bool(GUARD[key] & effective_roles(roles))


async def _refuse(turn: Turn, update: Update, key: str) -> None:
    """Say `key` where the person will see it: the button's answer, or a message."""
    if update.callback_query is not None:
        turn.answer(update.callback_query.id, turn.tr(key))
    else:
        await turn.reply(plain(turn.tr, key))


def guarded(callback: Callback) -> Callback:
    key = key_of(callback)
    if key not in GUARD:
        raise RuntimeError(f"handler {key} has no entry in bot.guard.GUARD")

    @functools.wraps(callback)
    async def wrapper(update: Update, context: HomecareContext) -> Any:
        turn = context.turn
        if turn.account is not None:
            verdict = context.hc.flood.check(turn.account.id)
            turn.flood_charged = verdict == "ok"
            if verdict != "ok":
                if verdict == "warn":
                    await turn.reply(plain(turn.tr, "common.too_fast"))
                if update.callback_query is not None:
                    turn.answer(update.callback_query.id)
                return None
        deleted = turn.account is not None and turn.account.deleted_at is not None
        if deleted and key != "bot.handlers.start.start":
            # After a deletion request nothing is processed except /start (register anew); the
            # person is told so rather than met with silence.
            await _refuse(turn, update, "common.after_deletion")
            return None
        if not allowed(turn.roles, key):
            await _refuse(turn, update, "common.not_allowed")
            return None
        return await callback(update, context)

    wrapper.__wrapped_key__ = key  # type: ignore[attr-defined]
    return wrapper
