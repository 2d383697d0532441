"""Record rules: validate and normalise listings, restrictions and exemptions."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Final, NamedTuple

from hub.core import codes
from hub.core.identifiers import (
    Gender,
    UsccCheckFailed,
    case_number_court,
    case_number_key,
    check_org_code,
    check_resident_id,
    check_uscc,
    normalise_id_number,
    parse_court_code,
    upgrade_resident_id15,
)
from hub.core.text import unstorable
from hub.errors import FieldProblem, InvalidRecord, InvalidValue

# fmt: off
#: Keys of a normalised listing, in order.
LISTING_FIELDS: Final = (
    "listing_id", "subject_type", "name", "id_type", "id_number", "id_confirmed", "id_suspect",
    "gender", "birth_date", "legal_representative", "court_code", "court_name", "case_number",
    "case_number_key", "filed_on", "basis_issuer", "basis_number", "obligation", "performance",
    "behaviours", "behaviour_label", "security_covers_debt", "decided_on", "listed_on",
    "term_months", "extension_months", "expires_on", "travel_documents",
)
#: Keys of a normalised consumption-restriction order, in order.
RESTRICTION_FIELDS: Final = (
    "order_id", "subject_type", "name", "id_type", "id_number", "id_confirmed", "id_suspect",
    "gender", "birth_date", "legal_representative", "travel_documents", "court_code",
    "court_name", "case_number", "case_number_key", "issued_on", "categories", "bound_persons",
    "listing_id",
)
# fmt: on
#: Keys of a temporary lifting (exemption).
EXEMPTION_FIELDS: Final = ("person", "categories", "from", "until", "reason")

# A normalised record is accepted back as input (derived keys are re-checked), so a
# stored record can be re-validated after a correction is merged into it.
_LISTING_KEYS: Final = frozenset(LISTING_FIELDS)
_RESTRICTION_KEYS: Final = frozenset(RESTRICTION_FIELDS)
_EXEMPTION_KEYS: Final = frozenset(EXEMPTION_FIELDS)
# Output dicts start as copies of these: a copy keeps the key order and skips rehashing.
_LISTING_TEMPLATE: Final[dict[str, Any]] = dict.fromkeys(LISTING_FIELDS)
_RESTRICTION_TEMPLATE: Final[dict[str, Any]] = dict.fromkeys(RESTRICTION_FIELDS)
_PERSON_KEYS: Final = frozenset({"name", "id_number"})
_BOUND_KEYS: Final = frozenset({"name", "id_number", "role"})
_DOCUMENT_KEYS: Final = frozenset({"type", "number"})

_RECORD_ID_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_TRAVEL_NUMBER_RE: Final = re.compile(r"[A-Z0-9]{5,20}")
_OTHER_ID_RE: Final = re.compile(r"[A-Z0-9][A-Z0-9()/.-]{0,63}")
# The longest text each field may hold: what its column holds (hub/db/models.py), so a
# value the rules accept is never cut off, or refused by PostgreSQL, on the way in.
_NAME_MAX: Final = 200
_SHORT_MAX: Final = 100  # a court's name, a document's number
_LABEL_MAX: Final = 200
_ID_NUMBER_MAX: Final = 32  # an ID of type other (the others are shorter by format)
_CASE_NUMBER_MAX: Final = 64
_GENDERS: Final = ("male", "female")
_ID_TYPES: Final = frozenset(codes.ID_TYPES)
_ALL_CATEGORIES: Final = list(codes.CATEGORIES)


class _CodeSet(NamedTuple):
    """A code list as the set reader needs it."""

    order: Mapping[str, int]  #: code -> position, for sorting
    canonical: frozenset[tuple[str, ...]]  #: every non-empty subset, sorted


def _code_set(items: Sequence[str]) -> _CodeSet:
    # At most 2^9 subsets: a hash lookup then tells a canonical list at once.
    return _CodeSet(
        {c: i for i, c in enumerate(items)},
        frozenset(
            tuple(c for i, c in enumerate(items) if mask >> i & 1)
            for mask in range(1, 1 << len(items))
        ),
    )


_BEHAVIOUR_SET: Final = _code_set(codes.BEHAVIOURS)
_CATEGORY_SET: Final = _code_set(codes.CATEGORIES)
_EXEMPTABLE_SET: Final = _code_set(codes.EXEMPTABLE_CATEGORIES)
_PERSON_ID_TYPES: Final = frozenset(codes.PERSON_ID_TYPES)
_ORG_ID_TYPES: Final = frozenset(codes.ORGANISATION_ID_TYPES)
_ADULT: Final = codes.ADULT_AGE_YEARS
_B1_ONLY: Final = ["B1"]
_DAYS_IN_MONTH: Final = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

Problems = list[FieldProblem]
_TextSpec = tuple[tuple[str, bool, int], ...]
_COURT_NAME: Final[_TextSpec] = (("court_name", True, _SHORT_MAX),)
_LISTING_TEXTS: Final[_TextSpec] = (
    ("court_name", True, _SHORT_MAX),
    ("basis_issuer", False, _NAME_MAX),
    ("basis_number", False, _SHORT_MAX),
    ("obligation", True, 0),
    ("behaviour_label", False, _LABEL_MAX),
)


# --- date arithmetic and small public checks -------------------------------------------


def add_months(d: date, n: int) -> date:
    """Add ``n`` calendar months; a day past the new month's end becomes its last day."""
    year, month0 = divmod(d.year * 12 + d.month - 1 + n, 12)
    last = _DAYS_IN_MONTH[month0]
    if month0 == 1 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        last = 29
    return date(year, month0 + 1, min(d.day, last))


