"""Templates for notes the services queue to staff (heads and nurses) about visits."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from types import SimpleNamespace
from typing import Any

from bot.menus import commands_payload
from bot.messages import Reply
from bot.render.head.staff import (
    leave_note,
    reassign_note_family,
    reassign_note_new,
    reassign_note_old,
)
from bot.render.patient import staff_visit_changed
from bot.templates.registry import RenderContext, Rendered, template
from scheduler.booking import TimeWindow


@template("staff.visit_changed")
def _visit_changed(ctx: RenderContext, p: Mapping[str, Any]) -> Reply:
    patient = SimpleNamespace(**p["patient"]) if p["patient"] is not None else None
    old_window = TimeWindow(*p["old_window"]) if p["old_window"] is not None else None
    return staff_visit_changed(
        ctx.tr,
        ctx.config,
        p["what"],
        SimpleNamespace(**p["visit"]),
        patient,
        old_day=p["old_day"],
        old_window=old_window,
        reason=p["reason"],
    )


# A visit moved to another nurse (db/services/reassign_notes.py).
@template("staff.reassigned_old")
def _reassigned_old(ctx: RenderContext, p: Mapping[str, Any]) -> Reply:
    return reassign_note_old(ctx.tr, p)


@template("staff.reassigned_new")
def _reassigned_new(ctx: RenderContext, p: Mapping[str, Any]) -> Reply:
    return reassign_note_new(ctx.tr, ctx.config, p)


@template("staff.reassigned_family")
def _reassigned_family(ctx: RenderContext, p: Mapping[str, Any]) -> Reply:
    return reassign_note_family(ctx.tr, p)


# A head's staff changes, told to the nurse (db/services/staff_notes.py).
@template("staff.leave_note")
def _leave_note(ctx: RenderContext, p: Mapping[str, Any]) -> Reply:
    return leave_note(ctx.tr, p["first"], p["last"], p["kind"], p["outcome"])


@template("staff.active_note")
def _active_note(ctx: RenderContext, p: Mapping[str, Any]) -> Reply:
    key = "head.nurse_note_activated" if p["active"] else "head.nurse_note_deactivated"
    return Reply(ctx.tr(key, clinic=escape(ctx.config.clinic.name)))


@template("staff.menu")
def _menu(ctx: RenderContext, p: Mapping[str, Any]) -> Rendered:
    """Her chat's command menu for the roles she holds now, in her language at send time."""
    payload: dict[str, Any] = {
        "commands": commands_payload(frozenset(p["roles"]), ctx.tr.language),
        "scope": {"type": "chat", "chat_id": ctx.chat_id},
    }
    return Rendered("setMyCommands", payload)
