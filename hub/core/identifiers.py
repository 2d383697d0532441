"""Identifier checks: resident ID, USCC, organisation code, case and court numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

from hub.core.codes import CASE_TYPE_CODES, PROVINCE_CHARS
from hub.errors import InvalidValue

# Full-width ASCII (U+FF01..U+FF5E) sits 0xFEE0 above ASCII; the ideographic space
# is the other character Chinese input methods slip into numbers.
_HALF_WIDTH: Final = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def to_half_width(s: str) -> str:
    """Return ``s`` with full-width ASCII and the ideographic space made half-width."""
    if s.isascii():
        return s
    return s.translate(_HALF_WIDTH)


def normalise_id_number(raw: str) -> str:
    """Normalise an identifier as typed: half-width, upper-case, no spaces anywhere."""
    if raw.isascii() and raw.isalnum():
        return raw.upper()
    s = to_half_width(raw)
    if not s.isalnum():
        s = "".join(s.split())
    return s.upper()


# --- Resident ID (GB 11643) -------------------------------------------------------

# Weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2 are 2^(17-i) mod 11. Since 13 = 2 (mod 11),
# reading the 17 digits as a base-13 number gives the weighted sum over 2, in C:
# sum(d_i * 2^(17-i)) = 2 * int(body, 13) (mod 11). Tests check it against the weights.
_ID_CHECK: Final = "10X98765432"
_ID_FLOOR: Final = date(1800, 1, 1)  # the standard's own sample 440524188001010014 is born 1880
_DIGITS: Final = frozenset("0123456789")
_ODD: Final = frozenset("13579")


Gender = Literal["male", "female"]


@dataclass(frozen=True, slots=True)
class ResidentId:
    """A checked 18-digit resident ID and what it says about its holder."""

    number: str
    birth_date: date
    gender: Gender


def _is_digits(s: str) -> bool:
    # str.isdigit() is true for "²" and other Unicode digits; only ASCII will do here.
    return s.isascii() and s.isdigit()


def _first_bad(s: str, allowed: frozenset[str] | str) -> tuple[int, str]:
    for i, ch in enumerate(s, 1):
        if ch not in allowed:
            return i, ch
    return 0, ""


def resident_id_check_char(first17: str) -> str:
    """Return the check character (``0`` to ``9`` or ``X``) for 17 resident-ID digits."""
    if len(first17) != 17 or not _is_digits(first17):
        raise InvalidValue(f"{first17!r} is not 17 digits")
    return _ID_CHECK[2 * int(first17, 13) % 11]


def parse_resident_id(value: str, *, today: date) -> ResidentId:
    """Check an 18-digit resident ID and derive the birth date and gender.

    :param today: births after this day are refused.
    :raises InvalidValue: wrong length or character, impossible birth date, or wrong
        check character.
    """
    return ResidentId(*check_resident_id(value, today=today))


def check_resident_id(value: str, *, today: date) -> tuple[str, date, Gender]:
    """Like :func:`parse_resident_id`, as a plain tuple (number, birth date, gender).

    The bulk import path calls this form: a tuple costs a fraction of a frozen
    dataclass, and every row has one or more resident IDs.
    """
    number = value if value.isascii() and value.isdigit() else normalise_id_number(value)
    body = number[:17]
    if len(number) == 18 and body.isdigit() and number.isascii():
        try:
            # Eight ASCII digits, which fromisoformat reads as the basic form YYYYMMDD.
            birth = date.fromisoformat(body[6:14])
        except ValueError:
            birth = None
        if (
            birth is not None
            and _ID_FLOOR <= birth <= today
            and number[17] == _ID_CHECK[2 * int(body, 13) % 11]
        ):
            # The sequence code's last digit is odd for men, even for women.
            return number, birth, "male" if body[16] in _ODD else "female"
    raise InvalidValue(_resident_id_problem(number, today))


def _resident_id_problem(number: str, today: date) -> str:
    """Say what is wrong with a resident ID that failed the check (cold path)."""
    if len(number) != 18:
        if len(number) == 15 and _is_digits(number):
            return f"{number} has 15 digits: a legacy number must be given as resident_id15"
        return f"has {len(number)} characters; a resident ID has 18"
    body = number[:17]
    if not _is_digits(body):
        pos, ch = _first_bad(body, _DIGITS)
        return f"character {pos} is {ch!r}; the first 17 must be digits"
    if number[17] not in _ID_CHECK:
        return f"the last character is {number[17]!r}; it must be a digit or X"
    try:
        birth = date.fromisoformat(body[6:14])
    except ValueError:
        return f"birth date {body[6:14]} is not a real date"
    if birth > today:
        return f"birth date {birth.isoformat()} is in the future"
    if birth < _ID_FLOOR:
        return f"birth date {birth.isoformat()} is before 1800"
    return f"check digit is {number[17]}, expected {_ID_CHECK[2 * int(body, 13) % 11]}"


def upgrade_resident_id15(value: str) -> str:
    """Turn a legacy 15-digit resident ID into 18 digits (insert ``19``, add the check)."""
    number = normalise_id_number(value)
    if len(number) != 15 or not _is_digits(number):
        raise InvalidValue(f"{number!r} is not a 15-digit legacy resident ID")
    body = f"{number[:6]}19{number[6:]}"
    return body + resident_id_check_char(body)


def lookup_forms(number: str) -> tuple[str, ...]:
    """The forms a normalised ID may be stored under: itself, and for a legacy 15-digit
    resident ID also its 18-digit form, which the registry converts it to on the way in."""
    if len(number) == 15 and _is_digits(number):
        return number, upgrade_resident_id15(number)
    return (number,)


def mask_resident_id(value: str) -> str:
    """Mask the birth month and day for public display: ``1101051949****002X``.

    Positions 11-14 (1-based) become ``****``, as on the public site
    (law-and-practice §7, ``AAAAAAYYYY****SSSC``).
    """
    # DOMAIN.md §2 illustrates this with "110105****1231002X", which would hide the
    # birth year instead; its stated rule (positions 11-14, month and day) and the
    # public site's practice win, so the example there is taken to be a slip.
    if len(value) != 18:
        raise InvalidValue(f"has {len(value)} characters; only an 18-digit resident ID is masked")
    return f"{value[:10]}****{value[14:]}"


# --- Unified social credit code (GB 32100) -----------------------------------------

_USCC_CHARSET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_RE: Final = re.compile(r"[0-9A-HJ-NPQRTUWXY]{18}")
# Weights are 3^(i-1) mod 31, ascending. Mapping each character to the base-34 digit
# of its value and reading the reversed string in base 34 (34 = 3 mod 31) gives the
# weighted sum mod 31 in C; tests check it against the weights.
_USCC_TO_BASE34: Final = str.maketrans(_USCC_CHARSET, "0123456789abcdefghijklmnopqrstu")


class UsccCheckFailed(InvalidValue):
    """A well-formed USCC whose check character is wrong.

    Some codes really issued fail the check (law-and-practice §5.2), so a record may
    still be accepted when the court confirms the code.
    """

    def __init__(self, reason: str, value: str) -> None:
        super().__init__(reason)
        #: The normalised code, for callers that accept it anyway.
        self.value = value


def _uscc_bad_char(s: str) -> InvalidValue | None:
    pos, ch = _first_bad(s, _USCC_CHARSET)
    if not pos:
        return None
    return InvalidValue(
        f"character {pos} {ch!r} is not allowed in a USCC "
        "(digits and capital letters other than I, O, S, V, Z)"
    )


def uscc_check_char(first17: str) -> str:
    """Return the check character for the first 17 characters of a USCC."""
    if len(first17) != 17:
        raise InvalidValue(f"{first17!r} is not 17 characters")
    bad = _uscc_bad_char(first17)
    if bad is not None:
        raise bad
    return _uscc_check(first17)


def _uscc_check(first17: str) -> str:
    total = int(first17.translate(_USCC_TO_BASE34)[::-1], 34)
    return _USCC_CHARSET[-total % 31]


def check_uscc(value: str) -> str:
    """Check a unified social credit code and return it normalised.

    :raises UsccCheckFailed: only the check character is wrong.
    :raises InvalidValue: wrong length or a character outside the code's alphabet.
    """
    code = normalise_id_number(value)
    if _USCC_RE.fullmatch(code) is None:
        if len(code) != 18:
            raise InvalidValue(f"has {len(code)} characters; a USCC has 18")
        raise _uscc_bad_char(code) or InvalidValue("is not a USCC")
    expected = _uscc_check(code[:17])
    if code[17] != expected:
        raise UsccCheckFailed(f"check character is {code[17]}, expected {expected}", code)
    return code


# --- Organisation code (GB 11714) ----------------------------------------------------

_ORG_WEIGHTS: Final = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_BODY_CHARS: Final = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def org_code_check_char(first8: str) -> str:
    """Return the check character for the 8-character body of an organisation code."""
    if len(first8) != 8:
        raise InvalidValue(f"{first8!r} is not 8 characters")
    pos, ch = _first_bad(first8, _ORG_BODY_CHARS)
    if pos:
        raise InvalidValue(
            f"character {pos} {ch!r} is not allowed in an organisation code "
            "(digits and capital letters)"
        )
    total = 0
    for c, weight in zip(first8, _ORG_WEIGHTS, strict=True):
        # Digits count their value, letters A=10 … Z=35.
        total += (ord(c) - 48 if c <= "9" else ord(c) - 55) * weight
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def check_org_code(value: str) -> str:
    """Check an organisation code, with or without its hyphen; return ``XXXXXXXX-X``."""
    code = normalise_id_number(value)
    if len(code) == 10 and code[8] == "-":
        body, check = code[:8], code[9]
    elif len(code) == 9:
        body, check = code[:8], code[8]
    else:
        raise InvalidValue(
            f"{code!r} is not an organisation code (9 characters, often written XXXXXXXX-X)"
        )
    expected = org_code_check_char(body)
    if check != expected:
        raise InvalidValue(f"check character is {check}, expected {expected}")
    return f"{body}-{check}"


# --- Court codes and case numbers -------------------------------------------------------

_PROVINCE_CLASS: Final = f"[{PROVINCE_CHARS}]"
_COURT_RE: Final = re.compile(rf"最高法|{_PROVINCE_CLASS}(?:\d{{4}}|\d{{2}})?", re.ASCII)
_TYPE_ALT: Final = "|".join(sorted(CASE_TYPE_CODES, key=len, reverse=True))
_MODERN_RE: Final = re.compile(
    rf"\((\d{{4}})\)(最高法|{_PROVINCE_CLASS}(?:\d{{4}}|\d{{2}})?)({_TYPE_ALT})(\d+)号",
    re.ASCII,
)
# The same, with the year range and a non-zero number built in: one match, no groups.
_MODERN_FAST_RE: Final = re.compile(
    rf"\((?:199\d|20\d\d|2100)\)(?:最高法|{_PROVINCE_CLASS}(?:\d{{4}}|\d{{2}})?)"
    rf"(?:{_TYPE_ALT})0*[1-9]\d*号",
    re.ASCII,
)
# Pre-2016 numbers: court abbreviation in characters, 执字 (or 执X字), 第, padded number.
_LEGACY_RE: Final = re.compile(
    r"\((\d{4})\)([\u4e00-\u9fff]{1,6}?)(执[\u4e00-\u9fff]?字)第(\d+)号", re.ASCII
)
_FW_LEFT: Final = "\N{FULLWIDTH LEFT PARENTHESIS}"
_FW_RIGHT: Final = "\N{FULLWIDTH RIGHT PARENTHESIS}"
_YEAR_MIN: Final = 1990
_YEAR_MAX: Final = 2100
_COURT_HINT: Final = "最高法, a province character, or a province character and 2 or 4 digits"


@dataclass(frozen=True, slots=True)
class CaseNumber:
    """A parsed enforcement case number (执行案号)."""

    display: str  #: as given, surrounding whitespace removed
    key: str  #: half-width brackets and digits, no spaces: the join key
    year: int
    court: str
    type_code: str
    number: int
    legacy: bool


def parse_court_code(value: str) -> str:
    """Check a court code (法院代字) such as ``京0105``, ``皖11``, ``京`` or ``最高法``."""
    if _COURT_RE.fullmatch(value):
        return value
    code = "".join(to_half_width(value).split())
    if _COURT_RE.fullmatch(code) is None:
        raise InvalidValue(f"court code {code!r} is not {_COURT_HINT}")
    return code


def parse_case_number(value: str) -> CaseNumber:
    """Parse a modern ``(2019)皖1122执1194号`` or legacy ``(2015)阜执字第00690号`` number.

    Half- and full-width brackets are both accepted; ``key`` uses half-width ones.
    """
    display, key, m, legacy = _match_case_number(value)
    return CaseNumber(display, key, int(m[1]), m[2], m[3], int(m[4]), legacy)


def case_number_key(value: str) -> tuple[str, str]:
    """Check a case number like :func:`parse_case_number`; return (display, key) only."""
    display = value.strip()
    key = display.replace(_FW_LEFT, "(").replace(_FW_RIGHT, ")")
    # The common modern number in one match; anything else takes the full path.
    if _MODERN_FAST_RE.fullmatch(key) is not None:
        return display, key
    display, key, _, _ = _match_case_number(value)
    return display, key


def case_number_court(key: str) -> str | None:
    """The court code a case number's key names, or None for a legacy number.

    A modern number (2016 on) is ``(year)`` + the court's code + type + number; a
    legacy one names the court by a character abbreviation (``阜`` in
    ``(2015)阜执字第00690号``), which is not its code, and always has ``字``.
    ``key`` is the half-width key :func:`case_number_key` returns.
    """
    if "字" in key:
        return None
    # A validated key: "(yyyy)", the court code (which holds no 执), then a type code,
    # which starts with 执. Sliced, not parsed again: the import checks every record.
    at = key.find("执", 6)
    return key[6:at] if at > 6 else None


def _match_case_number(value: str) -> tuple[str, str, re.Match[str], bool]:
    display = value.strip()
    # Fast path: only the brackets are full-width; anything else takes the full rewrite.
    key = display.replace(_FW_LEFT, "(").replace(_FW_RIGHT, ")")
    m = _MODERN_RE.fullmatch(key)
    if m is None:
        key = "".join(to_half_width(display).split())
        m = _MODERN_RE.fullmatch(key)
    legacy = m is None
    if m is None:
        m = _LEGACY_RE.fullmatch(key)
        if m is None:
            raise InvalidValue(_case_number_problem(key))
    year = int(m[1])
    if not _YEAR_MIN <= year <= _YEAR_MAX:
        raise InvalidValue(f"year {year} is outside {_YEAR_MIN} to {_YEAR_MAX}")
    if not m[4].strip("0"):
        raise InvalidValue("case number 0 does not exist; numbering starts at 1")
    return display, key, m, legacy


def _case_number_problem(key: str) -> str:
    """Say what is wrong with a case number that matched neither form (cold path)."""
    example = "e.g. (2019)皖1122执1194号"
    head = re.match(r"\((\d{4})\)", key, re.ASCII)
    if head is None:
        return f"{key!r} must start with the filing year in brackets, {example}"
    if not key.endswith("号"):
        return f"{key!r} must end with 号, {example}"
    rest = key[head.end() : -1]
    if "字" in rest:
        return f"{key!r} is not a legacy case number like (2015)阜执字第00690号"
    at = rest.find("执")
    if at <= 0:
        return f"{key!r} has no enforcement type code ({'、'.join(CASE_TYPE_CODES)})"
    court = rest[:at]
    if _COURT_RE.fullmatch(court) is None:
        return f"court code {court!r} in {key!r} is not {_COURT_HINT}"
    tail = re.fullmatch(r"(\D*)(\d*)", rest[at:], re.ASCII)
    type_code = tail[1] if tail else rest[at:]
    if type_code not in CASE_TYPE_CODES:
        return f"type code {type_code!r} is not one of {'、'.join(CASE_TYPE_CODES)}"
    return f"{key!r} has no case number (digits) before 号"
