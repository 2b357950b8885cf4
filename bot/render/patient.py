"""Replies for the family side: consent, registration, booking, my visits, feedback, data rights;
and the notes heads and nurses get about it.

Pure: values in, `Reply` out. Anything a person typed is escaped here. Buttons of a conversation
step carry the conversation's nonce: ``pc:<nonce>:<action>[:<arg>]`` (see bot.handlers.patient).
Button labels are plain text (Telegram does not parse them), so they are not escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from html import escape
from typing import Any, Protocol

from bot.callbacks import encode
from bot.i18n import Translator
from bot.messages import Button, KeyButton, Reply
from homecare.config import Config, DangerSign, ServiceType
from scheduler.booking import TimeWindow, format_request_code
from scheduler.visits import status_key

STEP_PREFIX = "pc"
FEEDBACK_PREFIX = "pf"
START_BOOKING_PREFIX = "pn"
# "Choose another day for this visit" (e.g. under the planner's "could not place" note).
RESCHEDULE_PREFIX = "pr"
COMPLAINT_MAX = 500
COMMENT_MAX = 500
REASON_MAX = 200
# Upcoming visits listed with buttons: keeps a message under Telegram's 4,096 characters.
MAX_LISTED = 8


class PatientLike(Protocol):
    full_name: str | None
    phone: str | None
    address: str | None
    kelurahan: str | None
    rt_rw: str | None
    landmark: str | None


class VisitLike(Protocol):
    id: int
    code: str
    day: date
    window_start: Any
    window_end: Any
    service_type: str
    status: str


def cb(nonce: str, action: str, *args: str | int) -> str:
    return encode(STEP_PREFIX, nonce, action, *args)


def quit_row(tr: Translator, nonce: str) -> tuple[Button, ...]:
    return (Button(tr("patient.quit"), data=cb(nonce, "q")),)


def with_hint(tr: Translator, hint_key: str | None, reply: Reply, **params: str) -> Reply:
    """The step's question again, with a short note on why the last answer was not taken."""
    if hint_key is None:
        return reply
    hint = tr(hint_key, **params) if params else tr(hint_key)
    return Reply(
        f"{hint}\n\n{reply.text}",
        buttons=reply.buttons,
        keyboard=reply.keyboard,
        remove_keyboard=reply.remove_keyboard,
    )


def joined(lead: Reply | None, reply: Reply) -> Reply:
    """`lead`'s text above `reply` (whose buttons and keyboard it keeps), as one message."""
    if lead is None:
        return reply
    return Reply(
        f"{lead.text}\n\n{reply.text}",
        buttons=reply.buttons,
        keyboard=reply.keyboard,
        remove_keyboard=reply.remove_keyboard,
    )


# --- dates and names -------------------------------------------------------------------------


def day_long(tr: Translator, day: date) -> str:
    return tr(
        "patient.date_long",
        weekday=tr(f"patient.weekday.{day.weekday()}"),
        day=str(day.day),
        month=tr(f"patient.month.{day.month}"),
        year=str(day.year),
    )


def day_short(tr: Translator, day: date) -> str:
    return tr(
        "patient.date_short",
        weekday=tr(f"patient.weekday_short.{day.weekday()}"),
        day=str(day.day),
        month=tr(f"patient.month_short.{day.month}"),
    )


def window_label(start: Any, end: Any) -> str:
    return TimeWindow(start, end).label


def code_label(code: str) -> str:
    return format_request_code(code) if len(code) == 6 else code


def who_plain(tr: Translator, name: str | None, label: str | None, is_self: bool) -> str:
    """How the family names a patient on a button or in a list (plain text, not escaped)."""
    label = tr("patient.self_label") if is_self else label
    if label and name:
        return f"{label} ({name})"
    return label or name or tr("patient.deleted_name")


def who_in_sentence(tr: Translator, name: str | None, label: str | None, is_self: bool) -> str:
    """The patient inside a question: "Anda" for oneself, else "Ibu saya" (plain text)."""
    if is_self:
        return tr("patient.you")
    return label or name or tr("patient.deleted_name")


def who_html(tr: Translator, name: str | None, label: str | None, is_self: bool) -> str:
    return escape(who_plain(tr, name, label, is_self))


