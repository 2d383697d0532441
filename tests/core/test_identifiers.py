"""Identifier checks: resident ID, USCC, organisation code, court and case numbers."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.core.identifiers import (
    CaseNumber,
    Gender,
    ResidentId,
    UsccCheckFailed,
    case_number_key,
    check_org_code,
    check_resident_id,
    check_uscc,
    mask_resident_id,
    normalise_id_number,
    org_code_check_char,
    parse_case_number,
    parse_court_code,
    parse_resident_id,
    resident_id_check_char,
    to_half_width,
    upgrade_resident_id15,
    uscc_check_char,
)
from hub.errors import InvalidValue

TODAY = date(2026, 11, 25)


#: Chinese input methods type brackets, digits and letters full-width; the tests spell
#: such input with these helpers so the source stays plain ASCII outside Chinese words.
LB, RB = "\N{FULLWIDTH LEFT PARENTHESIS}", "\N{FULLWIDTH RIGHT PARENTHESIS}"


def fw(text: str) -> str:
    """``text`` typed full-width (the ASCII range moved to U+FF01..U+FF5E)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


# The weights exactly as the standards print them: the fast implementations are
# checked against these.
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_TABLE = "10X98765432"
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def reason(exc: pytest.ExceptionInfo[BaseException]) -> str:
    return str(exc.value)


# --- half-width and normalisation --------------------------------------------------


def test_to_half_width_converts_full_width_ascii_and_ideographic_space() -> None:
    assert to_half_width(fw("(2019)") + "皖" + fw("1122") + "执") == "(2019)皖1122执"
    assert to_half_width(fw("aBc") + "\u3000" + fw("-")) == "aBc -"
    assert to_half_width("plain ascii") == "plain ascii"


def test_normalise_id_number_uppercases_and_drops_spaces() -> None:
    assert normalise_id_number(" 11010519491231002x ") == "11010519491231002X"
    assert (
        normalise_id_number(fw("110105") + " 1949\u30001231002" + fw("x")) == "11010519491231002X"
    )
    assert normalise_id_number("m000100y-4") == "M000100Y-4"


# --- resident ID ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "birth", "gender"),
    [
        ("11010519491231002X", date(1949, 12, 31), "female"),
        ("440524188001010014", date(1880, 1, 1), "male"),
        ("110105198503150019", date(1985, 3, 15), "male"),
        ("320102197907040241", date(1979, 7, 4), "female"),
    ],
)
def test_valid_resident_ids_parse(number: str, birth: date, gender: Gender) -> None:
    assert parse_resident_id(number, today=TODAY) == ResidentId(number, birth, gender)
    assert check_resident_id(number, today=TODAY) == (number, birth, gender)


def test_resident_id_check_char_of_the_standard_examples() -> None:
    assert resident_id_check_char("11010519491231002") == "X"
    assert resident_id_check_char("44052418800101001") == "4"


def test_lower_case_x_and_full_width_are_accepted() -> None:
    assert parse_resident_id("11010519491231002x", today=TODAY).number == "11010519491231002X"
    assert parse_resident_id(fw("11010519491231002X"), today=TODAY).gender == "female"


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_check_char_matches_the_printed_weights(body: str) -> None:
    total = sum(int(c) * w for c, w in zip(body, ID_WEIGHTS, strict=True))
    assert resident_id_check_char(body) == ID_TABLE[total % 11]


@given(
    area=st.text(alphabet="0123456789", min_size=6, max_size=6),
    birth=st.dates(min_value=date(1800, 1, 1), max_value=TODAY),
    seq=st.integers(min_value=0, max_value=999),
)
def test_any_body_with_its_computed_check_char_parses(area: str, birth: date, seq: int) -> None:
    body = f"{area}{birth:%Y%m%d}{seq:03d}"
    rid = parse_resident_id(body + resident_id_check_char(body), today=TODAY)
    assert rid.birth_date == birth
    assert rid.gender == ("male" if seq % 2 else "female")


@given(st.text(alphabet="0123456789", min_size=17, max_size=17), st.sampled_from(ID_TABLE))
def test_a_wrong_check_char_is_always_refused(body: str, check: str) -> None:
    if check == resident_id_check_char(body):
        return
    with pytest.raises(InvalidValue):
        parse_resident_id(body + check, today=TODAY)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("110105194912310027", "check digit is 7, expected X"),
        ("11010519491331002X", "birth date 19491331 is not a real date"),
        ("11010519490229002X", "birth date 19490229 is not a real date"),
        ("11010520301231002X", "birth date 2030-12-31 is in the future"),
        ("11010517991231002X", "birth date 1799-12-31 is before 1800"),
        ("1101051949123100", "has 16 characters; a resident ID has 18"),
        ("1101051949123100AX", "character 17 is 'A'; the first 17 must be digits"),
        ("11010519491231002Y", "the last character is 'Y'; it must be a digit or X"),
        ("110105491231002", "110105491231002 has 15 digits: a legacy number must be given"),
    ],
)
def test_bad_resident_ids_are_refused_with_the_reason(value: str, expected: str) -> None:
    with pytest.raises(InvalidValue) as exc:
        parse_resident_id(value, today=TODAY)
    assert expected in reason(exc)


