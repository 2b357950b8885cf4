"""One typed address → street, RT/RW, kelurahan and landmark, so a family types it once.

"Jl. Tamalate I No. 12 RT 3/5 Karunrung, depan masjid" → street "Jl. Tamalate I No. 12",
RT/RW "003/005", kelurahan "Karunrung", landmark "depan masjid". What is not found is None and
asked for on its own. Pure: the text and the service area in, parts out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from scheduler.identity import InvalidInput, validate_rt_rw

_RT_RW = re.compile(
    r"\b(?:rt\.?\s*0*\d{1,3}\s*(?:/|-|,)?\s*(?:rw\.?\s*)?0*\d{1,3}"
    r"|rw\.?\s*0*\d{1,3}\s*(?:/|-|,)?\s*rt\.?\s*0*\d{1,3})\b",
    re.IGNORECASE,
)
# Words that start the landmark part: "depan masjid", "dekat pasar", "near the mosque".
_LANDMARK = re.compile(
    r"(?:^|[,;.]\s*|\s)((?:patokan|depan|dekat|samping|belakang|sebelah|seberang|"
    r"near|opposite|behind|next to)\b.*)$",
    re.IGNORECASE,
)
_KELURAHAN_WORD = re.compile(r"\b(?:kel(?:urahan)?\.?)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class AddressParts:
    street: str
    rt_rw: str | None = None
    kelurahan: str | None = None
    landmark: str | None = None


def _squash(text: str) -> str:
    return re.sub(r"[^\w]+", "", text.casefold())


def _tidy(text: str) -> str:
    return " ".join(text.replace(" ,", ",").split()).strip(" ,;.-")


def parse_address(text: str, area: tuple[str, ...]) -> AddressParts:
    rest = " ".join(text.split())
    landmark = None
    if m := _LANDMARK.search(rest):
        landmark = _tidy(m.group(1)) or None
        rest = rest[: m.start(1)]
    rt_rw = None
    if m := _RT_RW.search(rest):
        try:
            rt_rw = validate_rt_rw(m.group(0))
        except InvalidInput:
            rt_rw = None
        else:
            rest = rest[: m.start()] + " " + rest[m.end() :]
    kelurahan = None
    # Longest names first, so "Banta-Bantaeng" is not taken for a shorter one inside it.
    for name in sorted(area, key=len, reverse=True):
        pattern = r"[\s\-]*".join(re.escape(p) for p in re.split(r"[\s\-]+", name))
        if m := re.search(rf"\b{pattern}\b", rest, re.IGNORECASE):
            kelurahan = name
            before = _KELURAHAN_WORD.sub("", rest[: m.start()])
            rest = before + " " + rest[m.end() :]
            break
    return AddressParts(_tidy(rest), rt_rw, kelurahan, landmark)