def patient_name_html(tr: Translator, patient: PatientLike | None) -> str:
    if patient is None or not patient.full_name:
        return tr("patient.deleted_name")
    return escape(patient.full_name)


# --- conversation housekeeping ---------------------------------------------------------------


def conversation_expired(tr: Translator, flow: str) -> Reply:
    """An idle conversation ended; the family's flows point back to /minta_kunjungan."""
    key = "patient.expired" if flow.startswith("p.") else "patient.expired_other"
    return Reply(tr(key), remove_keyboard=True)


def quit_done(tr: Translator) -> Reply:
    return Reply(tr("patient.quit_done"), remove_keyboard=True)


# --- consent ---------------------------------------------------------------------------------


def consent_text(tr: Translator, config: Config) -> str:
    """The exact consent text (its hash is stored with the consent)."""
    return tr(
        "patient.consent.text",
        clinic=escape(config.clinic.name),
        version=escape(config.privacy.consent_version),
        years=str(config.privacy.retention_years),
        contact=escape(config.privacy.privacy_contact),
    )


def consent_prompt(tr: Translator, text: str, nonce: str) -> Reply:
    return Reply(
        text,
        buttons=(
            (
                Button(tr("patient.consent.agree"), data=cb(nonce, "ok")),
                Button(tr("patient.consent.disagree"), data=cb(nonce, "no")),
            ),
        ),
    )


def consent_refused(tr: Translator, config: Config) -> Reply:
    return Reply(
        tr(
            "patient.consent.refused",
            phone=escape(config.clinic.phone),
            emergency=" / ".join(config.clinic.emergency_numbers),
        ),
        remove_keyboard=True,
    )


def on_behalf_text(tr: Translator, config: Config, label: str) -> str:
    return tr(
        "patient.consent.on_behalf",
        label=escape(label),
        version=escape(config.privacy.consent_version),
    )


def on_behalf_refused(tr: Translator, config: Config, label: str) -> Reply:
    return Reply(
        tr(
            "patient.consent.on_behalf_refused",
            label=escape(label),
            phone=escape(config.clinic.phone),
        )
    )


# --- registration ----------------------------------------------------------------------------


def who_prompt(tr: Translator, nonce: str, has_self: bool) -> Reply:
    rows: list[tuple[Button, ...]] = []
    if not has_self:
        rows.append((Button(tr("patient.reg.who_me"), data=cb(nonce, "me")),))
    rows.append((Button(tr("patient.reg.who_family"), data=cb(nonce, "fam")),))
    rows.append(quit_row(tr, nonce))
    return Reply(tr("patient.reg.who"), buttons=tuple(rows))


def text_prompt(
    tr: Translator, nonce: str, key: str, *, skip: bool = False, **params: str
) -> Reply:
    """A question answered by typing; with an inline "skip" when the answer is optional."""
    rows: list[tuple[Button, ...]] = []
    if skip:
        rows.append((Button(tr("patient.skip"), data=cb(nonce, "skip")),))
    rows.append(quit_row(tr, nonce))
    return Reply(tr(key, **params) if params else tr(key), buttons=tuple(rows))


def phone_prompt(tr: Translator, for_self: bool) -> Reply:
    return Reply(
        tr("patient.reg.phone_self" if for_self else "patient.reg.phone_other"),
        keyboard=((KeyButton(tr("patient.reg.phone_button"), request_contact=True),),),
    )


def birth_prompt(tr: Translator) -> Reply:
    # No inline buttons: this message takes the phone keyboard away.
    return Reply(tr("patient.reg.birth"), remove_keyboard=True)


def kelurahan_prompt(tr: Translator, nonce: str, area: Sequence[str], key: str) -> Reply:
    rows: list[tuple[Button, ...]] = []
    for i in range(0, len(area), 2):
        rows.append(
            tuple(Button(name, data=cb(nonce, "k", j)) for j, name in enumerate(area[i : i + 2], i))
        )
    rows.append((Button(tr("patient.reg.kelurahan_other"), data=cb(nonce, "k", "x")),))
    rows.append(quit_row(tr, nonce))
    return Reply(tr(key), buttons=tuple(rows))


def out_of_area(tr: Translator, config: Config) -> Reply:
    return Reply(
        tr(
            "patient.reg.out_of_area",
            area=escape(", ".join(config.clinic.service_area)),
            phone=escape(config.clinic.phone),
            emergency=" / ".join(config.clinic.emergency_numbers),
        ),
        remove_keyboard=True,
    )


