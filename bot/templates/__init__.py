"""Message templates: render the outbox's intents at send time (db/intents.py, bot/delivery.py).

Importing this package registers every template; one module per audience, beside bot/render.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from bot.i18n import Translator, normalise_language
from bot.templates import head, nurse, patient, reminders, satusehat, series, staff
from bot.templates.registry import TEMPLATES, RenderContext, Rendered, TemplateError, render
from homecare.config import Config

__all__ = ["TEMPLATES", "RenderContext", "Rendered", "TemplateError", "render", "render_intent"]

# imported for their registrations
_AREAS = (head, nurse, patient, reminders, satusehat, series, staff)


async def render_intent(
    key: str,
    params: Mapping[str, Any],
    *,
    chat_id: int,
    language: str | None,
    config: Config,
) -> Rendered:
    """Render `key` for `chat_id` in `language` (the recipient's now; None: the default)."""
    ctx = RenderContext(Translator(normalise_language(language)), config, chat_id)
    found = TEMPLATES.get(key)
    if found is not None and found.heavy:
        return await asyncio.to_thread(render, key, ctx, params)
    return render(key, ctx, params)
