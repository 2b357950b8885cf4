"""Templates for what planning and the nurses' day tell nurses, families and heads.

The services (db/services/planning/tell.py, route_digest.py, nurse_visits.py) pass plain values;
the clinic's phone and service names come from `ctx.config` at send time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.messages import Reply
from bot.render import family_notices as notices
from bot.render import nurse as render
from bot.render.route_map import MapPoint, route_png
from bot.templates.registry import RenderContext, Rendered, template
from db.services.route_digest import NurseDay, nurse_day_from


def _notice(ctx: RenderContext, p: Mapping[str, Any]) -> notices.VisitNotice:
    arrival = p["arrival"]
    return notices.VisitNotice(
        visit_id=p["visit_id"],
        patient_id=p["patient_id"],
        code=p["code"],
        service_type=p["service_type"],
        day=p["day"],
        patient_first_name=p["patient_first_name"],
        nurse_first_name=p["nurse_first_name"],
        arrival=(arrival[0], arrival[1]) if arrival is not None else None,
        reason=p["reason"],
        phone=ctx.config.clinic.phone,
        km=p.get("km"),  # intents queued before the far-pin check have none
    )


@template("nurse.visit_planned")
def _visit_planned(ctx: RenderContext, p: Mapping[str, Any]) -> Reply:
    return notices.visit_planned(ctx.tr, ctx.config, _notice(ctx, p), p["kind"])


@template("nurse.visit_unplaced")
def _visit_unplaced(ctx: RenderContext, p: Mapping[str, Any]) -> Reply:
    return notices.visit_unplaced(ctx.tr, ctx.config, _notice(ctx, p))


@template("nurse.plan_report")
def _plan_report(ctx: RenderContext, p: Mapping[str, Any]) -> Reply:
    unplaced = tuple((code, reason) for code, reason in p.get("unplaced", ()))
    return render.plan_report(ctx.tr, render.PlanReport(**{**p, "unplaced": unplaced}))


@template("nurse.heads_sick")
def _heads_sick(ctx: RenderContext, p: Mapping[str, Any]) -> Reply:
    return render.heads_nurse_sick(ctx.tr, p["name"], p["at"], p["visits"])


@template("nurse.heads_cannot_come")
def _heads_cannot_come(ctx: RenderContext, p: Mapping[str, Any]) -> Reply:
    return render.heads_cannot_come(ctx.tr, p["name"], p["code"], p["patient_first"], p["started"])


@template("nurse.family_eta")
def _family_eta(ctx: RenderContext, p: Mapping[str, Any]) -> Reply:
    return notices.eta_notice(ctx.tr, p["nurse_first"], p["eta"], p["patient_first"])


@template("nurse.family_not_home")
def _family_not_home(ctx: RenderContext, p: Mapping[str, Any]) -> Reply:
    return notices.not_home_notice(ctx.tr, ctx.config, p["nurse_first"], p["code"])


@template("nurse.route_digest")
def _route_digest(ctx: RenderContext, p: Mapping[str, Any]) -> Reply:
    """One part of the digest: the split into parts was fixed when it was queued."""
    day = nurse_day_from(p["day"])
    return render.route_digest(ctx.tr, ctx.config, day, p["kind"], p["parts"])[p["part"]]


def draw(ctx: RenderContext, day: NurseDay) -> bytes:
    """The route picture (matplotlib, CPU-bound: the relay renders this template off the loop)."""
    stops = [s for s in day.stops if s.status != "cancelled_by_patient"]
    return route_png(
        MapPoint(day.clinic.lat, day.clinic.lon),
        [MapPoint(s.lat, s.lon) for s in stops],
        title=render.map_title(ctx.tr, day),
        clinic_label=ctx.config.clinic.name,
        approximate=[s.approximate for s in stops],
    )


@template("nurse.route_map", heavy=True)
def _route_map(ctx: RenderContext, p: Mapping[str, Any]) -> Rendered:
    day = nurse_day_from(p["day"])
    payload: dict[str, Any] = {
        "chat_id": ctx.chat_id,
        "caption": render.map_caption(ctx.tr, day),
        "parse_mode": "HTML",
        "__attachment__": {"field": "photo", "filename": "rute.png"},
    }
    return Rendered("sendPhoto", payload, attachment=draw(ctx, day))
