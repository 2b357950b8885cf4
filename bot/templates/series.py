"""Templates for follow-up and series notices (db/services/series.py, series_cancel.py)."""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from bot.messages import Reply
from bot.render import series as render
from bot.render.patient import patient_name_html
from bot.templates.registry import RenderContext, template


@template("series.follow_up")
def _follow_up(ctx: RenderContext, p: Mapping[str, Any]) -> Reply:
    return render.family_follow_up(ctx.tr, ctx.config, p)


@template("series.created")
def _created(ctx: RenderContext, p: Mapping[str, Any]) -> Reply:
    return render.family_created(ctx.tr, ctx.config, p)


@template("series.staff_cancelled_rest")
def _staff_cancelled_rest(ctx: RenderContext, p: Mapping[str, Any]) -> Reply:
    patient = SimpleNamespace(**p["patient"]) if p["patient"] is not None else None
    return render.staff_cancelled_rest(ctx.tr, p, patient_name_html(ctx.tr, patient))
