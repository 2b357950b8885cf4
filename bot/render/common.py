"""Replies shared by every audience: welcome, help, language, errors."""

from __future__ import annotations

from html import escape

from bot.callbacks import encode
from bot.commands import Command
from bot.i18n import Translator
from bot.messages import Button, Reply
from homecare.config import ClinicConfig

ROLE_ORDER = ("head", "admin", "nurse", "caregiver", "patient")


STAFF_ROLES = frozenset({"nurse", "head", "admin"})


def welcome(tr: Translator, clinic: ClinicConfig, first_name: str, roles: frozenset[str]) -> Reply:
    staff = roles & STAFF_ROLES
    if staff:
        names = ", ".join(tr(f"common.roles.{r}") for r in ROLE_ORDER if r in roles)
        return Reply(
            tr(
                "common.welcome_staff",
                name=escape(first_name),
                roles=names,
                clinic=escape(clinic.name),
            )
        )
    return Reply(
        tr(
            "common.welcome",
            clinic=escape(clinic.name),
            programme=escape(clinic.programme),
            emergency=" / ".join(clinic.emergency_numbers),
        )
    )


def help_text(tr: Translator, clinic: ClinicConfig, commands: list[Command]) -> Reply:
    lines = [tr("common.help_intro"), ""]
    lines += [
        tr("common.help_line", command=c.name, description=tr(c.description_key)) for c in commands
    ]
    lines += [
        "",
        tr(
            "common.help_footer",
            emergency=" / ".join(clinic.emergency_numbers),
            phone=escape(clinic.phone),
        ),
    ]
    return Reply("\n".join(lines))


def language_choice(tr: Translator) -> Reply:
    return Reply(
        tr("common.language_ask"),
        buttons=(
            (
                Button(tr("common.language_id"), data=encode("lang", "id")),
                Button(tr("common.language_en"), data=encode("lang", "en")),
            ),
        ),
    )


def plain(tr: Translator, key: str, **params: str) -> Reply:
    return Reply(tr(key, **params))
