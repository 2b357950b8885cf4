"""What the clinic heads read: the board, the visit log, reports (text and chart), exports, staff,
invites and the audit log. Pure: values in, `Reply` (or PNG bytes) out.

One module per part; the public names are re-exported here for the many callers."""

from __future__ import annotations

from bot.render.head.audit import audit_entries, invite_ask_name, invite_created, invite_welcome
from bot.render.head.board import board
from bot.render.head.common import (
    SEX,
    STATUS_ICON,
    STATUSES,
    VITAL_LINES,
    actor_word,
    day_label,
    edit_payload,
    service_name,
    skill_word,
    status_label,
    status_word,
    word,
)
from bot.render.head.reports import (
    CHART_DPI,
    CHART_SIZE_PX,
    export_formats,
    export_messages,
    export_ranges,
    period_label,
    report_buttons,
    report_chart,
    report_text,
)
from bot.render.head.staff import (
    confirm_active,
    leave_days,
    leave_kinds,
    nurse_card,
    reassign_note_family,
    reassign_note_new,
    reassign_note_old,
    staff_list,
)
from bot.render.head.visit_log import (
    DATE_PRESETS,
    LogState,
    filter_menu,
    log_list,
    reassign_menu,
    visit_detail,
)

__all__ = [
    "CHART_DPI",
    "CHART_SIZE_PX",
    "DATE_PRESETS",
    "SEX",
    "STATUSES",
    "STATUS_ICON",
    "VITAL_LINES",
    "LogState",
    "actor_word",
    "audit_entries",
    "board",
    "confirm_active",
    "day_label",
    "edit_payload",
    "export_formats",
    "export_messages",
    "export_ranges",
    "filter_menu",
    "invite_ask_name",
    "invite_created",
    "invite_welcome",
    "leave_days",
    "leave_kinds",
    "log_list",
    "nurse_card",
    "period_label",
    "reassign_menu",
    "reassign_note_family",
    "reassign_note_new",
    "reassign_note_old",
    "report_buttons",
    "report_chart",
    "report_text",
    "service_name",
    "skill_word",
    "staff_list",
    "status_label",
    "status_word",
    "visit_detail",
    "word",
]
