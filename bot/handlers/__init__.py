"""Handlers, one module per audience. `register_handlers` is the only place they are added."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application

from bot.handlers import common

# Feature modules export HANDLERS (group 0). Order matters only within a group.
FEATURE_MODULES = (common,)


def register_handlers(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    for module in FEATURE_MODULES:
        application.add_handlers(module.HANDLERS, group=0)
    application.add_handlers(common.FALLBACKS, group=1)
    application.add_error_handler(common.on_error)  # type: ignore[arg-type]