def location_prompt(tr: Translator) -> Reply:
    return Reply(
        tr("patient.reg.location"),
        keyboard=(
            (KeyButton(tr("patient.reg.location_button"), request_location=True),),
            (KeyButton(tr("patient.skip")),),
        ),
    )


def keyboard_gone(tr: Translator, key: str) -> Reply:
    return Reply(tr(key), remove_keyboard=True)


def profile_lines(tr: Translator, data: Mapping[str, Any]) -> str:
    none = tr("patient.none")
    birth = data.get("birth")
    return tr(
        "patient.reg.profile",
        name=escape(str(data.get("name") or none)),
        phone=escape(str(data.get("phone") or none)),
        birth=day_long(tr, date.fromisoformat(birth)) if birth else none,
        nik=escape(str(data.get("nik") or none)),
        address=escape(str(data.get("address") or none)),
        rtrw=escape(str(data.get("rtrw") or none)),
        kelurahan=escape(str(data.get("kel") or none)),
        landmark=escape(str(data.get("landmark") or none)),
        location=tr("patient.reg.location_set") if data.get("lat") is not None else none,
    )


def reg_summary(tr: Translator, nonce: str, data: Mapping[str, Any]) -> Reply:
    who = tr("patient.you") if data.get("rel") == "self" else escape(str(data.get("label") or ""))
    return Reply(
        tr("patient.reg.summary", who=who, profile=profile_lines(tr, data)),
        buttons=(
            (Button(tr("patient.reg.summary_yes"), data=cb(nonce, "save")),),
            (Button(tr("patient.reg.summary_redo"), data=cb(nonce, "redo")),),
            quit_row(tr, nonce),
        ),
    )


def registered(tr: Translator, who: str, patient_id: int, then_booking: bool) -> Reply:
    text = tr("patient.reg.saved", who=escape(who))
    if then_booking:
        return Reply(text, remove_keyboard=True)
    return Reply(
        text,
        buttons=(
            (Button(tr("patient.reg.book_now"), data=encode(START_BOOKING_PREFIX, patient_id)),),
        ),
    )


def patients_list(
    tr: Translator, nonce: str, patients: Sequence[tuple[str | None, str | None, bool]]
) -> Reply:
    """`patients`: (name, label, is_self) for each linked patient."""
    if patients:
        lines = [tr("patient.patients.title")]
        lines += [
            tr(
                "patient.patients.line",
                who=who_html(tr, name, label, is_self),
                name=escape(name or tr("patient.deleted_name")),
            )
            for name, label, is_self in patients
        ]
    else:
        lines = [tr("patient.patients.none")]
    return Reply(
        "\n".join(lines),
        buttons=((Button(tr("patient.patients.add"), data=cb(nonce, "add")),), quit_row(tr, nonce)),
    )


# --- booking ---------------------------------------------------------------------------------


def choose_patient(
    tr: Translator, nonce: str, patients: Sequence[tuple[int, str]], can_add: bool = True
) -> Reply:
    rows: list[tuple[Button, ...]] = [
        (Button(label, data=cb(nonce, "p", pid)),) for pid, label in patients
    ]
    if can_add:
        rows.append((Button(tr("patient.patients.add"), data=cb(nonce, "add")),))
    rows.append(quit_row(tr, nonce))
    return Reply(tr("patient.book.choose_patient"), buttons=tuple(rows))


def choose_service(tr: Translator, nonce: str, services: Sequence[ServiceType], who: str) -> Reply:
    rows: list[tuple[Button, ...]] = [
        (Button(s.name(tr.language), data=cb(nonce, "s", i)),) for i, s in enumerate(services)
    ]
    rows.append(quit_row(tr, nonce))
    return Reply(tr("patient.book.choose_service", who=escape(who)), buttons=tuple(rows))


def danger_question(
    tr: Translator, nonce: str, sign: DangerSign, n: int, total: int, who: str
) -> Reply:
    return Reply(
        tr(
            "patient.book.danger",
            n=str(n),
            total=str(total),
            who=escape(who),
            question=escape(sign.question(tr.language)),
        ),
        buttons=(
            (
                Button(tr("patient.yes"), data=cb(nonce, "y")),
                Button(tr("patient.no"), data=cb(nonce, "n")),
            ),
            quit_row(tr, nonce),
        ),
    )


