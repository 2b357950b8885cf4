"""Every key exists in both catalogues with the same placeholders; every used key exists."""

from __future__ import annotations

import re
from pathlib import Path

from bot.commands import COMMANDS
from bot.i18n import LANGUAGES, catalogue, placeholders, t

ROOT = Path(__file__).resolve().parents[2]


def test_same_keys_and_placeholders() -> None:
    id_cat, en_cat = catalogue("id"), catalogue("en")
    assert set(id_cat) == set(en_cat), (
        f"only in id: {sorted(set(id_cat) - set(en_cat))}; "
        f"only in en: {sorted(set(en_cat) - set(id_cat))}"
    )
    for key in id_cat:
        assert placeholders(id_cat[key]) == placeholders(en_cat[key]), key


def test_every_key_used_in_code_exists() -> None:
    """Literal keys passed to tr()/t() in the code are present in the catalogue."""
    pattern = re.compile(r"""\btr?\(\s*(?:[a-z_.]+,\s*)?["']([a-z_]+\.[a-z0-9_.]+)["']""")
    keys = catalogue("id")
    missing = []
    for path in (ROOT / "bot").rglob("*.py"):
        for key in pattern.findall(path.read_text(encoding="utf-8")):
            if key not in keys:
                missing.append(f"{path.relative_to(ROOT)}: {key}")
    assert missing == []


def test_every_command_has_a_description_within_telegram_limits() -> None:
    for lang in LANGUAGES:
        for c in COMMANDS:
            text = t(lang, c.description_key)
            assert 3 <= len(text) <= 256, (lang, c.name)
            assert re.fullmatch(r"[a-z0-9_]{1,32}", c.name)