def compute_expires_on(
    decided_on: date, behaviours: Collection[str], term_months: int | None, extension_months: int
) -> date | None:
    """Return when a listing's term runs out, or None for a listing without a term.

    B1 (and the 2013-era ``legacy_other``) carry no term (Art. 2); any other behaviour
    gives ``term_months`` (default 24) plus the extension, from the decision date.
    """
    if codes.NO_TERM_BEHAVIOURS.issuperset(behaviours):
        return None
    term = codes.DEFAULT_TERM_MONTHS if term_months is None else term_months
    return add_months(decided_on, term + extension_months)


def check_reason(kind: str, code: str) -> str:
    """Check the reason code of a ``removal``, ``revocation``, ``correction``, ``lift`` or
    ``release`` and return it.

    :raises InvalidValue: the code is not one of that kind's codes.
    :raises ValueError: ``kind`` is not a kind of action (a programming error).
    """
    allowed = codes.REASONS_BY_KIND.get(kind)
    if allowed is None:
        raise ValueError(f"unknown reason kind {kind!r}")
    if isinstance(code, str) and code in allowed:
        return code
    raise InvalidValue(f"{code!r} is not a {kind} reason; use one of {', '.join(allowed)}")


# --- field readers: each returns None and records a problem when the value is bad ----


def _bad(p: Problems, field: str, reason: str) -> None:
    p.append(FieldProblem(field, reason))


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _text(
    value: object, field: str, p: Problems, required: bool = False, max_len: int = 0
) -> str | None:
    if type(value) is str:
        text = value.strip()
        if text:
            if max_len and len(text) > max_len:
                _bad(p, field, f"is {len(text)} characters long; at most {max_len}")
                return None
            if (why := unstorable(text)) is not None:
                _bad(p, field, why)
                return None
            return text
        value = None
    if value is None:
        if required:
            _bad(p, field, "is required")
    else:
        _bad(p, field, f"must be text, got {_kind(value)}")
    return None


def _code(
    value: object, field: str, allowed: Collection[str], p: Problems, required: bool = False
) -> str | None:
    if type(value) is str and value in allowed:
        return value
    text = _text(value, field, p, required=required)
    if text is None or text in allowed:
        return text
    _bad(p, field, f"{text!r} is not one of {', '.join(allowed)}")
    return None


def _codes(value: object, field: str, code_set: _CodeSet, p: Problems) -> list[str] | None:
    """Read a set of codes given as a list; return it in the code list's order."""
    if type(value) is list:
        try:
            if tuple(value) in code_set.canonical:  # the usual case: already canonical
                return list(value)
        except TypeError:  # an unhashable element, reported below
            pass
    if value is None:
        return None
    if not isinstance(value, list | tuple):
        _bad(p, field, f"must be a list of codes, got {_kind(value)}")
        return None
    order = code_set.order
    unknown = [c for c in value if type(c) is not str or c not in order]
    if unknown:
        bad = ", ".join(repr(c) for c in unknown)
        _bad(p, field, f"{bad} not among the codes {', '.join(order)}")
        return None
    if not value:
        _bad(p, field, "must name at least one code")
        return None
    return sorted(set(value), key=order.__getitem__)


