"""Checks for what people type at registration: phone, birth date, NIK, name, free text, RT/RW.

Each function returns the normalised value or raises `InvalidInput(code)`. Codes are stable strings
("phone.too_short"); the exception's locale key is ``invalid.<code>``, so the bot shows the person a
clear message in their language and nothing is stored.

Phone numbers (Indonesian, stored as E.164 "+62…")
    Accepted forms: 0812…, 62812…, +62 812…, 0062 812…, +62 (0) 812…, 812… (mobile without the
    trunk 0), with spaces, dashes, dots, slashes or brackets anywhere.
    Mobile: after the trunk 0, "8" then a non-zero digit, 10–13 digits including the 0
    (0812-345-678 … 0812-3456-78901). 080x (toll-free, premium) is refused.
    Landline: only the configured area codes (default 0411, Makassar), subscriber 6–8 digits.
    Anything else (foreign numbers, other areas, short local numbers) is refused with a reason.
NIK (Nomor Induk Kependudukan)
    16 digits: province (2, a real province code), regency (2), district (2), birth date DDMMYY
    with DD+40 for women, serial (4, not 0000). Checked against the birth date and sex when known.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from homecare.errors import UserInputError


class InvalidInput(UserInputError):
    """Bad input from a person; `code` is stable (e.g. "nik.province"), `key` its locale key."""

    def __init__(self, code: str, value: str = "") -> None:
        self.code = code
        self.value = value
        super().__init__(f"invalid.{code}")


# --- phone -------------------------------------------------------------------------------------

MAKASSAR_AREA_CODE = "411"
_PHONE_JUNK = re.compile(r"[\s\-./()\[\]]")


def normalise_phone(text: str, landline_area_codes: Collection[str] = (MAKASSAR_AREA_CODE,)) -> str:
    """An Indonesian mobile (or Makassar landline) number in E.164, e.g. "+628123456789".

    Idempotent: the result is accepted again and returned unchanged.
    """
    if not text or not text.strip():
        raise InvalidInput("phone.empty", text)
    s = _PHONE_JUNK.sub("", text.strip())
    international = s.startswith("+")
    if international:
        s = s[1:]
    if not (s.isascii() and s.isdigit()):
        raise InvalidInput("phone.bad_chars", text)
    if international:
        if not s.startswith("62"):
            raise InvalidInput("phone.not_indonesian", text)
        national = s[2:]
    elif s.startswith("0062"):
        national = s[4:]
    elif s.startswith("62"):
        national = s[2:]
    elif s.startswith("0"):
        national = s[1:]
    elif s.startswith("8"):
        national = s  # a mobile number typed without the trunk 0
    else:
        raise InvalidInput("phone.format", text)
    if national.startswith("0"):  # "+62 (0)812…": the trunk 0 kept after the country code
        national = national[1:]
    if len(national) < 6:
        raise InvalidInput("phone.too_short", text)
    if national.startswith("8"):
        if len(national) < 9:
            raise InvalidInput("phone.too_short", text)
        if national[1] == "0":
            raise InvalidInput("phone.not_mobile", text)
        if len(national) > 12:
            raise InvalidInput("phone.too_long", text)
        return "+62" + national
    for area in sorted((a.lstrip("0") for a in landline_area_codes), key=len, reverse=True):
        if area and national.startswith(area):
            subscriber = national[len(area) :]
            if len(subscriber) < 6:
                raise InvalidInput("phone.too_short", text)
            if len(subscriber) > 8:
                raise InvalidInput("phone.too_long", text)
            return "+62" + national
    raise InvalidInput("phone.area_code", text)


# --- birth date --------------------------------------------------------------------------------

MAX_AGE_YEARS = 120

MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    [
        "januari january jan",
        "februari pebruari february feb peb",
        "maret march mar",
        "april apr",
        "mei may",
        "juni june jun",
        "juli july jul",
        "agustus august agu agt ags aug",
        "september sept sep",
        "oktober october okt oct",
        "november nopember nov nop",
        "desember december des dec",
    ],
    start=1,
):
    for _name in _names.split():
        MONTHS[_name] = _number

_SEP = r"[\s./\-,]"
_NUMERIC_DMY = re.compile(rf"(\d{{1,2}}){_SEP}+(\d{{1,2}}){_SEP}+(\d+)")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_NAMED_DMY = re.compile(rf"(\d{{1,2}})(?:st|nd|rd|th)?{_SEP}*([a-z]+){_SEP}*(\d+)")
_NAMED_MDY = re.compile(rf"([a-z]+){_SEP}*(\d{{1,2}})(?:st|nd|rd|th)?{_SEP}+(\d+)")


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def parse_birth_date(text: str, today: date) -> date:
    """A birth date written as 05-01-1950, 5/1/1950, 5 1 1950, 1950-01-05, "5 Januari 1950",
    "5 Jan 1950", "January 5, 1950". Day comes first in numeric forms (Indonesian usage); years must
    have four digits (an elderly patient's "50" could be 1950 or 2050). Future dates and ages over
    120 are refused."""
    cleaned = " ".join(text.strip().lower().split())
    if not cleaned:
        raise InvalidInput("birth_date.empty", text)
    parts: tuple[str, str, str] | None = None  # day, month, year as text
    if m := _ISO.fullmatch(cleaned):
        parts = (m.group(3), m.group(2), m.group(1))
    elif (m := _NUMERIC_DMY.fullmatch(cleaned)) or (m := _NAMED_DMY.fullmatch(cleaned)):
        parts = (m.group(1), m.group(2), m.group(3))
    elif m := _NAMED_MDY.fullmatch(cleaned):
        parts = (m.group(2), m.group(1), m.group(3))
    if parts is None:
        raise InvalidInput("birth_date.format", text)
    day_text, month_text, year_text = parts
    if month_text.isdigit():
        month = int(month_text)
    elif month_text in MONTHS:
        month = MONTHS[month_text]
    else:
        raise InvalidInput("birth_date.month", text)
    if len(year_text) != 4:
        raise InvalidInput("birth_date.year_digits", text)
    try:
        born = date(int(year_text), month, int(day_text))
    except ValueError:
        raise InvalidInput("birth_date.invalid", text) from None
    if born > today:
        raise InvalidInput("birth_date.future", text)
    if _age(born, today) > MAX_AGE_YEARS:
        raise InvalidInput("birth_date.too_old", text)
    return born


# --- NIK ---------------------------------------------------------------------------------------


class Sex(enum.StrEnum):
    FEMALE = "female"
    MALE = "male"


# Kemendagri province codes as used in the NIK. 65 (Kalimantan Utara, 2012), 76 (Sulawesi Barat,
# 2004) and 93–96 (the Papua provinces formed in 2022: Selatan 93, Tengah 94, Pegunungan 95,
# Barat Daya 96) are included; people registered before a split keep their old code, which is
# still valid.
PROVINCE_CODES: dict[str, str] = {
    "11": "Aceh",
    "12": "Sumatera Utara",
    "13": "Sumatera Barat",
    "14": "Riau",
    "15": "Jambi",
    "16": "Sumatera Selatan",
    "17": "Bengkulu",
    "18": "Lampung",
    "19": "Kepulauan Bangka Belitung",
    "21": "Kepulauan Riau",
    "31": "DKI Jakarta",
    "32": "Jawa Barat",
    "33": "Jawa Tengah",
    "34": "DI Yogyakarta",
    "35": "Jawa Timur",
    "36": "Banten",
    "51": "Bali",
    "52": "Nusa Tenggara Barat",
    "53": "Nusa Tenggara Timur",
    "61": "Kalimantan Barat",
    "62": "Kalimantan Tengah",
    "63": "Kalimantan Selatan",
    "64": "Kalimantan Timur",
    "65": "Kalimantan Utara",
    "71": "Sulawesi Utara",
    "72": "Sulawesi Tengah",
    "73": "Sulawesi Selatan",
    "74": "Sulawesi Tenggara",
    "75": "Gorontalo",
    "76": "Sulawesi Barat",
    "81": "Maluku",
    "82": "Maluku Utara",
    "91": "Papua",
    "92": "Papua Barat",
    "93": "Papua Selatan",
    "94": "Papua Tengah",
    "95": "Papua Pegunungan",
    "96": "Papua Barat Daya",
}

_NIK_JUNK = re.compile(r"[\s.\-]")


@dataclass(frozen=True)
class NikParts:
    """The fields encoded in a NIK. `year2` is the birth year's last two digits only."""

    province: str
    regency: str
    district: str
    day: int
    month: int
    year2: int
    sex: Sex
    serial: str


def _possible_birth_dates(day: int, month: int, year2: int) -> list[date]:
    found = []
    for century in (1900, 2000):
        try:
            found.append(date(century + year2, month, day))
        except ValueError:
            continue
    return found


def parse_nik(text: str) -> NikParts:
    """Split and check a NIK's structure (no birth date or sex to compare against)."""
    nik = _NIK_JUNK.sub("", text.strip())
    if not nik:
        raise InvalidInput("nik.empty", text)
    if not (nik.isascii() and nik.isdigit()):
        raise InvalidInput("nik.digits", text)
    if len(nik) != 16:
        raise InvalidInput("nik.length", text)
    if nik[:2] not in PROVINCE_CODES:
        raise InvalidInput("nik.province", text)
    if nik[2:4] == "00" or nik[4:6] == "00":
        raise InvalidInput("nik.region", text)
    encoded_day, month, year2 = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    sex = Sex.FEMALE if encoded_day > 40 else Sex.MALE
    day = encoded_day - 40 if sex is Sex.FEMALE else encoded_day
    if not _possible_birth_dates(day, month, year2):
        raise InvalidInput("nik.date", text)
    if nik[12:] == "0000":
        raise InvalidInput("nik.serial", text)
    return NikParts(nik[:2], nik[2:4], nik[4:6], day, month, year2, sex, nik[12:])


def validate_nik(text: str, birth_date: date | None = None, sex: Sex | None = None) -> str:
    """The 16-digit NIK (spaces, dots, dashes removed), checked against what else is known."""
    parts = parse_nik(text)
    if birth_date is not None and (parts.day, parts.month, parts.year2) != (
        birth_date.day,
        birth_date.month,
        birth_date.year % 100,
    ):
        raise InvalidInput("nik.birth_date_mismatch", text)
    if sex is not None and sex is not parts.sex:
        raise InvalidInput("nik.sex_mismatch", text)
    return _NIK_JUNK.sub("", text.strip())


def nik_birth_date(text: str, today: date) -> date:
    """The birth date a NIK encodes, taking the latest century that is not in the future.

    Only the two-digit year is encoded, so a person over 100 is read as a child when the day also
    fits this century; ask for the birth date instead of relying on this for the very old.
    """
    parts = parse_nik(text)
    candidates = [
        d for d in _possible_birth_dates(parts.day, parts.month, parts.year2) if d <= today
    ]
    if not candidates:
        raise InvalidInput("nik.date", text)
    return max(candidates)


# --- names and free text -----------------------------------------------------------------------

_NAME_PUNCTUATION = frozenset(" '.-,")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "ʼ": "'"})


