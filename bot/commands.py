"""The bot's commands, who sees them in the menu, and their descriptions' locale keys.

Menus are set with setMyCommands: the default scope shows a newcomer's menu (in id, and in en for
clients whose language is English); each staff chat gets its role's menu via the chat scope.
"""

from __future__ import annotations

from dataclasses import dataclass

EVERYONE = frozenset({"guest", "patient", "caregiver", "nurse", "head", "admin", "city_admin"})
FAMILY = frozenset({"guest", "patient", "caregiver"})
NURSE = frozenset({"nurse"})
HEAD = frozenset({"head", "admin"})
STAFF = NURSE | HEAD


@dataclass(frozen=True)
class Command:
    name: str
    shown_to: frozenset[str]

    @property
    def description_key(self) -> str:
        return f"commands.{self.name}"


COMMANDS: tuple[Command, ...] = (
    Command("start", EVERYONE),
    Command("minta_kunjungan", FAMILY),
    Command("kunjungan_saya", FAMILY),
    Command("pasien", FAMILY),
    Command("batal", FAMILY),
    Command("jadwal", NURSE),
    Command("besok", NURSE),
    Command("cuti", NURSE),
    Command("hari_ini", HEAD),
    Command("kunjungan", HEAD),
    Command("laporan", HEAD),
    Command("ekspor", HEAD),
    Command("staf", HEAD),
    Command("undang_perawat", HEAD),
    Command("rencana", HEAD),
    Command("seri", HEAD),
    Command("audit", HEAD),
    Command("konsol", STAFF | {"city_admin"}),
    Command("data_saya", EVERYONE),
    Command("bahasa", EVERYONE),
    Command("help", EVERYONE),
)


def menu_for(roles: frozenset[str]) -> list[Command]:
    """Commands for someone holding `roles` (no role yet = guest)."""
    who = roles or frozenset({"guest"})
    return [c for c in COMMANDS if c.shown_to & who]