def _flag(value: object, field: str, p: Problems) -> bool:
    """An optional yes/no field: absent means no."""
    if value is None:
        return False
    return value if type(value) is bool else _bool(value, field, p)


def _bool(value: object, field: str, p: Problems) -> bool:
    if type(value) is bool:
        return value
    if value is not None:
        _bad(p, field, f"must be true or false, got {_kind(value)} {value!r}")
    return False


def _int(value: object, field: str, p: Problems) -> int | None:
    if type(value) is int:
        return value
    if value is not None:
        _bad(p, field, f"must be a whole number of months, got {_kind(value)} {value!r}")
    return None


#: No date the register holds (a birth, a filing, a decision) is older: an earlier one
#: is a typing slip (0024-05-01 for 2024-05-01) that no later rule would catch.
EARLIEST_DATE: Final = date(1900, 1, 1)


def _date(value: object, field: str, p: Problems, *, required: bool = False) -> date | None:
    if type(value) is str:
        text = value if len(value) == 10 else value.strip()
        if len(text) == 10 and text[4] == "-" and text[7] == "-":
            try:
                value = date.fromisoformat(text)
            except ValueError:
                _bad(p, field, f"{text} is not a real date")
                return None
        elif text:
            _bad(p, field, f"must be a date written YYYY-MM-DD, got {text!r}")
            return None
        else:
            value = None
    if type(value) is date:
        if value < EARLIEST_DATE:
            _bad(p, field, f"{value.isoformat()} is before {EARLIEST_DATE.year}: no date of "
                 "the register is (a mistyped year?)")
            return None
        return value
    if value is None:
        if required:
            _bad(p, field, "is required")
    elif isinstance(value, datetime):
        _bad(p, field, "must be a date, not a date and time")
    else:
        _bad(p, field, f"must be a date written YYYY-MM-DD, got {_kind(value)}")
    return None


def _not_future(value: date | None, field: str, p: Problems, today: date) -> date | None:
    if value is not None and value > today:
        _bad(p, field, f"{value.isoformat()} is in the future")
        return None
    return value


def _record_id(value: object, field: str, p: Problems) -> str | None:
    text = _text(value, field, p)
    if text is None or _RECORD_ID_RE.fullmatch(text):
        return text
    _bad(
        p,
        field,
        f"{text!r} must be 1 to 64 letters, digits, '_', '.' or '-', starting "
        "with a letter or digit",
    )
    return None


def _start(raw: Mapping[str, Any], allowed: frozenset[str]) -> Problems:
    """Refuse what is not a record at all; report unknown keys."""
    p: Problems = []
    if type(raw) is not dict and not isinstance(raw, Mapping):
        raise InvalidRecord([FieldProblem("record", f"must be an object, got {_kind(raw)}")])
    if not allowed.issuperset(raw):
        _unknown(raw, allowed, "", p)
    return p


def _unknown(raw: Mapping[str, Any], allowed: frozenset[str], prefix: str, p: Problems) -> None:
    for key in raw:
        if key not in allowed:
            _bad(p, f"{prefix}{key}", "unknown field")


def _object(value: object, field: str, p: Problems) -> Mapping[str, Any] | None:
    if isinstance(value, Mapping):
        return value
    _bad(p, field, f"must be an object, got {_kind(value)}")
    return None


def _items(value: object, field: str, p: Problems) -> Sequence[Any]:
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return value
    _bad(p, field, f"must be a list, got {_kind(value)}")
    return ()


def _resident_number(value: object, field: str, p: Problems, today: date) -> str | None:
    """Read a related person's resident ID, given without an id_type (15 or 18 digits)."""
    text = _text(value, field, p, required=True)
    if text is None:
        return None
    try:
        if len(text) == 15:
            text = upgrade_resident_id15(text)
        return check_resident_id(text, today=today)[0]
    except InvalidValue as exc:
        _bad(p, field, str(exc))
        return None


# --- the debtor and court blocks shared by listings and restrictions ------------------


