"""The heads' note when the daily SATUSEHAT submission failed (db/services/satusehat_runs.py)."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from bot.messages import Reply
from bot.templates.registry import RenderContext, template

REASONS = ("unavailable", "refused", "credentials")


@template("satusehat.failed")
def _failed(ctx: RenderContext, p: Mapping[str, Any]) -> Reply:
    reason = p["reason"] if p["reason"] in REASONS else "unavailable"
    text = ctx.tr(f"satusehat.failed.{reason}", detail=escape(str(p["detail"]) or "—"))
    if p["waiting"]:
        text += "\n" + ctx.tr("satusehat.failed.waiting", n=p["waiting"])
    return Reply(text)
