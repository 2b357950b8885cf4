"""Consent to the privacy notice, for oneself or on behalf of someone."""

from __future__ import annotations

from html import escape

from bot.i18n import Translator
from bot.messages import Button, Reply
from bot.render.patient.common import cb
from bot.render.patient.kin import said
from homecare.config import Config


def consent_text(tr: Translator, config: Config) -> str:
    """The exact consent text (its hash is stored with the consent)."""
    return tr(
        "patient.consent.text",
        clinic=escape(config.clinic.name),
        version=escape(config.privacy.consent_version),
        years=str(config.privacy.retention_years),
        contact=escape(config.privacy.privacy_contact),
    )


def consent_prompt(tr: Translator, text: str, nonce: str, *, who: bool = False) -> Reply:
    """The consent text; with `who`, agreeing also says for whom ("— untuk saya sendiri")."""
    disagree = Button(tr("patient.consent.disagree"), data=cb(nonce, "no"))
    if who:
        return Reply(
            text,
            buttons=(
                (Button(tr("patient.consent.agree_me"), data=cb(nonce, "okme")),),
                (Button(tr("patient.consent.agree_family"), data=cb(nonce, "okfam")),),
                (disagree,),
            ),
        )
    return Reply(
        text, buttons=((Button(tr("patient.consent.agree"), data=cb(nonce, "ok")), disagree),)
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
        label=escape(said(tr, label)),
        version=escape(config.privacy.consent_version),
    )


def on_behalf_refused(tr: Translator, config: Config, label: str) -> Reply:
    return Reply(
        tr(
            "patient.consent.on_behalf_refused",
            label=escape(said(tr, label)),
            phone=escape(config.clinic.phone),
        )
    )