def emergency(tr: Translator, config: Config) -> Reply:
    return Reply(
        tr(
            "patient.book.emergency",
            emergency=" / ".join(config.clinic.emergency_numbers),
            phone=escape(config.clinic.phone),
        ),
        remove_keyboard=True,
    )


def complaint_prompt(tr: Translator, nonce: str) -> Reply:
    return text_prompt(tr, nonce, "patient.book.complaint", max=str(COMPLAINT_MAX))


def no_days(tr: Translator, config: Config) -> Reply:
    return Reply(
        tr(
            "patient.book.no_days",
            days=str(config.schedule.horizon_days),
            phone=escape(config.clinic.phone),
        )
    )


def day_buttons(tr: Translator, nonce: str, days: Sequence[date]) -> tuple[tuple[Button, ...], ...]:
    rows: list[tuple[Button, ...]] = []
    for i in range(0, len(days), 2):
        rows.append(
            tuple(
                Button(day_short(tr, d), data=cb(nonce, "d", d.strftime("%Y%m%d")))
                for d in days[i : i + 2]
            )
        )
    rows.append(quit_row(tr, nonce))
    return tuple(rows)


def choose_day(tr: Translator, nonce: str, days: Sequence[date]) -> Reply:
    return Reply(tr("patient.book.choose_day"), buttons=day_buttons(tr, nonce, days))


def window_buttons(
    tr: Translator, nonce: str, windows: Sequence[TimeWindow], all_windows: Sequence[TimeWindow]
) -> tuple[tuple[Button, ...], ...]:
    rows: list[tuple[Button, ...]] = [
        (Button(w.label, data=cb(nonce, "w", all_windows.index(w))),) for w in windows
    ]
    rows.append(quit_row(tr, nonce))
    return tuple(rows)


def choose_window(
    tr: Translator,
    nonce: str,
    day: date,
    windows: Sequence[TimeWindow],
    all_windows: Sequence[TimeWindow],
) -> Reply:
    return Reply(
        tr("patient.book.choose_window", day=day_long(tr, day)),
        buttons=window_buttons(tr, nonce, windows, all_windows),
    )


def booking_summary(
    tr: Translator,
    nonce: str,
    *,
    who: str,
    service: ServiceType,
    complaint: str,
    day: date,
    window: TimeWindow,
) -> Reply:
    return Reply(
        tr(
            "patient.book.summary",
            who=escape(who),
            service=escape(service.name(tr.language)),
            complaint=escape(complaint),
            day=day_long(tr, day),
            window=window.label,
        ),
        buttons=((Button(tr("patient.book.confirm"), data=cb(nonce, "go")),), quit_row(tr, nonce)),
    )


def booked(tr: Translator, visit: VisitLike, who: str, service: ServiceType) -> Reply:
    return Reply(
        tr(
            "patient.book.booked",
            code=code_label(visit.code),
            who=escape(who),
            service=escape(service.name(tr.language)),
            day=day_long(tr, visit.day),
            window=window_label(visit.window_start, visit.window_end),
        )
    )


# --- my visits -------------------------------------------------------------------------------


def visit_line(
    tr: Translator, visit: VisitLike, who: str, config: Config, nurse: str | None = None
) -> str:
    service = config.service(visit.service_type)
    line = tr(
        "patient.visits.line",
        code=code_label(visit.code),
        who=escape(who),
        day=day_long(tr, visit.day),
        window=window_label(visit.window_start, visit.window_end),
        service=escape(service.name(tr.language) if service else visit.service_type),
        status=tr(status_key(visit.status)),
    )
    if nurse:
        line += "\n" + tr("patient.visits.nurse", nurse=escape(nurse))
    return line