def test_resident_id_check_char_needs_17_digits() -> None:
    with pytest.raises(InvalidValue, match="not 17 digits"):
        resident_id_check_char("1101051949123100A")


def test_upgrade_15_to_18_inserts_19_and_adds_the_check() -> None:
    assert upgrade_resident_id15("110105491231002") == "11010519491231002X"
    body = "44052419800101001"
    assert upgrade_resident_id15(" 440524800101001 ") == body + resident_id_check_char(body)
    with pytest.raises(InvalidValue, match="15-digit"):
        upgrade_resident_id15("11010549123100")


def test_mask_hides_birth_month_and_day() -> None:
    # Positions 11 to 14 (1-based), i.e. MMDD of 19491231.
    assert mask_resident_id("11010519491231002X") == "1101051949****002X"
    with pytest.raises(InvalidValue, match="only an 18-digit"):
        mask_resident_id("110105491231002")


# --- USCC ------------------------------------------------------------------------------


def test_valid_uscc() -> None:
    assert check_uscc("91350100M000100Y43") == "91350100M000100Y43"
    assert check_uscc(" 91350100m000100y43 ") == "91350100M000100Y43"
    assert check_uscc("91110105MA01ABCD5F") == "91110105MA01ABCD5F"
    assert uscc_check_char("91350100M000100Y4") == "3"


@given(st.text(alphabet=USCC_CHARSET, min_size=17, max_size=17))
def test_uscc_check_matches_the_printed_weights(body: str) -> None:
    total = sum(USCC_CHARSET.index(c) * pow(3, i, 31) for i, c in enumerate(body))
    check = USCC_CHARSET[(31 - total % 31) % 31]
    assert uscc_check_char(body) == check
    assert check_uscc(body + check) == body + check


def test_wrong_uscc_check_is_its_own_error() -> None:
    with pytest.raises(UsccCheckFailed) as exc:
        check_uscc("91350100M000100Y44")
    assert reason(exc) == "check character is 4, expected 3"
    assert exc.value.value == "91350100M000100Y44"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("91350100M000100Y4Z", "character 18 'Z' is not allowed in a USCC"),
        ("91350100M000100I43", "character 16 'I' is not allowed in a USCC"),
        ("91350100M000100Y4", "has 17 characters; a USCC has 18"),
    ],
)
def test_malformed_uscc_is_not_a_check_failure(value: str, expected: str) -> None:
    with pytest.raises(InvalidValue) as exc:
        check_uscc(value)
    assert not isinstance(exc.value, UsccCheckFailed)
    assert expected in reason(exc)


def test_uscc_check_char_refuses_bad_characters() -> None:
    with pytest.raises(InvalidValue, match="'O' is not allowed"):
        uscc_check_char("91350100M000100O4")
    with pytest.raises(InvalidValue, match="not 17 characters"):
        uscc_check_char("9135")


# --- organisation code -----------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["M000100Y4", "M000100Y-4", "m000100y" + fw("-") + "4", "M000100Y 4"]
)
def test_org_code_with_and_without_hyphen(value: str) -> None:
    assert check_org_code(value) == "M000100Y-4"


def test_org_code_check_chars_10_and_11() -> None:
    assert org_code_check_char("10000018") == "X"
    assert org_code_check_char("10000004") == "0"
    assert check_org_code("10000018X") == "10000018-X"
    assert check_org_code("10000004-0") == "10000004-0"


@given(st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=8, max_size=8))
def test_org_code_check_matches_the_printed_weights(body: str) -> None:
    total = sum(int(c, 36) * w for c, w in zip(body, ORG_WEIGHTS, strict=True))
    value = 11 - total % 11
    assert org_code_check_char(body) == {10: "X", 11: "0"}.get(value, str(value))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("M000100Y-5", "check character is 5, expected 4"),
        ("M000100Y-45", "is not an organisation code"),
        ("M00#100Y-4", "character 4 '#' is not allowed in an organisation code"),
    ],
)
def test_bad_org_codes(value: str, expected: str) -> None:
    with pytest.raises(InvalidValue) as exc:
        check_org_code(value)
    assert expected in reason(exc)


