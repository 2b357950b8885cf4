"""The template registry: intent key → a function that renders it (see db/intents.py).

A template is pure: `(ctx, params) -> Reply | Rendered`. It gets the recipient's language of
the moment of sending through `ctx.tr`, and clinic settings (service names, phone numbers)
through `ctx.config`, so a message reads right even when those changed after it was queued.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.i18n import Translator
from bot.messages import Reply, to_payload
from homecare.config import Config
from homecare.errors import HomecareError


class TemplateError(HomecareError, LookupError):
    """An intent names no known template, or its parameters do not fit the template."""


@dataclass(frozen=True)
class RenderContext:
    tr: Translator
    config: Config
    chat_id: int


@dataclass(frozen=True)
class Rendered:
    """A Bot API call: `payload` may name `__attachment__` {field, filename} for `attachment`."""

    method: str
    payload: dict[str, Any]
    attachment: bytes | None = None


Render = Callable[[RenderContext, Mapping[str, Any]], "Reply | Rendered"]


@dataclass(frozen=True)
class Template:
    key: str
    render: Render
    # Slow to render (a drawn picture): the relay renders it off the event loop.
    heavy: bool = False


TEMPLATES: dict[str, Template] = {}


def template(key: str, *, heavy: bool = False) -> Callable[[Render], Render]:
    """Register the decorated function as the renderer of intents with `key`."""

    def register(fn: Render) -> Render:
        if key in TEMPLATES:
            raise TemplateError(f"template {key!r} registered twice")
        TEMPLATES[key] = Template(key, fn, heavy)
        return fn

    return register


def render(key: str, ctx: RenderContext, params: Mapping[str, Any]) -> Rendered:
    """Render one intent; TemplateError when the key is unknown or a parameter is missing."""
    found = TEMPLATES.get(key)
    if found is None:
        raise TemplateError(f"no template {key!r}")
    try:
        out = found.render(ctx, params)
    except (KeyError, TypeError) as exc:
        raise TemplateError(f"template {key!r} cannot render {sorted(params)}: {exc}") from exc
    if isinstance(out, Reply):
        return Rendered("sendMessage", to_payload(ctx.chat_id, out))
    return out