def validate_name(text: str) -> str:
    """A person's name as written: 2–100 characters of letters, spaces, apostrophes, dots, hyphens
    and commas (for titles: "Hj. Siti Aminah, S.Pd."). Whitespace is collapsed, NFC-normalised."""
    name = " ".join(unicodedata.normalize("NFC", text).translate(_APOSTROPHES).split())
    if not name:
        raise InvalidInput("name.empty", text)
    for ch in name:
        if not (
            ch.isalpha() or ch in _NAME_PUNCTUATION or unicodedata.category(ch) in ("Mn", "Mc")
        ):
            raise InvalidInput("name.bad_chars", text)
    if sum(ch.isalpha() for ch in name) < 2 or len(name) < 2:
        raise InvalidInput("name.too_short", text)
    if len(name) > 100:
        raise InvalidInput("name.too_long", text)
    return name


# Format characters are dropped (bidi overrides can disguise text) except the zero-width joiner
# that emoji sequences need.
_KEEP_FORMAT = frozenset("\u200d")


def validate_free_text(text: str, max_len: int, min_len: int = 1) -> str:
    """Free text such as a complaint: control and format characters removed, all whitespace
    (including line breaks) collapsed to single spaces, then `min_len`..`max_len` characters.
    Too long is refused rather than cut, so nothing the person wrote is silently lost."""
    if max_len < 1 or min_len < 1:
        raise ValueError("length limits must be positive")
    kept = []
    for ch in unicodedata.normalize("NFC", text):
        category = unicodedata.category(ch)
        if ch.isspace():
            kept.append(" ")
        elif category in ("Cc", "Cs", "Co", "Cn") or (category == "Cf" and ch not in _KEEP_FORMAT):
            continue
        else:
            kept.append(ch)
    cleaned = " ".join("".join(kept).split())
    if not cleaned:
        raise InvalidInput("text.empty", text)
    if len(cleaned) < min_len:
        raise InvalidInput("text.too_short", text)
    if len(cleaned) > max_len:
        raise InvalidInput("text.too_long", text)
    return cleaned