def my_visits(
    tr: Translator,
    nonce: str,
    config: Config,
    upcoming: Sequence[tuple[VisitLike, str, bool, bool, str | None]],
    past: Sequence[tuple[VisitLike, str, str | None]],
) -> Reply:
    """`upcoming`: (visit, who, can_cancel, can_reschedule, nurse); `past`: (visit, who, nurse)."""
    if not upcoming and not past:
        return Reply(tr("patient.visits.none"))
    parts: list[str] = []
    rows: list[tuple[Button, ...]] = []
    locked = False
    if upcoming:
        parts.append(tr("patient.visits.upcoming"))
        for visit, who, cancel_ok, move_ok, nurse in upcoming[:MAX_LISTED]:
            parts.append(visit_line(tr, visit, who, config, nurse))
            row: list[Button] = []
            if move_ok:
                row.append(
                    Button(
                        tr("patient.visits.move_btn", code=code_label(visit.code)),
                        data=cb(nonce, "r", visit.id),
                    )
                )
            if cancel_ok:
                row.append(
                    Button(
                        tr("patient.visits.cancel_btn", code=code_label(visit.code)),
                        data=cb(nonce, "x", visit.id),
                    )
                )
            if row:
                rows.append(tuple(row))
            else:
                locked = True
    if len(upcoming) > MAX_LISTED:
        parts.append(tr("patient.visits.more", n=str(len(upcoming) - MAX_LISTED)))
    if past:
        parts.append(tr("patient.visits.past"))
        parts += [visit_line(tr, visit, who, config, nurse) for visit, who, nurse in past]
    if locked:
        parts.append(
            tr(
                "patient.visits.phone_hint",
                hours=str(config.schedule.cancel_cutoff_hours),
                phone=escape(config.clinic.phone),
            )
        )
    if rows:
        rows.append(quit_row(tr, nonce))
    return Reply("\n\n".join(parts), buttons=tuple(rows))


CANCEL_REASONS = ("better", "busy", "hospital")


def cancel_ask(tr: Translator, nonce: str, visit: VisitLike) -> Reply:
    rows: list[tuple[Button, ...]] = [
        (Button(tr(f"patient.visits.reason.{r}"), data=cb(nonce, "rs", i)),)
        for i, r in enumerate(CANCEL_REASONS)
    ]
    rows.append((Button(tr("patient.visits.keep"), data=cb(nonce, "q")),))
    return Reply(
        tr(
            "patient.visits.cancel_ask",
            code=code_label(visit.code),
            day=day_long(tr, visit.day),
            window=window_label(visit.window_start, visit.window_end),
            max=str(REASON_MAX),
        ),
        buttons=tuple(rows),
    )


def other_day_button(tr: Translator, visit_id: int) -> Button:
    """A button that opens "move this visit to another day" for the family (validated on press:
    the visit must be theirs and still movable)."""
    return Button(tr("patient.visits.other_day"), data=encode(RESCHEDULE_PREFIX, visit_id))


def cancelled(tr: Translator, visit: VisitLike) -> Reply:
    return Reply(tr("patient.visits.cancelled", code=code_label(visit.code)))


def move_day(tr: Translator, nonce: str, visit: VisitLike, days: Sequence[date]) -> Reply:
    return Reply(
        tr(
            "patient.visits.move_day",
            code=code_label(visit.code),
            day=day_long(tr, visit.day),
            window=window_label(visit.window_start, visit.window_end),
        ),
        buttons=day_buttons(tr, nonce, days),
    )


def move_summary(
    tr: Translator, nonce: str, visit: VisitLike, day: date, window: TimeWindow
) -> Reply:
    return Reply(
        tr(
            "patient.visits.move_summary",
            code=code_label(visit.code),
            old_day=day_long(tr, visit.day),
            old_window=window_label(visit.window_start, visit.window_end),
            day=day_long(tr, day),
            window=window.label,
        ),
        buttons=(
            (Button(tr("patient.visits.move_confirm"), data=cb(nonce, "go")),),
            quit_row(tr, nonce),
        ),
    )


def moved(tr: Translator, visit: VisitLike) -> Reply:
    return Reply(
        tr(
            "patient.visits.moved",
            code=code_label(visit.code),
            day=day_long(tr, visit.day),
            window=window_label(visit.window_start, visit.window_end),
        )
    )


# --- feedback --------------------------------------------------------------------------------


def feedback_request(tr: Translator, visit: VisitLike) -> Reply:
    return Reply(
        tr("patient.feedback.request", code=code_label(visit.code), day=day_long(tr, visit.day)),
        buttons=(
            tuple(Button(str(r), data=encode(FEEDBACK_PREFIX, visit.id, r)) for r in range(1, 6)),
        ),
    )