def _identifier(
    id_type: str, number: str, confirmed: bool, today: date
) -> tuple[str, str, tuple[str, date, Gender] | None, bool]:
    """Check an id_number by its type: (id_type, number, resident ID parts, suspect)."""
    if id_type == "resident_id" or id_type == "resident_id15":
        if id_type == "resident_id15":
            number = upgrade_resident_id15(number)
        rid = check_resident_id(number, today=today)
        return "resident_id", rid[0], rid, False
    if id_type == "uscc":
        try:
            return id_type, check_uscc(number), None, False
        except UsccCheckFailed as exc:
            if confirmed:
                return id_type, exc.value, None, True
            raise InvalidValue(
                f"{exc}; if the court confirms the code as registered, send id_confirmed: true"
            ) from None
    if id_type == "org_code":
        return id_type, check_org_code(number), None, False
    number = normalise_id_number(number)
    if id_type == "passport":
        if _TRAVEL_NUMBER_RE.fullmatch(number) is None:
            raise InvalidValue("a passport number is 5 to 20 letters and digits")
    elif _OTHER_ID_RE.fullmatch(number) is None or len(number) > _ID_NUMBER_MAX:
        raise InvalidValue(f"must be letters and digits (and ( ) / . -), at most "
                           f"{_ID_NUMBER_MAX}")
    return id_type, number, None, False


def _subject(
    raw: Mapping[str, Any], out: dict[str, Any], p: Problems, today: date, *, rep_required: bool
) -> bool:
    """Fill the debtor's fields of ``out``; return whether its birth date is from its ID."""
    # Bulk imports validate millions of rows: values already in normal form take the
    # inline branch, anything else goes through the reader that explains the problem.
    get = raw.get
    v = get("subject_type")
    if v != "person" and v != "organisation":
        v = _code(v, "subject_type", codes.SUBJECT_TYPES, p, required=True)
    subject_type = out["subject_type"] = v
    is_person, is_org = v == "person", v == "organisation"
    v = get("name")
    out["name"] = (
        t
        if type(v) is str and (t := v.strip()) and len(t) <= _NAME_MAX and t.isprintable()
        else _text(v, "name", p, required=True, max_len=_NAME_MAX)
    )
    v = get("id_type")
    id_type = (
        v if type(v) is str and v in _ID_TYPES else _code(v, "id_type", codes.ID_TYPES, p, True)
    )
    confirmed = out["id_confirmed"] = _flag(get("id_confirmed"), "id_confirmed", p)
    v = get("id_number")
    number = (t if type(v) is str and (t := v.strip()) and t.isprintable()
              else _text(v, "id_number", p, required=True))
    if id_type is not None and subject_type is not None:
        allowed = _PERSON_ID_TYPES if is_person else _ORG_ID_TYPES
        if id_type not in allowed:
            _bad(
                p,
                "id_type",
                f"id_type {id_type} does not apply to {subject_type}s; use one of "
                f"{', '.join(sorted(allowed))}",
            )
            id_type = None
    rid = None
    suspect = False
    if id_type is not None and number is not None:
        try:
            if id_type == "resident_id":  # the common case, without the dispatch
                rid = check_resident_id(number, today=today)
                number = rid[0]
            else:
                id_type, number, rid, suspect = _identifier(id_type, number, confirmed, today)
        except InvalidValue as exc:
            _bad(p, "id_number", str(exc))
            number = None
    out["id_type"], out["id_number"], out["id_suspect"] = id_type, number, suspect
    given_suspect = get("id_suspect")
    if given_suspect is not None and given_suspect is not suspect and number is not None:
        _bad(p, "id_suspect", f"is set by the hub from the identifier check; here it is {suspect}")

    gender = get("gender")
    birth = get("birth_date")
    if is_org:
        for key, value in (("gender", gender), ("birth_date", birth)):
            if value is not None and value != "":
                _bad(p, key, "applies to persons only")
        gender = birth = None
    else:
        if gender is not None:
            gender = _code(gender, "gender", _GENDERS, p)
        if birth is not None:
            birth = _not_future(_date(birth, "birth_date", p), "birth_date", p, today)
        if rid is not None:
            if gender is not None or birth is not None:
                _agree_with_id(rid, gender, birth, p)
            birth, gender = rid[1], rid[2]
    out["gender"], out["birth_date"] = gender, birth

    rep = get("legal_representative")
    if rep is not None:
        if is_person:
            _bad(p, "legal_representative", "applies to organisations only")
            rep = None
        else:
            rep = _legal_representative(rep, p, today)
    elif rep_required and is_org:
        _bad(p, "legal_representative", "is required for an organisation")
    out["legal_representative"] = rep

    docs = get("travel_documents")
    if docs is None or docs == []:
        out["travel_documents"] = []
    elif is_org:
        _bad(p, "travel_documents", "applies to persons only")
        out["travel_documents"] = []
    else:
        out["travel_documents"] = _travel_documents(docs, p)
    return rid is not None


