"""Staff: the list, a nurse's card, leave."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from html import escape
from typing import Any

from bot.callbacks import encode
from bot.i18n import Translator
from bot.messages import Button, Reply
from bot.render.formats import visit_code
from bot.render.head.common import day_label, service_name, skill_word
from db.services.staff import LeaveLine, NurseSummary
from homecare.config import Config


def staff_list(tr: Translator, nurses: Sequence[NurseSummary]) -> Reply:
    lines = [tr("head.staff_title", count=sum(1 for n in nurses if n.active))]
    rows: list[tuple[Button, ...]] = []
    for n in nurses:
        state = "" if n.active else " " + tr("head.staff_inactive")
        leave = (
            " " + tr("head.staff_pending_leave", count=n.pending_leave) if n.pending_leave else ""
        )
        lines.append(
            tr(
                "head.staff_line",
                name=escape(n.name),
                cap=n.daily_cap,
                today=n.visits_today,
                skills=len(n.skills),
            )
            + state
            + leave
        )
        rows.append((Button(n.name[:40], data=encode("hn", n.nurse_id)),))
    if not nurses:
        lines.append(tr("head.staff_none"))
    return Reply("\n".join(lines), buttons=tuple(rows))


def nurse_card(
    tr: Translator,
    n: NurseSummary,
    offered: Sequence[str],
    leave: Sequence[LeaveLine],
) -> Reply:
    skills = ", ".join(skill_word(tr, s) for s in n.skills) or "—"
    lines = [
        f"<b>{escape(n.name)}</b>"
        + ("" if n.active else " " + tr("head.staff_inactive"))
        + ("" if n.linked else " " + tr("head.staff_unlinked")),
        tr("head.nurse_skills", skills=skills),
        tr("head.nurse_cap", cap=n.daily_cap),
        tr("head.nurse_today", count=n.visits_today),
    ]
    if leave:
        lines.append(tr("head.nurse_leave_list"))
        for lv in leave:
            state = tr("head.leave_approved") if lv.approved else tr("head.leave_pending")
            kind = tr(f"head.leave_kind.{lv.kind}")
            lines.append(f"  {lv.day:%d/%m/%Y} · {kind} · {state}")
    rows: list[tuple[Button, ...]] = []
    pair: list[Button] = []
    for i, skill in enumerate(offered):
        mark = "✅" if skill in n.skills else "▫️"
        label = f"{mark} " + skill_word(tr, skill)
        pair.append(Button(label, data=encode("hk", n.nurse_id, i)))
        if len(pair) == 2:
            rows.append(tuple(pair))
            pair = []
    if pair:
        rows.append(tuple(pair))
    rows.append(
        (
            Button("−1", data=encode("hc", n.nurse_id, "d")),
            Button(tr("head.nurse_cap_button", cap=n.daily_cap), data=encode("hn", n.nurse_id)),
            Button("+1", data=encode("hc", n.nurse_id, "u")),
        )
    )
    for lv in leave:
        if not lv.approved:
            rows.append(
                (
                    Button(
                        tr("head.leave_approve", day=f"{lv.day:%d/%m}"),
                        data=encode("hva", lv.leave_id),
                    ),
                    Button(
                        tr("head.leave_refuse", day=f"{lv.day:%d/%m}"),
                        data=encode("hvr", lv.leave_id),
                    ),
                )
            )
    rows.append((Button(tr("head.leave_record"), data=encode("hv", n.nurse_id)),))
    toggle = "head.nurse_deactivate" if n.active else "head.nurse_activate"
    rows.append(
        (
            Button(tr(toggle), data=encode("ha", n.nurse_id, 0 if n.active else 1)),
            Button(tr("head.back"), data=encode("hS")),
        )
    )
    return Reply("\n".join(lines), buttons=tuple(rows))


def confirm_active(tr: Translator, nurse_id: int, name: str, active: bool) -> Reply:
    key = "head.nurse_confirm_activate" if active else "head.nurse_confirm_deactivate"
    return Reply(
        tr(key, name=escape(name)),
        buttons=(
            (
                Button(tr("head.yes"), data=encode("hA", nurse_id, 1 if active else 0)),
                Button(tr("head.no"), data=encode("hn", nurse_id)),
            ),
        ),
    )


def leave_days(tr: Translator, nurse_id: int, name: str, days: Sequence[date]) -> Reply:
    rows: list[tuple[Button, ...]] = []
    row: list[Button] = []
    for d in days:
        row.append(Button(day_label(tr, d)[:-5], data=encode("hvd", nurse_id, f"{d:%Y%m%d}")))
        if len(row) == 3:
            rows.append(tuple(row))
            row = []
    if row:
        rows.append(tuple(row))
    rows.append((Button(tr("head.back"), data=encode("hn", nurse_id)),))
    return Reply(tr("head.leave_ask_day", name=escape(name)), buttons=tuple(rows))


def leave_kinds(tr: Translator, nurse_id: int, name: str, day: date, kinds: Sequence[str]) -> Reply:
    d = f"{day:%Y%m%d}"
    return Reply(
        tr("head.leave_ask_kind", name=escape(name), day=day_label(tr, day)),
        buttons=(
            tuple(
                Button(tr(f"head.leave_kind.{k}"), data=encode("hvk", nurse_id, d, k))
                for k in kinds
            ),
            (Button(tr("head.back"), data=encode("hv", nurse_id)),),
        ),
    )


# --- a visit moved to another nurse: who hears what --------------------------------------------


def _window(p: Mapping[str, Any]) -> str:
    start, end = p["window"]
    return f"{start:%H:%M}–{end:%H:%M}"


def reassign_note_old(tr: Translator, p: Mapping[str, Any]) -> Reply:
    """`p`: the parameters of db.services.reassign_notes."""
    return Reply(
        tr(
            "head.reassign_note_old",
            code=visit_code(p["code"]),
            day=day_label(tr, p["day"]),
            window=_window(p),
        )
    )


def reassign_note_new(tr: Translator, config: Config, p: Mapping[str, Any]) -> Reply:
    return Reply(
        tr(
            "head.reassign_note_new",
            code=visit_code(p["code"]),
            day=day_label(tr, p["day"]),
            window=_window(p),
            patient=escape(p["patient_first_name"]),
            kelurahan=escape(p["kelurahan"]),
            service=service_name(config, p["service_type"], tr.language),
        )
    )


def reassign_note_family(tr: Translator, p: Mapping[str, Any]) -> Reply:
    return Reply(
        tr(
            "head.reassign_note_family",
            day=day_label(tr, p["day"]),
            window=_window(p),
            nurse=escape(p["nurse_first_name"]),
        )
    )


LEAVE_NOTE_KEYS = {
    "approved": "head.leave_note_approved",
    "refused": "head.leave_note_refused",
    "removed": "staffweb.leave_note_removed",
}


def leave_note(tr: Translator, first: date, last: date, kind: str, outcome: str) -> Reply:
    """What the nurse hears of leave a head recorded, approved, refused or took back."""
    kind_word = tr(f"head.leave_kind.{kind}")
    if first != last:
        return Reply(
            tr(
                "staffweb.leave_note_span",
                first=day_label(tr, first),
                last=day_label(tr, last),
                kind=kind_word,
            )
        )
    return Reply(tr(LEAVE_NOTE_KEYS[outcome], day=day_label(tr, first), kind=kind_word))