def feedback_comment(tr: Translator, nonce: str, rating: int) -> Reply:
    return Reply(
        tr("patient.feedback.thanks", rating=str(rating))
        + "\n\n"
        + tr("patient.feedback.comment", max=str(COMMENT_MAX)),
        buttons=((Button(tr("patient.skip"), data=cb(nonce, "skip")),),),
    )


# --- data rights -----------------------------------------------------------------------------


def data_menu(tr: Translator, nonce: str, can_fix: bool, can_delete: bool) -> Reply:
    rows: list[tuple[Button, ...]] = [
        (Button(tr("patient.data.export_btn"), data=cb(nonce, "ex")),)
    ]
    if can_fix:
        rows.append((Button(tr("patient.data.fix_btn"), data=cb(nonce, "fx")),))
    if can_delete:
        rows.append((Button(tr("patient.data.delete_btn"), data=cb(nonce, "del")),))
    rows.append(quit_row(tr, nonce))
    return Reply(tr("patient.data.menu"), buttons=tuple(rows))


FIELDS = ("name", "phone", "birth", "nik", "address", "kel", "rtrw", "landmark", "loc")


def fix_field(tr: Translator, nonce: str, who: str, data: Mapping[str, Any]) -> Reply:
    rows: list[tuple[Button, ...]] = []
    for i in range(0, len(FIELDS), 2):
        rows.append(
            tuple(
                Button(tr(f"patient.data.field.{f}"), data=cb(nonce, "f", f))
                for f in FIELDS[i : i + 2]
            )
        )
    rows.append(quit_row(tr, nonce))
    return Reply(
        tr("patient.data.fix_field", who=escape(who), profile=profile_lines(tr, data)),
        buttons=tuple(rows),
    )


def choose_patient_to_fix(tr: Translator, nonce: str, patients: Sequence[tuple[int, str]]) -> Reply:
    rows: list[tuple[Button, ...]] = [
        (Button(label, data=cb(nonce, "p", pid)),) for pid, label in patients
    ]
    rows.append(quit_row(tr, nonce))
    return Reply(tr("patient.data.fix_patient"), buttons=tuple(rows))


def delete_ask(tr: Translator, nonce: str, config: Config) -> Reply:
    return Reply(
        tr("patient.data.delete_ask", years=str(config.privacy.retention_years)),
        buttons=(
            (Button(tr("patient.data.delete_yes"), data=cb(nonce, "delok")),),
            (Button(tr("patient.data.delete_no"), data=cb(nonce, "q")),),
        ),
    )


def deleted(
    tr: Translator,
    config: Config,
    *,
    removed: int,
    unlinked: int,
    cancelled_visits: int,
    kept_visits: int,
) -> Reply:
    lines = [tr("patient.data.deleted", removed=str(removed), cancelled=str(cancelled_visits))]
    if unlinked:
        lines.append(tr("patient.data.deleted_unlinked", unlinked=str(unlinked)))
    lines.append(
        tr(
            "patient.data.deleted_kept",
            years=str(config.privacy.retention_years),
            contact=escape(config.privacy.privacy_contact),
        )
    )
    return Reply("\n\n".join(lines), remove_keyboard=True)


