"""Templates for follow-up and series notices to families (db/services/series.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.messages import Reply
from bot.render import series as render
from bot.templates.registry import RenderContext, template


@template("series.follow_up")
def _follow_up(ctx: RenderContext, p: Mapping[str, Any]) -> Reply:
    return render.family_follow_up(ctx.tr, ctx.config, p)


@template("series.created")
def _created(ctx: RenderContext, p: Mapping[str, Any]) -> Reply:
    return render.family_created(ctx.tr, ctx.config, p)
