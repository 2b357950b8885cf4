"""The person's data: fixing fields, deletion, the export document."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from html import escape
from typing import Any

from bot.i18n import Translator
from bot.messages import Button, Reply
from bot.render.formats import date_plain, moment_long
from bot.render.patient.common import cb, quit_row
from bot.render.patient.export_history import moment, visit_lines
from bot.render.patient.registration import profile_lines
from homecare.config import Config


def data_menu(tr: Translator, nonce: str, can_fix: bool, can_delete: bool) -> Reply:
    rows: list[tuple[Button, ...]] = [
        (Button(tr("patient.data.export_btn"), data=cb(nonce, "ex")),)
    ]
    if can_fix:
        rows.append((Button(tr("patient.data.fix_btn"), data=cb(nonce, "fx")),))
    if can_delete:
        rows.append((Button(tr("patient.data.delete_btn"), data=cb(nonce, "del")),))
    rows.append(quit_row(tr, nonce, "patient.close"))
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
    tz = config.clinic.tz
    out: list[str] = [
        tr("patient.export.title", clinic=config.clinic.name),
        tr(
            "patient.export.generated",
            at=moment_long(tr, now, config.clinic.tz),
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
        f"  {tr('patient.export.first_contact')}: {moment(tr, acc['first_contact'], tz)}",
        "",
        tr("patient.export.consents"),
    ]
    for c in data["consents"]:
        out.append(
            "  "
            + tr(
                "patient.export.consent_line",
                version=c["version"],
                at=moment(tr, c["given_at"], tz),
                hash=c["text_sha256"][:16],
                withdrawn=moment(tr, c["withdrawn_at"], tz) if c["withdrawn_at"] else none,
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
            (
                "birth",
                date_plain(tr, date.fromisoformat(p["birth_date"])) if p["birth_date"] else None,
            ),
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
            out += visit_lines(tr, config, v)
        if not p["visits"]:
            out.append("   " + none)
        for r in p["emergency_referrals"]:
            out.append(
                "  "
                + tr(
                    "patient.export.referral",
                    at=moment(tr, r["at"], tz),
                    signs=", ".join(r["signs"]),
                )
            )
    out += ["", tr("patient.export.footer", contact=config.privacy.privacy_contact)]
    return "\n".join(out) + "\n"


def export_caption(tr: Translator, config: Config) -> str:
    return tr("patient.export.caption", clinic=escape(config.clinic.name))


def export_files(
    tr: Translator, config: Config, data: Mapping[str, Any], now: datetime
) -> list[tuple[bytes, str, str]]:
    """(content, file name, caption) of /data_saya's copy: readable text, then JSON."""
    stamp = now.astimezone(config.clinic.tz).strftime("%Y%m%d")
    text = export_document(tr, config, data, now).encode("utf-8")
    machine = json.dumps(data, ensure_ascii=False, indent=2, default=str).encode("utf-8")
    return [
        (text, f"data-saya-{stamp}.txt", export_caption(tr, config)),
        (machine, f"data-saya-{stamp}.json", tr("patient.export.caption_json")),
    ]