def _agree_with_id(
    rid: tuple[str, date, Gender], gender: object, birth: object, p: Problems
) -> None:
    if gender is not None and gender != rid[2]:
        holder = "a man" if rid[2] == "male" else "a woman"
        _bad(p, "gender", f"is {gender}, but the resident ID's sequence number is that of {holder}")
    if isinstance(birth, date) and birth != rid[1]:
        _bad(
            p,
            "birth_date",
            f"{birth.isoformat()} contradicts the resident ID, which gives {rid[1].isoformat()}",
        )


def _legal_representative(value: object, p: Problems, today: date) -> dict[str, Any] | None:
    rep = _object(value, "legal_representative", p)
    if rep is None:
        return None
    if not _PERSON_KEYS.issuperset(rep):
        _unknown(rep, _PERSON_KEYS, "legal_representative.", p)
    name = _text(rep.get("name"), "legal_representative.name", p, required=True, max_len=_NAME_MAX)
    number = rep.get("id_number")
    if number is not None and number != "":
        number = _resident_number(number, "legal_representative.id_number", p, today)
    return {"name": name, "id_number": number or None}


def _travel_documents(value: object, p: Problems) -> list[dict[str, str]]:
    docs: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for i, item in enumerate(_items(value, "travel_documents", p)):
        field = f"travel_documents[{i}]"
        doc = _object(item, field, p)
        if doc is None:
            continue
        if not _DOCUMENT_KEYS.issuperset(doc):
            _unknown(doc, _DOCUMENT_KEYS, f"{field}.", p)
        kind = _code(
            doc.get("type"), f"{field}.type", codes.TRAVEL_DOCUMENT_TYPES, p, required=True
        )
        number = _text(doc.get("number"), f"{field}.number", p, required=True)
        if number is not None:
            number = normalise_id_number(number)
            pattern = _OTHER_ID_RE if kind == "other" else _TRAVEL_NUMBER_RE
            if pattern.fullmatch(number) is None:
                _bad(p, f"{field}.number", f"{number!r} is not a document number")
                continue
        if kind is None or number is None:
            continue
        if (kind, number) in seen:
            _bad(p, field, f"{kind} {number} is listed twice")
            continue
        seen.add((kind, number))
        docs.append({"type": kind, "number": number})
    return docs


def _court(raw: Mapping[str, Any], out: dict[str, Any], p: Problems) -> None:
    get = raw.get
    v = get("court_code")
    court_code = (t if type(v) is str and (t := v.strip()) and t.isprintable()
                  else _text(v, "court_code", p, True))
    if court_code is not None:
        try:
            court_code = parse_court_code(court_code)
        except InvalidValue as exc:
            _bad(p, "court_code", str(exc))
            court_code = None
    out["court_code"] = court_code
    v = get("case_number")
    case = (t if type(v) is str and (t := v.strip()) and t.isprintable()
            else _text(v, "case_number", p, True))
    key = None
    if case is not None:
        try:
            case, key = case_number_key(case)
        except InvalidValue as exc:
            _bad(p, "case_number", str(exc))
            case = None
        else:
            given_key = get("case_number_key")
            if len(case) > _CASE_NUMBER_MAX:
                _bad(p, "case_number",
                     f"is {len(case)} characters long; at most {_CASE_NUMBER_MAX}")
                case = key = None
            elif given_key is not None and given_key != key:
                _bad(p, "case_number_key", f"is derived from case_number; here it is {key}")
            elif court_code is not None and (court := case_number_court(key)) is not None \
                    and court != court_code:
                # The enforcing court files the case and numbers it with its own code
                # (DOMAIN.md §2): another court's code means one of the two is wrong.
                _bad(p, "case_number",
                     f"names the court {court}, but court_code is {court_code}: an "
                     "enforcement case number carries the enforcing court's code")
    out["case_number"], out["case_number_key"] = case, key


