"""Identity checks: phone, birth date, NIK, name, free text, RT/RW (tables + a few properties)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from homecare.errors import UserInputError
from scheduler.identity import (
    PROVINCE_CODES,
    InvalidInput,
    NikParts,
    Sex,
    nik_birth_date,
    normalise_phone,
    parse_birth_date,
    parse_nik,
    validate_free_text,
    validate_name,
    validate_nik,
    validate_rt_rw,
)

TODAY = date(2026, 8, 12)


def code_of(call: object) -> str:
    assert callable(call)
    with pytest.raises(InvalidInput) as err:
        call()
    return err.value.code


def test_invalid_input_is_a_user_input_error_with_a_locale_key() -> None:
    with pytest.raises(UserInputError) as err:
        normalise_phone("12")
    assert isinstance(err.value, InvalidInput)
    assert err.value.code == "phone.format"
    assert err.value.key == "invalid.phone.format"
    assert err.value.value == "12"


# --- phone -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "e164"),
    [
        ("08123456789", "+628123456789"),
        ("0812-3456-789", "+628123456789"),
        ("0812 3456 789", "+628123456789"),
        ("0812.3456.789", "+628123456789"),
        ("+62 812-3456-789", "+628123456789"),
        ("+62 (0) 812 3456 789", "+628123456789"),
        ("+62-0812-3456-789", "+628123456789"),
        ("628123456789", "+628123456789"),
        ("0062 812 3456 789", "+628123456789"),
        ("8123456789", "+628123456789"),  # trunk 0 forgotten
        ("  08123456789\n", "+628123456789"),
        ("0812345678", "+62812345678"),  # 10 digits: shortest mobile
        ("0812345678901", "+62812345678901"),  # 13 digits: longest mobile
        ("0852 9876 5432", "+6285298765432"),
        ("0895-1234-5678", "+6289512345678"),
        ("(0411) 452 123", "+62411452123"),  # Makassar landline, 6-digit subscriber
        ("0411-4521234", "+624114521234"),
        ("+62 411 45212345", "+6241145212345"),  # 8-digit subscriber
        ("+628123456789", "+628123456789"),  # already normalised
    ],
)
def test_normalise_phone(text: str, e164: str) -> None:
    assert normalise_phone(text) == e164
    assert normalise_phone(e164) == e164


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "phone.empty"),
        ("   ", "phone.empty"),
        ("081234567", "phone.too_short"),  # 9 digits
        ("08123456789012", "phone.too_long"),  # 14 digits
        ("+62", "phone.too_short"),
        ("08", "phone.too_short"),
        ("0800 1234 567", "phone.not_mobile"),  # toll-free
        ("0411 12345", "phone.too_short"),
        ("0411 123456789", "phone.too_long"),
        ("021 5551234", "phone.area_code"),  # Jakarta landline: not in the service area
        ("0711 123456", "phone.area_code"),
        ("452123", "phone.format"),  # local number without area code
        ("+65 8123 4567", "phone.not_indonesian"),
        ("+1 555 123 4567", "phone.not_indonesian"),
        ("0812-3456-789 WA", "phone.bad_chars"),
        ("0812345678x", "phone.bad_chars"),
        ("٠٨١٢٣٤٥٦٧٨٩", "phone.bad_chars"),  # Arabic-Indic digits
        ("++628123456789", "phone.bad_chars"),
        ("+62 812 3456 789 ext 2", "phone.bad_chars"),
    ],
)
def test_normalise_phone_rejects(text: str, code: str) -> None:
    assert code_of(lambda: normalise_phone(text)) == code


def test_normalise_phone_other_area_codes() -> None:
    assert normalise_phone("021 5551234", landline_area_codes=("021", "411")) == "+62215551234"
    assert normalise_phone("0411 452123", landline_area_codes=("021", "411")) == "+62411452123"
    assert code_of(lambda: normalise_phone("0411 452123", landline_area_codes=())) == (
        "phone.area_code"
    )


mobile_national = st.builds(
    lambda second, rest: "8" + second + rest,
    st.sampled_from("123456789"),
    st.text(alphabet="0123456789", min_size=7, max_size=10),
)


@settings(deadline=None)  # no timing assertions on a busy 2-core machine
@given(
    mobile_national,
    st.sampled_from(["0{n}", "+62{n}", "62{n}", "0062{n}", "+62 (0){n}", "{n}"]),
    st.sampled_from(["", " ", "-", "."]),
)
def test_phone_forms_all_normalise_to_one_number(national: str, form: str, sep: str) -> None:
    spaced = sep.join(national[i : i + 4] for i in range(0, len(national), 4))
    text = form.format(n=spaced)
    assert normalise_phone(text) == "+62" + national


@settings(deadline=None)  # no timing assertions on a busy 2-core machine
@given(st.text(alphabet="0123456789+ -.()8", max_size=20))
def test_phone_normalisation_is_idempotent(text: str) -> None:
    try:
        once = normalise_phone(text)
    except InvalidInput:
        return
    assert once.startswith("+62") and once[1:].isdigit()
    assert normalise_phone(once) == once


# --- birth date --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "born"),
    [
        ("05-01-1950", date(1950, 1, 5)),
        ("5/1/1950", date(1950, 1, 5)),
        ("5 1 1950", date(1950, 1, 5)),
        ("05.01.1950", date(1950, 1, 5)),
        ("1950-01-05", date(1950, 1, 5)),
        ("5 Januari 1950", date(1950, 1, 5)),
        ("  5   januari   1950 ", date(1950, 1, 5)),
        ("05 JAN 1950", date(1950, 1, 5)),
        ("5 Jan. 1950", date(1950, 1, 5)),
        ("5-Jan-1950", date(1950, 1, 5)),
        ("January 5, 1950", date(1950, 1, 5)),
        ("Jan 5 1950", date(1950, 1, 5)),
        ("5th January 1950", date(1950, 1, 5)),
        ("17 Agustus 1945", date(1945, 8, 17)),
        ("17 Agt 1945", date(1945, 8, 17)),
        ("10 Nopember 1960", date(1960, 11, 10)),
        ("1 Pebruari 1970", date(1970, 2, 1)),
        ("3 Mei 1980", date(1980, 5, 3)),
        ("3 May 1980", date(1980, 5, 3)),
        ("31 Desember 1999", date(1999, 12, 31)),
        ("31 Okt 1999", date(1999, 10, 31)),
        ("29-02-2000", date(2000, 2, 29)),
        ("01-05-1950", date(1950, 5, 1)),  # day first
        ("12-08-2026", TODAY),  # born today
        ("12-08-1906", date(1906, 8, 12)),  # 120 today
        ("13-08-1905", date(1905, 8, 13)),  # 120, turns 121 tomorrow
    ],
)
def test_parse_birth_date(text: str, born: date) -> None:
    assert parse_birth_date(text, TODAY) == born


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "birth_date.empty"),
        ("   ", "birth_date.empty"),
        ("13-08-2026", "birth_date.future"),
        ("12-08-1905", "birth_date.too_old"),  # 121
        ("29-02-1900", "birth_date.invalid"),
        ("31-04-1950", "birth_date.invalid"),
        ("05-13-1950", "birth_date.invalid"),  # month first is not read
        ("00-01-1950", "birth_date.invalid"),
        ("05-01-50", "birth_date.year_digits"),
        ("5 Januari 50", "birth_date.year_digits"),
        ("5 Janvier 1950", "birth_date.month"),
        ("tomorrow", "birth_date.format"),
        ("1950", "birth_date.format"),
        ("5 Januari", "birth_date.format"),
        ("05/01/1950 10:00", "birth_date.format"),
    ],
)
def test_parse_birth_date_rejects(text: str, code: str) -> None:
    assert code_of(lambda: parse_birth_date(text, TODAY)) == code


# --- NIK ---------------------------------------------------------------------------------------


def make_nik(born: date, sex: Sex, region: str = "737113", serial: str = "0001") -> str:
    day = born.day + (40 if sex is Sex.FEMALE else 0)
    return f"{region}{day:02d}{born.month:02d}{born.year % 100:02d}{serial}"


def test_province_codes_are_the_known_list() -> None:
    expected = (
        [str(c) for c in range(11, 20)]
        + ["21"]
        + [str(c) for c in range(31, 37)]
        + ["51", "52", "53"]
        + [str(c) for c in range(61, 66)]
        + [str(c) for c in range(71, 77)]
        + ["81", "82"]
        + [str(c) for c in range(91, 97)]
    )
    assert sorted(PROVINCE_CODES) == expected
    assert PROVINCE_CODES["73"] == "Sulawesi Selatan"


@pytest.mark.parametrize(
    ("nik", "born", "sex", "expected"),
    [
        ("7371130501500001", date(1950, 1, 5), Sex.MALE, "7371130501500001"),
        ("7371134501500002", date(1950, 1, 5), Sex.FEMALE, "7371134501500002"),
        ("7371137112990003", date(1999, 12, 31), Sex.FEMALE, "7371137112990003"),
        ("7371 1305 0150 0001", None, None, "7371130501500001"),
        ("7371.1305.0150.0001", date(1950, 1, 5), None, "7371130501500001"),
        ("7371130501500001", None, Sex.MALE, "7371130501500001"),
        ("1101012902000001", date(2000, 2, 29), None, "1101012902000001"),  # leap day in 2000
        ("9601016902000001", date(1900 + 100, 2, 29), Sex.FEMALE, "9601016902000001"),
        ("9101010101040001", date(1904, 1, 1), None, "9101010101040001"),
        ("7371130501501234", date(2050, 1, 5), None, "7371130501501234"),  # only YY compared
    ],
)
def test_validate_nik(nik: str, born: date | None, sex: Sex | None, expected: str) -> None:
    assert validate_nik(nik, born, sex) == expected


@pytest.mark.parametrize(
    ("nik", "born", "sex", "code"),
    [
        ("", None, None, "nik.empty"),
        ("737113050150000", None, None, "nik.length"),  # 15 digits
        ("73711305015000011", None, None, "nik.length"),
        ("737113050150000A", None, None, "nik.digits"),
        ("１２３４５６７８９０１２３４５６", None, None, "nik.digits"),  # full-width digits
        ("1001130501500001", None, None, "nik.province"),  # 10 is not a province
        ("2001130501500001", None, None, "nik.province"),
        ("3701130501500001", None, None, "nik.province"),
        ("5401130501500001", None, None, "nik.province"),
        ("6601130501500001", None, None, "nik.province"),
        ("7701130501500001", None, None, "nik.province"),
        ("8301130501500001", None, None, "nik.province"),
        ("9701130501500001", None, None, "nik.province"),
        ("0001130501500001", None, None, "nik.province"),
        ("7300130501500001", None, None, "nik.region"),
        ("7371000501500001", None, None, "nik.region"),
        ("7371130001500001", None, None, "nik.date"),  # day 00
        ("7371133201500001", None, None, "nik.date"),  # day 32
        ("7371134001500001", None, None, "nik.date"),  # 40 = woman's day 0
        ("7371137201500001", None, None, "nik.date"),  # 72 = woman's day 32
        ("7371130513500001", None, None, "nik.date"),  # month 13
        ("7371130500500001", None, None, "nik.date"),  # month 0
        ("7371132902010001", None, None, "nik.date"),  # 29 Feb in 1901 and 2001
        ("7371133104500001", None, None, "nik.date"),  # 31 April
        ("7371130501500000", None, None, "nik.serial"),
        ("7371130501500001", date(1950, 1, 6), None, "nik.birth_date_mismatch"),
        ("7371130501500001", date(1950, 2, 5), None, "nik.birth_date_mismatch"),
        ("7371130501500001", date(1951, 1, 5), None, "nik.birth_date_mismatch"),
        ("7371134501500002", date(1950, 1, 5), Sex.MALE, "nik.sex_mismatch"),
        ("7371130501500001", date(1950, 1, 5), Sex.FEMALE, "nik.sex_mismatch"),
    ],
)
def test_validate_nik_rejects(nik: str, born: date | None, sex: Sex | None, code: str) -> None:
    assert code_of(lambda: validate_nik(nik, born, sex)) == code


def test_parse_nik_parts() -> None:
    assert parse_nik("7371134501500002") == NikParts("73", "71", "13", 5, 1, 50, Sex.FEMALE, "0002")


@pytest.mark.parametrize(
    ("nik", "born"),
    [
        ("7371130501500001", date(1950, 1, 5)),
        ("7371130501200001", date(2020, 1, 5)),
        ("7371131208260001", date(2026, 8, 12)),  # born today
        ("7371131308260001", date(1926, 8, 13)),  # 2026-08-13 is tomorrow → 1926
        ("7371132902000001", date(2000, 2, 29)),
    ],
)
def test_nik_birth_date(nik: str, born: date) -> None:
    assert nik_birth_date(nik, TODAY) == born


def test_nik_birth_date_with_no_past_century() -> None:
    # 29 Feb 00 exists only in 2000: asked "as of" 1999 there is no date in the past.
    assert code_of(lambda: nik_birth_date("7371132902000001", date(1999, 1, 1))) == "nik.date"


@settings(deadline=None)  # no timing assertions on a busy 2-core machine
@given(
    st.dates(min_value=TODAY - timedelta(days=365 * 100 - 30), max_value=TODAY),
    st.sampled_from(list(Sex)),
    st.sampled_from(sorted(PROVINCE_CODES)),
    st.integers(min_value=1, max_value=9999),
)
def test_nik_round_trip(born: date, sex: Sex, province: str, serial: int) -> None:
    nik = make_nik(born, sex, region=f"{province}0101", serial=f"{serial:04d}")
    assert validate_nik(nik, born, sex) == nik
    assert nik_birth_date(nik, TODAY) == born
    parts = parse_nik(nik)
    assert (parts.sex, parts.province, parts.serial) == (sex, province, f"{serial:04d}")


@settings(deadline=None)  # no timing assertions on a busy 2-core machine
@given(st.dates(min_value=date(1906, 1, 1), max_value=TODAY), st.sampled_from(list(Sex)))
def test_nik_from_another_birth_date_is_refused(born: date, sex: Sex) -> None:
    other = born + timedelta(days=1)
    assume(other <= TODAY)
    nik = make_nik(born, sex)
    assert code_of(lambda: validate_nik(nik, other, sex)) == "nik.birth_date_mismatch"


# --- name --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Siti Aminah", "Siti Aminah"),
        ("  siti   aminah ", "siti aminah"),
        ("Hj. Siti Aminah, S.Pd.", "Hj. Siti Aminah, S.Pd."),
        ("Andi Nur-Fadillah", "Andi Nur-Fadillah"),
        ("Ma’ruf Amin", "Ma'ruf Amin"),
        ("La Ode", "La Ode"),
        ("Sukarno", "Sukarno"),
        ("Al", "Al"),
        ("Budi\tSantoso", "Budi Santoso"),
        ("José", "José"),
        ("Jose\u0301", "José"),  # combining accent composed
        ("a" * 100, "a" * 100),
    ],
)
def test_validate_name(text: str, name: str) -> None:
    assert validate_name(text) == name


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "name.empty"),
        ("   ", "name.empty"),
        ("I", "name.too_short"),
        ("A.", "name.too_short"),
        ("--", "name.too_short"),
        ("a" * 101, "name.too_long"),
        ("12345", "name.bad_chars"),
        ("Budi2", "name.bad_chars"),
        ("Budi\x00", "name.bad_chars"),
        ("Budi\u202e", "name.bad_chars"),
        ("Budi 😀", "name.bad_chars"),
        ("<script>", "name.bad_chars"),
        ("Budi/Santoso", "name.bad_chars"),
    ],
)
def test_validate_name_rejects(text: str, code: str) -> None:
    assert code_of(lambda: validate_name(text)) == code


# --- free text ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "max_len", "min_len", "expected"),
    [
        ("  Luka   di kaki\nsejak 3 hari ", 200, 1, "Luka di kaki sejak 3 hari"),
        ("abc\x00def", 10, 1, "abcdef"),
        ("\u202eevil", 10, 1, "evil"),  # bidi override dropped
        ("a\u200bb", 10, 1, "ab"),  # zero-width space dropped
        ("👨\u200d👩\u200d👧", 10, 1, "👨\u200d👩\u200d👧"),  # family emoji keeps its joiners
        ("a" * 10, 10, 1, "a" * 10),
        ("x", 10, 1, "x"),
        ("abc", 10, 3, "abc"),
        ("Demam\r\n\r\nbatuk", 50, 1, "Demam batuk"),
    ],
)
def test_validate_free_text(text: str, max_len: int, min_len: int, expected: str) -> None:
    assert validate_free_text(text, max_len, min_len) == expected


@pytest.mark.parametrize(
    ("text", "max_len", "min_len", "code"),
    [
        ("", 10, 1, "text.empty"),
        (" \n\t ", 10, 1, "text.empty"),
        ("\x00\x01", 10, 1, "text.empty"),
        ("a" * 11, 10, 1, "text.too_long"),
        ("ab", 10, 3, "text.too_short"),
    ],
)
def test_validate_free_text_rejects(text: str, max_len: int, min_len: int, code: str) -> None:
    assert code_of(lambda: validate_free_text(text, max_len, min_len)) == code


@pytest.mark.parametrize(("max_len", "min_len"), [(0, 1), (10, 0)])
def test_validate_free_text_limits(max_len: int, min_len: int) -> None:
    with pytest.raises(ValueError):
        validate_free_text("abc", max_len, min_len)


@settings(deadline=None)  # no timing assertions on a busy 2-core machine
@given(st.text(max_size=300))
def test_free_text_output_is_clean(text: str) -> None:
    try:
        out = validate_free_text(text, 200)
    except InvalidInput as err:
        assert err.code in ("text.empty", "text.too_long")
        return
    assert 1 <= len(out) <= 200
    assert out == out.strip() and "  " not in out
    assert not any(ch in out for ch in "\n\r\t\x00\u202e")
    assert validate_free_text(out, 200) == out


# --- RT/RW -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("003/005", "003/005"),
        ("3/5", "003/005"),
        ("03-05", "003/005"),
        ("3 5", "003/005"),
        ("3.5", "003/005"),
        ("RT 3 RW 5", "003/005"),
        ("rt.003/rw.005", "003/005"),
        ("RT03RW05", "003/005"),
        ("RT 3 / RW 5", "003/005"),
        ("RW 5 RT 3", "003/005"),  # order swapped, labels make it clear
        ("rw 05/rt 03", "003/005"),
        ("12/999", "012/999"),
    ],
)
def test_validate_rt_rw(text: str, expected: str) -> None:
    assert validate_rt_rw(text) == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "rt_rw.empty"),
        ("0035", "rt_rw.format"),  # no separator: 003/5 or 0/035?
        ("3", "rt_rw.format"),
        ("RT 3", "rt_rw.format"),
        ("1000/5", "rt_rw.format"),
        ("a/b", "rt_rw.format"),
        ("3/5/7", "rt_rw.format"),
        ("000/005", "rt_rw.zero"),
        ("3/0", "rt_rw.zero"),
    ],
)
def test_validate_rt_rw_rejects(text: str, code: str) -> None:
    assert code_of(lambda: validate_rt_rw(text)) == code