# --- court codes and case numbers ------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("京0105", "京0105"),
        ("皖1122", "皖1122"),
        ("最高法", "最高法"),
        ("京", "京"),
        ("粤03", "粤03"),
        ("兵0102", "兵0102"),
        (" 京" + fw("0105") + " ", "京0105"),
    ],
)
def test_court_codes(value: str, expected: str) -> None:
    assert parse_court_code(value) == expected


@pytest.mark.parametrize("value", ["京010", "X0105", "京01050", "", "最高", "京A1"])
def test_bad_court_codes(value: str) -> None:
    with pytest.raises(InvalidValue, match="is not 最高法, a province character"):
        parse_court_code(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            f"{LB}2019{RB}皖1122执1194号",
            CaseNumber(
                f"{LB}2019{RB}皖1122执1194号",
                "(2019)皖1122执1194号",
                2019,
                "皖1122",
                "执",
                1194,
                False,
            ),
        ),
        (
            " (2017)渝0107执4344号 ",
            CaseNumber(
                "(2017)渝0107执4344号", "(2017)渝0107执4344号", 2017, "渝0107", "执", 4344, False
            ),
        ),
        (
            f"{LB}2024{RB}京0105执恢12号",
            CaseNumber(
                f"{LB}2024{RB}京0105执恢12号",
                "(2024)京0105执恢12号",
                2024,
                "京0105",
                "执恢",
                12,
                False,
            ),
        ),
        (
            "(2020)最高法执监5号",
            CaseNumber(
                "(2020)最高法执监5号", "(2020)最高法执监5号", 2020, "最高法", "执监", 5, False
            ),
        ),
        (
            f"{LB}{fw('2021')}{RB} 粤03 执保 7号",
            CaseNumber(
                f"{LB}{fw('2021')}{RB} 粤03 执保 7号",
                "(2021)粤03执保7号",
                2021,
                "粤03",
                "执保",
                7,
                False,
            ),
        ),
        (
            "(2015)阜执字第00690号",
            CaseNumber(
                "(2015)阜执字第00690号", "(2015)阜执字第00690号", 2015, "阜", "执字", 690, True
            ),
        ),
        (
            f"{LB}2013{RB}渝北法民执字第00815号",
            CaseNumber(
                f"{LB}2013{RB}渝北法民执字第00815号",
                "(2013)渝北法民执字第00815号",
                2013,
                "渝北法民",
                "执字",
                815,
                True,
            ),
        ),
    ],
)
def test_case_numbers(value: str, expected: CaseNumber) -> None:
    assert parse_case_number(value) == expected
    assert case_number_key(value) == (expected.display, expected.key)


def test_full_and_half_width_brackets_share_one_key() -> None:
    full, half = (
        parse_case_number(f"{LB}2019{RB}皖1122执1194号"),
        parse_case_number("(2019)皖1122执1194号"),
    )
    assert full.key == half.key
    assert full.display != half.display


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2019皖1122执1194号", "must start with the filing year in brackets"),
        (f"{LB}2019{RB}皖1122执1194", "must end with 号"),
        (f"{LB}2019{RB}X1122执1194号", "court code 'X1122'"),
        (f"{LB}2019{RB}皖112执1号", "court code '皖112'"),
        (f"{LB}2019{RB}皖1122民初1号", "has no enforcement type code"),
        (f"{LB}2019{RB}皖1122执请1号", "type code '执请' is not one of"),
        (f"{LB}2019{RB}皖1122执号", "has no case number"),
        (f"{LB}1989{RB}皖1122执1号", "year 1989 is outside 1990 to 2100"),
        (f"{LB}2019{RB}皖1122执0号", "numbering starts at 1"),
        (f"{LB}2015{RB}阜执字00690号", "is not a legacy case number"),
    ],
)
def test_bad_case_numbers(value: str, expected: str) -> None:
    with pytest.raises(InvalidValue) as exc:
        parse_case_number(value)
    assert expected in reason(exc)


@pytest.mark.parametrize("year", range(1985, 2106))
def test_fast_and_full_case_number_paths_agree(year: int) -> None:
    for number in (f"({year})京0105执12号", f"{LB}{year}{RB}京0105执0号"):
        try:
            case = parse_case_number(number)
            expected: tuple[str, str] | None = (case.display, case.key)
        except InvalidValue:
            expected = None
        try:
            got: tuple[str, str] | None = case_number_key(number)
        except InvalidValue:
            got = None
        assert got == expected
