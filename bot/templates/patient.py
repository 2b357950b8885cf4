"""Templates for messages the services queue to patients and caregivers."""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from bot.messages import Reply
from bot.render.patient import conversation_expired, feedback_request
from bot.templates.registry import RenderContext, template


@template("patient.feedback_request")
def _feedback_request(ctx: RenderContext, p: Mapping[str, Any]) -> Reply:
    visit = SimpleNamespace(id=p["visit_id"], code=p["code"], day=p["day"])
    return feedback_request(ctx.tr, visit)


@template("patient.conversation_expired")
def _conversation_expired(ctx: RenderContext, p: Mapping[str, Any]) -> Reply:
    return conversation_expired(ctx.tr, p["flow"])
