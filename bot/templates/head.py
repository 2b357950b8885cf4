"""Templates for messages the services queue to clinic heads."""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from bot.messages import Reply
from bot.render import delivery
from bot.render.formats import day_long, visit_code
from bot.render.patient import head_emergency_alert
from bot.render.patient.location import km_text
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


@template("location.head_unplaced")
def _far_pin_unplaced(ctx: RenderContext, p: Mapping[str, Any]) -> Reply:
    """A visit left out because the home's pin lies far away (planning/write.py)."""
    return Reply(
        ctx.tr(
            "location.head_unplaced",
            code=visit_code(p["code"]),
            day=day_long(ctx.tr, p["day"]),
            km=km_text(ctx.tr, p["km"]),
        )
    )
