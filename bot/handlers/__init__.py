"""Handlers, one module per audience. `register_handlers` is the only place they are added."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, BaseHandler

from bot.guard import guarded
from bot.handlers import (
    common,
    confirm,
    console,
    head,
    head_reports,
    nurse,
    patient,
    plan_now,
    series_head,
    series_nurse,
    staff,
    start,
)

# Feature modules export HANDLERS (group 0). Order matters only within a group.
# The head's modules come before the family's: the family's typed-answer handler takes any text.
# The nurse's note handler reads only a nurse's text in her "Selesai" step; any other text falls
# through to the family's handler after it.
FEATURE_MODULES: tuple[Any, ...] = (
    start,
    common,
    confirm,
    head,
    head_reports,
    series_head,
    staff,
    nurse,
    plan_now,
    series_nurse,
    console,
    patient,
)


def _guard_all(handlers: list[BaseHandler[Any, Any, Any]]) -> list[BaseHandler[Any, Any, Any]]:
    for h in handlers:
        if not getattr(h.callback, "__wrapped_key__", None):
            h.callback = guarded(h.callback)  # type: ignore[assignment]
    return handlers


def register_handlers(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    # One group: the first matching handler takes the update; the fallbacks come last.
    for module in FEATURE_MODULES:
        application.add_handlers(_guard_all(module.HANDLERS))
    application.add_handlers(_guard_all(common.FALLBACKS))
    application.add_error_handler(common.on_error)  # type: ignore[arg-type]
