"""The home's location pin: asking again about a pin far from the puskesmas (issue 10 item 5)."""

from __future__ import annotations

from html import escape

from bot.i18n import Translator
from bot.messages import Button, Reply
from bot.render.patient.common import cb, quit_row


def km_text(tr: Translator, km: float) -> str:
    """1234.5 → "1.234,5" (id) / "1,234.5" (en); whole km once it is far."""
    value = f"{km:,.0f}" if km >= 100 else f"{km:,.1f}"
    if tr.language == "id":
        value = value.replace(",", "_").replace(".", ",").replace("_", ".")
    return value


def far_pin_ask(tr: Translator, nonce: str, km: float, clinic_name: str) -> Reply:
    return Reply(
        tr("location.far_ask", km=km_text(tr, km), clinic=escape(clinic_name)),
        buttons=(
            (Button(tr("location.far_yes"), data=cb(nonce, "locok")),),
            (Button(tr("location.far_again"), data=cb(nonce, "locagain")),),
            quit_row(tr, nonce),
        ),
    )