def export_document(tr: Translator, config: Config, data: Mapping[str, Any], now: datetime) -> str:
    """The readable export (plain text, not HTML: it is a file)."""
    none = tr("patient.none")
    out: list[str] = [
        tr("patient.export.title", clinic=config.clinic.name),
        tr(
            "patient.export.generated",
            at=now.astimezone(config.clinic.tz).strftime("%Y-%m-%d %H:%M"),
        ),
        "",
        tr("patient.export.account"),
    ]
    acc = data["account"]
    out += [
        f"  Telegram ID: {acc['telegram_user_id']}",
        f"  {tr('patient.export.name')}: {acc['first_name'] or none}",
        f"  Username: {acc['username'] or none}",
        f"  {tr('patient.export.language')}: {acc['language']}",
        f"  {tr('patient.export.first_contact')}: {acc['first_contact']}",
        "",
        tr("patient.export.consents"),
    ]
    for c in data["consents"]:
        out.append(
            "  "
            + tr(
                "patient.export.consent_line",
                version=c["version"],
                at=c["given_at"],
                hash=c["text_sha256"][:16],
                withdrawn=c["withdrawn_at"] or none,
            )
        )
    if not data["consents"]:
        out.append("  " + none)
    for p in data["patients"]:
        out += [
            "",
            tr(
                "patient.export.patient",
                name=p["full_name"] or none,
                relation=p["label"] or p["relation"],
            ),
        ]
        loc = p["location"]
        for key, value in (
            ("phone", p["phone"]),
            ("birth", p["birth_date"]),
            ("nik", p["nik"]),
            ("address", p["address"]),
            ("rtrw", p["rt_rw"]),
            ("kel", p["kelurahan"]),
            ("landmark", p["landmark"]),
            ("loc", f"{loc['lat']}, {loc['lon']}" if loc else None),
        ):
            out.append(f"  {tr(f'patient.data.field.{key}')}: {value or none}")
        out.append("  " + tr("patient.export.visits"))
        for v in p["visits"]:
            service = config.service(v["service"])
            out.append(
                f"   - {v['code']} {v['day']} {v['window']} "
                f"{service.name(tr.language) if service else v['service']}: "
                f"{tr(status_key(v['status']))}"
            )
            if v["complaint"]:
                out.append(f"     {tr('patient.export.complaint')}: {v['complaint']}")
            if v["nurse"]:
                out.append(f"     {tr('patient.export.nurse')}: {v['nurse']}")
            if v["nurse_note"]:
                out.append(f"     {tr('patient.export.note')}: {v['nurse_note']}")
            if v["vitals"]:
                out.append(f"     {tr('patient.export.vitals')}: {v['vitals']}")
            if v["feedback"]:
                out.append(
                    f"     {tr('patient.export.feedback')}: {v['feedback']['rating']}/5"
                    + (f" — {v['feedback']['comment']}" if v["feedback"]["comment"] else "")
                )
            for h in v["history"]:
                out.append(f"     {h['at']}: {h['from'] or '-'} → {h['to']} ({h['by']})")
        if not p["visits"]:
            out.append("   " + none)
        for r in p["emergency_referrals"]:
            out.append(
                "  " + tr("patient.export.referral", at=r["at"], signs=", ".join(r["signs"]))
            )
    out += ["", tr("patient.export.footer", contact=config.privacy.privacy_contact)]
    return "\n".join(out) + "\n"


def export_caption(tr: Translator, config: Config) -> str:
    return tr("patient.export.caption", clinic=escape(config.clinic.name))


# --- notes to heads and nurses ---------------------------------------------------------------


def head_emergency_alert(
    tr: Translator,
    config: Config,
    patient: PatientLike,
    signs: Sequence[str],
    service_code: str | None,
    now: datetime,
) -> Reply:
    by_code = {s.code: s for s in config.danger_signs}
    sign_names = [
        by_code[c].question(tr.language).rstrip("?") if c in by_code else c for c in signs
    ]
    service = config.service(service_code) if service_code else None
    address = ", ".join(
        x
        for x in (patient.address, patient.rt_rw and f"RT/RW {patient.rt_rw}", patient.kelurahan)
        if x
    )
    return Reply(
        tr(
            "patient.staff.emergency",
            time=now.astimezone(config.clinic.tz).strftime("%H:%M"),
            name=patient_name_html(tr, patient),
            phone=escape(patient.phone or "—"),
            address=escape(address or "—"),
            landmark=escape(patient.landmark or "—"),
            signs=escape(", ".join(sign_names)),
            service=escape(service.name(tr.language) if service else "—"),
            emergency=" / ".join(config.clinic.emergency_numbers),
        )
    )


def staff_visit_changed(
    tr: Translator,
    config: Config,
    what: str,
    visit: VisitLike,
    patient: PatientLike | None,
    *,
    old_day: date | None = None,
    old_window: TimeWindow | None = None,
    reason: str | None = None,
) -> Reply:
    params = {
        "code": code_label(visit.code),
        "patient": patient_name_html(tr, patient),
        "day": day_long(tr, visit.day),
        "window": window_label(visit.window_start, visit.window_end),
    }
    if what == "rescheduled":
        assert old_day is not None and old_window is not None
        text = tr(
            "patient.staff.rescheduled",
            old_day=day_long(tr, old_day),
            old_window=old_window.label,
            **params,
        )
    else:
        text = tr("patient.staff.cancelled", **params)
        if reason:
            text += "\n" + tr("patient.staff.reason", reason=escape(reason))
    return Reply(text)