# --- RT/RW -------------------------------------------------------------------------------------

_RT_SEP = r"[\s/\-.,:]"
_RT_FIRST = re.compile(
    rf"(?:rt{_RT_SEP}*)?(\d{{1,3}})(?:{_RT_SEP}*rw{_RT_SEP}*|{_RT_SEP}+)(\d{{1,3}})"
)
_RW_FIRST = re.compile(rf"rw{_RT_SEP}*(\d{{1,3}}){_RT_SEP}*rt{_RT_SEP}*(\d{{1,3}})")


def validate_rt_rw(text: str) -> str:
    """Neighbourhood (RT) and hamlet (RW) as "003/005" from "3/5", "03-05", "RT 3 RW 5",
    "rt.003/rw.005", "RW 5 RT 3"."""
    cleaned = " ".join(text.strip().lower().split())
    if not cleaned:
        raise InvalidInput("rt_rw.empty", text)
    if m := _RT_FIRST.fullmatch(cleaned):
        rt, rw = int(m.group(1)), int(m.group(2))
    elif m := _RW_FIRST.fullmatch(cleaned):
        rw, rt = int(m.group(1)), int(m.group(2))
    else:
        raise InvalidInput("rt_rw.format", text)
    if rt == 0 or rw == 0:
        raise InvalidInput("rt_rw.zero", text)
    return f"{rt:03d}/{rw:03d}"


__all__ = [
    "MAKASSAR_AREA_CODE",
    "MAX_AGE_YEARS",
    "MONTHS",
    "PROVINCE_CODES",
    "InvalidInput",
    "NikParts",
    "Sex",
    "nik_birth_date",
    "normalise_phone",
    "parse_birth_date",
    "parse_nik",
    "validate_free_text",
    "validate_name",
    "validate_nik",
    "validate_rt_rw",
]