def _texts(get: Callable[[str], Any], out: dict[str, Any], p: Problems, spec: _TextSpec) -> None:
    """Read several free-text fields: (name, required, maximum length or 0)."""
    for field, required, max_len in spec:
        v = get(field)
        if (type(v) is str and (t := v.strip()) and (not max_len or len(t) <= max_len)
                and t.isprintable()):
            out[field] = t
        else:
            out[field] = _text(v, field, p, required=required, max_len=max_len)


# --- listings --------------------------------------------------------------------------


def validate_listing(raw: Mapping[str, Any], *, today: date) -> dict[str, Any]:
    """Check one listing in the import format and return it normalised.

    :returns: a dict with exactly :data:`LISTING_FIELDS`, dates as ``date``.
    :raises InvalidRecord: with every problem of the record.
    """
    p = _start(raw, _LISTING_KEYS)
    get = raw.get
    out = _LISTING_TEMPLATE.copy()
    v = get("listing_id")
    if v is not None and (type(v) is not str or _RECORD_ID_RE.fullmatch(v) is None):
        v = _record_id(v, "listing_id", p)
    out["listing_id"] = v
    birth_from_id = _subject(raw, out, p, today, rep_required=True)
    _court(raw, out, p)
    _texts(get, out, p, _LISTING_TEXTS)
    v = get("performance")
    if v != "none" and v != "partial":
        v = _code(v, "performance", codes.PERFORMANCE, p, required=True)
    out["performance"] = v
    behaviours = out["behaviours"] = _codes(get("behaviours"), "behaviours", _BEHAVIOUR_SET, p)
    if behaviours is None and get("behaviours") is None:
        _bad(p, "behaviours", "is required: a listing needs at least one behaviour")
    covered = _flag(get("security_covers_debt"), "security_covers_debt", p)
    out["security_covers_debt"] = covered
    if covered and behaviours is not None and "B1" in behaviours:
        _bad(
            p,
            "behaviours",
            "B1 (able but refuses) may not be used when security or seized "
            "property covers the debt (security_covers_debt is true; Art. 3, 2017 rules)",
        )

    decided = _date(get("decided_on"), "decided_on", p, required=True)
    if decided is not None and decided > today:
        decided = _not_future(decided, "decided_on", p, today)
    filed = out["filed_on"] = _date(get("filed_on"), "filed_on", p)
    listed = _date(get("listed_on"), "listed_on", p)
    if listed is not None and listed > today:  # a publication that has not happened
        listed = _not_future(listed, "listed_on", p, today)
    out["listed_on"] = listed
    out["decided_on"] = decided
    if decided is not None:
        if filed is not None and filed > decided:
            _bad(
                p,
                "filed_on",
                f"{filed.isoformat()} is after the decision date {decided.isoformat()}",
            )
        if listed is not None and listed < decided:
            _bad(
                p,
                "listed_on",
                f"{listed.isoformat()} is before the decision date {decided.isoformat()}",
            )
        birth = out["birth_date"]
        if birth is not None and _is_minor(birth, decided):
            _bad(
                p,
                "id_number" if birth_from_id else "birth_date",
                f"the debtor was born on {birth.isoformat()} and was under 18 on the decision "
                f"date {decided.isoformat()}: a minor may not be listed (Art. 4, 2017 rules)",
            )
    _term(raw, out, p, behaviours, decided)
    expires = out["expires_on"]
    if listed is not None and expires is not None and listed >= expires:
        # Published once its term had run out, the listing would expire at the next run
        # of the expiry: the term (Art. 2) runs from the decision, so one of the dates
        # is wrong.
        _bad(
            p,
            "listed_on",
            f"{listed.isoformat()} is not before the end of the listing's term, "
            f"expires_on {expires.isoformat()} (decided_on plus term and extension): "
            "a listing is published within its term",
        )
    if p:
        raise InvalidRecord(p)
    return out


def _is_minor(birth: date, on: date) -> bool:
    # 周岁 are reckoned from the day after the birthday, so on the 18th birthday itself
    # the debtor still counts as a minor. A 29 February birthday falls on 28 February
    # in common years, which the (month, day) comparison below gets right.
    years = on.year - birth.year
    return years < _ADULT or (years == _ADULT and (on.month, on.day) <= (birth.month, birth.day))


