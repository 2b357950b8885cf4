"""Templates for reminders (db/services/reminders.py): to patients, caregivers and nurses."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import time
from typing import Any

from bot.messages import Reply
from bot.render import delivery as render
from bot.templates.registry import RenderContext, template


def _service(ctx: RenderContext, code: str) -> str:
    """The service's name in the recipient's language (its code if no longer configured)."""
    service = ctx.config.service(code)
    return service.name(ctx.tr.language) if service else code


def _window(p: Mapping[str, Any]) -> tuple[time, time]:
    start, end = p["window"]
    return start, end


@template("reminders.evening_question")
def _evening_question(ctx: RenderContext, p: Mapping[str, Any]) -> Reply:
    return render.evening_question(
        ctx.tr,
        visit_id=p["visit_id"],
        patient=p["patient"],
        service=_service(ctx, p["service"]),
        day=p["day"],
        window=_window(p),
    )


@template("reminders.before_arrival")
def _before_arrival(ctx: RenderContext, p: Mapping[str, Any]) -> Reply:
    return render.before_arrival(
        ctx.tr,
        patient=p["patient"],
        service=_service(ctx, p["service"]),
        nurse=p["nurse"],
        arrival=p["arrival"],
        window=_window(p),
        tz=ctx.config.clinic.tz,
    )


@template("reminders.nurse_before_visit")
def _nurse_before_visit(ctx: RenderContext, p: Mapping[str, Any]) -> Reply:
    return render.nurse_before_visit(
        ctx.tr,
        patient=p["patient"],
        service=_service(ctx, p["service"]),
        arrival=p["arrival"],
        address=p["address"],
        tz=ctx.config.clinic.tz,
    )


@template("reminders.nurse_unconfirmed")
def _nurse_unconfirmed(ctx: RenderContext, p: Mapping[str, Any]) -> Reply:
    return render.nurse_unconfirmed(
        ctx.tr,
        patient=p["patient"],
        service=_service(ctx, p["service"]),
        day=p["day"],
        window=_window(p),
        phone=p["phone"],
        asked=p.get("asked", True),  # rows queued before the flag existed said "not answered"
    )


@template("reminders.nurse_confirmed_late")
def _nurse_confirmed_late(ctx: RenderContext, p: Mapping[str, Any]) -> Reply:
    return render.nurse_confirmed_late(
        ctx.tr, patient=p["patient"], day=p["day"], window=_window(p)
    )
