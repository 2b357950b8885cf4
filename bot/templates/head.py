"""Templates for messages the services queue to clinic heads."""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from bot.messages import Reply
from bot.render import delivery
from bot.render.patient import head_emergency_alert
from bot.templates.registry import RenderContext, template
from db.services.escalations import digest_from_params


@template("head.emergency_alert")
def _emergency_alert(ctx: RenderContext, p: Mapping[str, Any]) -> Reply:
    patient = SimpleNamespace(**p["patient"])
    return head_emergency_alert(
        ctx.tr, ctx.config, patient, p["signs"], p["service_code"], p["now"]
    )


@template("head.digest")
def _digest(ctx: RenderContext, p: Mapping[str, Any]) -> Reply:
    return delivery.digest(ctx.tr, digest_from_params(p))