def _term(
    raw: Mapping[str, Any],
    out: dict[str, Any],
    p: Problems,
    behaviours: list[str] | None,
    decided: date | None,
) -> None:
    get = raw.get
    term = get("term_months")
    extension = get("extension_months")
    if (
        behaviours == _B1_ONLY
        and term is None
        and (extension is None or (type(extension) is int and not extension))
        and get("expires_on") is None
    ):  # the most common listing: B1 alone, no term
        out["term_months"], out["extension_months"], out["expires_on"] = None, 0, None
        return
    if term is not None and type(term) is not int:
        term = _int(term, "term_months", p)
    if extension is not None and type(extension) is not int:
        extension = _int(extension, "extension_months", p)
    given_expiry = get("expires_on")
    if given_expiry is not None:
        given_expiry = _date(given_expiry, "expires_on", p)
    expires = None
    if behaviours is not None and codes.NO_TERM_BEHAVIOURS.issuperset(behaviours):
        if term is not None:
            _bad(
                p,
                "term_months",
                "must be empty: a listing only for B1 has no term, it lasts "
                "until it is removed (Art. 2)",
            )
        if extension:
            _bad(p, "extension_months", "must be empty or 0: a B1 listing has no term")
        if given_expiry is not None:
            _bad(p, "expires_on", "must be empty: a B1 listing has no term")
        term, extension = None, 0
    else:
        if term is None:
            term = codes.DEFAULT_TERM_MONTHS
        elif term != codes.DEFAULT_TERM_MONTHS:
            _bad(p, "term_months", f"is {term}; the term is 24 months (two years, Art. 2)")
        if extension is None:
            extension = 0
        elif (
            extension and not codes.EXTENSION_MONTHS_MIN <= extension <= codes.EXTENSION_MONTHS_MAX
        ):
            _bad(
                p,
                "extension_months",
                f"is {extension}; an extension is 0 or 12 to 36 months "
                "(one to three years, Art. 2)",
            )
        if decided is not None and behaviours is not None:
            expires = add_months(decided, term + extension)
            if isinstance(given_expiry, date) and given_expiry != expires:
                _bad(
                    p,
                    "expires_on",
                    f"{given_expiry.isoformat()} does not match the decision "
                    f"date plus term and extension, {expires.isoformat()}",
                )
    out["term_months"], out["extension_months"], out["expires_on"] = term, extension, expires


# --- consumption-restriction orders ---------------------------------------------------


def validate_restriction(raw: Mapping[str, Any], *, today: date) -> dict[str, Any]:
    """Check one consumption-restriction order in the import format; return it normalised.

    :returns: a dict with exactly :data:`RESTRICTION_FIELDS`, dates as ``date``.
    :raises InvalidRecord: with every problem of the record.
    """
    p = _start(raw, _RESTRICTION_KEYS)
    get = raw.get
    out = _RESTRICTION_TEMPLATE.copy()
    v = get("order_id")
    if v is not None and (type(v) is not str or _RECORD_ID_RE.fullmatch(v) is None):
        v = _record_id(v, "order_id", p)
    out["order_id"] = v
    # Optional here: the import example names the representative as a bound person.
    _subject(raw, out, p, today, rep_required=False)
    _court(raw, out, p)
    _texts(raw.get, out, p, _COURT_NAME)
    out["issued_on"] = _not_future(
        _date(get("issued_on"), "issued_on", p, required=True), "issued_on", p, today
    )
    categories = get("categories")
    out["categories"] = (
        _ALL_CATEGORIES.copy()
        if categories is None
        else _codes(categories, "categories", _CATEGORY_SET, p)
    )
    out["bound_persons"] = _bound_persons(get("bound_persons"), out["subject_type"], p, today)
    v = get("listing_id")
    if v is not None and (type(v) is not str or _RECORD_ID_RE.fullmatch(v) is None):
        v = _record_id(v, "listing_id", p)
    out["listing_id"] = v
    if p:
        raise InvalidRecord(p)
    return out


