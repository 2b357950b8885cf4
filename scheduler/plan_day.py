"""Which days a head may plan now (pure): the bot's /rencana and the console's planning page."""

from __future__ import annotations

from datetime import date

from scheduler.booking import BookingRules, is_working_day


def plan_day_refusal(rules: BookingRules, today: date, day: date) -> str | None:
    """None when `day` can be planned; else "past" or "closed" (Sunday, holiday, closure)."""
    if day < today:
        return "past"
    if not is_working_day(rules, day):
        return "closed"
    return None