def _bound_persons(
    value: object, subject_type: str | None, p: Problems, today: date
) -> list[dict[str, str]]:
    if subject_type == "person":
        if value is not None and value != []:
            _bad(p, "bound_persons", "applies to organisations only")
        return []
    items = _items(value, "bound_persons", p)
    if not items and subject_type == "organisation" and isinstance(value, list | tuple | None):
        _bad(
            p,
            "bound_persons",
            "an organisation's order binds at least one person (its legal representative, Art. 3)",
        )
    persons: list[dict[str, str]] = []
    seen: dict[tuple[str, str], int] = {}
    for i, item in enumerate(items):
        field = f"bound_persons[{i}]"
        person = _object(item, field, p)
        if person is None:
            continue
        if not _BOUND_KEYS.issuperset(person):
            _unknown(person, _BOUND_KEYS, f"{field}.", p)
        name = _text(person.get("name"), f"{field}.name", p, required=True, max_len=_NAME_MAX)
        number = _resident_number(person.get("id_number"), f"{field}.id_number", p, today)
        role = _code(person.get("role"), f"{field}.role", codes.BOUND_ROLES, p, required=True)
        if name is None or number is None or role is None:
            continue
        first = seen.setdefault((number, role), i)
        if first != i:
            _bad(p, field, f"{number} is already bound as {role} (bound_persons[{first}])")
            continue
        persons.append({"name": name, "id_number": number, "role": role})
    return persons


# --- temporary liftings ---------------------------------------------------------------


def validate_exemption(
    raw: Mapping[str, Any], *, restriction: Mapping[str, Any], today: date
) -> dict[str, Any]:
    """Check a temporary lifting (暂时解除) of an order's air and high-speed-rail items.

    ``restriction`` is the order as stored: its ``status``, when present, must be
    ``active``; a bound person whose entry has a non-empty ``released_on`` was
    released and can no longer be exempted.

    :returns: a dict with exactly :data:`EXEMPTION_FIELDS`, dates as ``date``.
    :raises InvalidRecord: with every problem of the request.
    """
    p = _start(raw, _EXEMPTION_KEYS)
    get = raw.get
    status = restriction.get("status", "active")
    if status != "active":
        _bad(p, "record", f"the order is {status}, not active")
    person = _text(get("person"), "person", p, required=True)
    if person is not None:
        person = normalise_id_number(person)
        problem = _exemptable_person(person, restriction)
        if problem:
            _bad(p, "person", problem)
            person = None
    categories = _codes(get("categories"), "categories", _EXEMPTABLE_SET, p)
    if categories is None and get("categories") is None:
        _bad(p, "categories", "is required: C1 (air), C9 (high-speed rail) or both")
    elif categories is not None:
        missing = [c for c in categories if c not in restriction.get("categories", ())]
        if missing:
            _bad(p, "categories", f"the order does not restrict {', '.join(missing)}")
    start = _date(get("from"), "from", p, required=True)
    until = _date(get("until"), "until", p, required=True)
    if until is not None and until < today:
        _bad(p, "until", f"{until.isoformat()} is already past")
    if start is not None and until is not None:
        latest = add_months(start, codes.MAX_EXEMPTION_MONTHS)
        if until < start:
            _bad(p, "until", f"{until.isoformat()} is before from {start.isoformat()}")
        elif until > latest:
            _bad(
                p,
                "until",
                f"{until.isoformat()} is more than one month after from "
                f"{start.isoformat()}; a temporary lifting ends by {latest.isoformat()}",
            )
    reason = _code(get("reason"), "reason", codes.EXEMPTION_REASONS, p, required=True)
    if p:
        raise InvalidRecord(p)
    return {
        "person": person,
        "categories": categories,
        "from": start,
        "until": until,
        "reason": reason,
    }


def _exemptable_person(person: str, restriction: Mapping[str, Any]) -> str | None:
    """Say why ``person`` cannot be exempted under ``restriction``, or None if it can."""
    if restriction.get("subject_type") == "person":
        if person == restriction.get("id_number"):
            return None
        return f"{person} is not the debtor of this order"
    released = None
    for bound in restriction.get("bound_persons") or ():
        if bound.get("id_number") == person:
            # One person may be bound in two roles; any unreleased binding counts.
            released = bound.get("released_on")
            if not released:
                return None
    if released:
        return f"{person} was released from this order on {released}"
    return f"{person} is not a person bound by this order (an organisation cannot travel)"
