"""Record rules: validate and normalise listings, restrictions and exemptions."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Final

from hub.core import codes
from hub.core.identifiers import (
    ResidentId,
    UsccCheckFailed,
    check_org_code,
    check_uscc,
    normalise_id_number,
    parse_case_number,
    parse_court_code,
    parse_resident_id,
    upgrade_resident_id15,
)
from hub.errors import FieldProblem, InvalidRecord, InvalidValue

#: Keys of a normalised listing, in order.
LISTING_FIELDS: Final = (
    "listing_id",
    "subject_type",
    "name",
    "id_type",
    "id_number",
    "id_confirmed",
    "id_suspect",
    "gender",
    "birth_date",
    "legal_representative",
    "court_code",
    "court_name",
    "case_number",
    "case_number_key",
    "filed_on",
    "basis_issuer",
    "basis_number",
    "obligation",
    "performance",
    "behaviours",
    "behaviour_label",
    "security_covers_debt",
    "decided_on",
    "listed_on",
    "term_months",
    "extension_months",
    "expires_on",
    "travel_documents",
)
#: Keys of a normalised consumption-restriction order, in order.
RESTRICTION_FIELDS: Final = (
    "order_id",
    "subject_type",
    "name",
    "id_type",
    "id_number",
    "id_confirmed",
    "id_suspect",
    "gender",
    "birth_date",
    "legal_representative",
    "travel_documents",
    "court_code",
    "court_name",
    "case_number",
    "case_number_key",
    "issued_on",
    "categories",
    "bound_persons",
    "listing_id",
)
#: Keys of a temporary lifting (exemption).
EXEMPTION_FIELDS: Final = ("person", "categories", "from", "until", "reason")

# A normalised record is accepted back as input (derived keys are re-checked), so a
# stored record can be re-validated after a correction is merged into it.
_LISTING_KEYS: Final = frozenset(LISTING_FIELDS)
_RESTRICTION_KEYS: Final = frozenset(RESTRICTION_FIELDS)
_EXEMPTION_KEYS: Final = frozenset(EXEMPTION_FIELDS)
_PERSON_KEYS: Final = frozenset({"name", "id_number"})
_BOUND_KEYS: Final = frozenset({"name", "id_number", "role"})
_DOCUMENT_KEYS: Final = frozenset({"type", "number"})

_RECORD_ID_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_TRAVEL_NUMBER_RE: Final = re.compile(r"[A-Z0-9]{5,20}")
_OTHER_ID_RE: Final = re.compile(r"[A-Z0-9][A-Z0-9()/.-]{0,63}")
_NAME_MAX: Final = 200
_LABEL_MAX: Final = 500
_GENDERS: Final = ("male", "female")
_BEHAVIOUR_ORDER: Final = {c: i for i, c in enumerate(codes.BEHAVIOURS)}
_CATEGORY_ORDER: Final = {c: i for i, c in enumerate(codes.CATEGORIES)}
_EXEMPTABLE_ORDER: Final = {c: i for i, c in enumerate(codes.EXEMPTABLE_CATEGORIES)}
_ALL_CATEGORIES: Final = list(codes.CATEGORIES)
_PERSON_ID_TYPES: Final = frozenset(codes.PERSON_ID_TYPES)
_ORG_ID_TYPES: Final = frozenset(codes.ORGANISATION_ID_TYPES)
_ADULT_MONTHS: Final = codes.ADULT_AGE_YEARS * 12
_DAYS_IN_MONTH: Final = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

Problems = list[FieldProblem]


# --- date arithmetic ---------------------------------------------------------------


def add_months(d: date, n: int) -> date:
    """Add ``n`` calendar months; a day past the new month's end becomes its last day."""
    months = d.year * 12 + d.month - 1 + n
    year, month0 = divmod(months, 12)
    last = _DAYS_IN_MONTH[month0]
    if month0 == 1 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        last = 29
    return date(year, month0 + 1, min(d.day, last))


def compute_expires_on(
    decided_on: date,
    behaviours: Collection[str],
    term_months: int | None,
    extension_months: int,
) -> date | None:
    """Return when a listing's term runs out, or None for a listing without a term.

    B1 (and the 2013-era ``legacy_other``) carry no term (Art. 2); any other behaviour
    gives ``term_months`` (default 24) plus the extension from the decision date.
    """
    if codes.NO_TERM_BEHAVIOURS.issuperset(behaviours):
        return None
    term = codes.DEFAULT_TERM_MONTHS if term_months is None else term_months
    return add_months(decided_on, term + extension_months)


def check_reason(kind: str, code: str) -> str:
    """Check a reason code for a ``removal``, ``revocation``, ``correction``, ``lift``
    or ``release``, and return it.

    :raises InvalidValue: the code is not one of that kind's codes.
    :raises ValueError: ``kind`` is not a kind of action (a programming error).
    """
    allowed = codes.REASONS_BY_KIND.get(kind)
    if allowed is None:
        raise ValueError(f"unknown reason kind {kind!r}")
    if isinstance(code, str) and code in allowed:
        return code
    raise InvalidValue(f"{code!r} is not a {kind} reason; use one of {', '.join(allowed)}")


# --- small field readers: each returns None and records a problem when it fails ------


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
    value: object, field: str, p: Problems, *, required: bool = False, max_len: int = 0
) -> str | None:
    if value is None:
        if required:
            p.append(FieldProblem(field, "is required"))
        return None
    if type(value) is not str:
        p.append(FieldProblem(field, f"must be text, got {_kind(value)}"))
        return None
    text = value.strip()
    if not text:
        if required:
            p.append(FieldProblem(field, "is required (it is empty)"))
        return None
    if max_len and len(text) > max_len:
        p.append(FieldProblem(field, f"is {len(text)} characters long; at most {max_len}"))
        return None
    return text


def _code(
    value: object, field: str, allowed: Sequence[str], p: Problems, *, required: bool = False
) -> str | None:
    if value in allowed and type(value) is str:
        return value
    text = _text(value, field, p, required=required)
    if text is None:
        return None
    if text in allowed:
        return text
    p.append(FieldProblem(field, f"{text!r} is not one of {', '.join(allowed)}"))
    return None


def _codes(value: object, field: str, order: Mapping[str, int], p: Problems) -> list[str] | None:
    """Read a set of codes given as a list; return it sorted in the code list's order."""
    if value is None:
        return None
    if not isinstance(value, list | tuple):
        p.append(FieldProblem(field, f"must be a list of codes, got {_kind(value)}"))
        return None
    unknown = [c for c in value if type(c) is not str or c not in order]
    if unknown:
        bad = ", ".join(repr(c) for c in unknown)
        p.append(FieldProblem(field, f"{bad} not among the codes {', '.join(order)}"))
        return None
    if not value:
        p.append(FieldProblem(field, "must name at least one code"))
        return None
    return sorted(set(value), key=order.__getitem__)


def _bool(value: object, field: str, p: Problems) -> bool:
    if value is None:
        return False
    if type(value) is bool:
        return value
    p.append(FieldProblem(field, f"must be true or false, got {_kind(value)} {value!r}"))
    return False


def _int(value: object, field: str, p: Problems) -> int | None:
    if type(value) is int:
        return value
    if value is None:
        return None
    p.append(FieldProblem(field, f"must be a whole number of months, got {_kind(value)} {value!r}"))
    return None


def _date(value: object, field: str, p: Problems, *, required: bool = False) -> date | None:
    if type(value) is date:
        return value
    if type(value) is str:
        text = value if len(value) == 10 else value.strip()
        if len(text) == 10 and text[4] == "-" and text[7] == "-":
            try:
                return date.fromisoformat(text)
            except ValueError:
                p.append(FieldProblem(field, f"{text} is not a real date"))
                return None
        if text:
            p.append(FieldProblem(field, f"must be a date written YYYY-MM-DD, got {text!r}"))
            return None
        value = None
    if value is None:
        if required:
            p.append(FieldProblem(field, "is required"))
    elif isinstance(value, datetime):
        p.append(FieldProblem(field, "must be a date, not a date and time"))
    else:
        p.append(FieldProblem(field, f"must be a date written YYYY-MM-DD, got {_kind(value)}"))
    return None


def _record_id(value: object, field: str, p: Problems) -> str | None:
    text = _text(value, field, p)
    if text is None or _RECORD_ID_RE.fullmatch(text):
        return text
    p.append(
        FieldProblem(
            field,
            f"{text!r} must be 1 to 64 letters, digits, '_', '.' or '-', starting with a "
            "letter or digit",
        )
    )
    return None


def _unknown(raw: Mapping[str, Any], allowed: frozenset[str], prefix: str, p: Problems) -> None:
    for key in raw:
        if key not in allowed:
            p.append(FieldProblem(f"{prefix}{key}", "unknown field"))


def _object(value: object, field: str, p: Problems) -> Mapping[str, Any] | None:
    if isinstance(value, Mapping):
        return value
    p.append(FieldProblem(field, f"must be an object, got {_kind(value)}"))
    return None


def _list(value: object, field: str, p: Problems) -> Sequence[Any] | None:
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return value
    p.append(FieldProblem(field, f"must be a list, got {_kind(value)}"))
    return None


def _resident_id(value: object, field: str, p: Problems, today: date) -> ResidentId | None:
    """Read a natural person's resident ID given without an id_type (15 or 18 digits)."""
    text = _text(value, field, p, required=True)
    if text is None:
        return None
    try:
        number = normalise_id_number(text)
        if len(number) == 15:
            number = upgrade_resident_id15(number)
        return parse_resident_id(number, today=today)
    except InvalidValue as exc:
        p.append(FieldProblem(field, str(exc)))
        return None


# --- the subject (debtor) and court blocks shared by listings and restrictions -------


def _subject(
    raw: Mapping[str, Any], out: dict[str, Any], p: Problems, today: date, *, rep_required: bool
) -> ResidentId | None:
    """Fill the debtor's fields of ``out``; return the parsed resident ID, if any."""
    get = raw.get
    subject_type = _code(get("subject_type"), "subject_type", codes.SUBJECT_TYPES, p, required=True)
    out["subject_type"] = subject_type
    out["name"] = _text(get("name"), "name", p, required=True, max_len=_NAME_MAX)
    id_type = _code(get("id_type"), "id_type", codes.ID_TYPES, p, required=True)
    confirmed = out["id_confirmed"] = _bool(get("id_confirmed"), "id_confirmed", p)
    number = _text(get("id_number"), "id_number", p, required=True)
    rid: ResidentId | None = None
    suspect = False
    is_person = subject_type == "person"
    is_org = subject_type == "organisation"
    if id_type is not None and subject_type is not None:
        allowed = _PERSON_ID_TYPES if is_person else _ORG_ID_TYPES
        if id_type not in allowed:
            p.append(
                FieldProblem(
                    "id_type",
                    f"a {subject_type} cannot have id_type {id_type}; use one of "
                    f"{', '.join(sorted(allowed))}",
                )
            )
            id_type = None
    if id_type is not None and number is not None:
        try:
            if id_type == "resident_id" or id_type == "resident_id15":
                if id_type == "resident_id15":
                    number = upgrade_resident_id15(number)
                    id_type = "resident_id"
                rid = parse_resident_id(number, today=today)
                number = rid.number
            elif id_type == "uscc":
                try:
                    number = check_uscc(number)
                except UsccCheckFailed as exc:
                    if not confirmed:
                        raise InvalidValue(
                            f"{exc}; if the court confirms the code as registered, "
                            "send id_confirmed: true"
                        ) from None
                    number, suspect = exc.value, True
            elif id_type == "org_code":
                number = check_org_code(number)
            else:
                number = normalise_id_number(number)
                pattern = _TRAVEL_NUMBER_RE if id_type == "passport" else _OTHER_ID_RE
                if pattern.fullmatch(number) is None:
                    raise InvalidValue(
                        "a passport number is 5 to 20 letters and digits"
                        if id_type == "passport"
                        else "must be letters and digits (and ( ) / . -), at most 64"
                    )
        except InvalidValue as exc:
            p.append(FieldProblem("id_number", str(exc)))
            number = None
    out["id_type"] = id_type
    out["id_number"] = number
    out["id_suspect"] = suspect
    given_suspect = get("id_suspect")
    if given_suspect is not None and given_suspect is not suspect and number is not None:
        p.append(
            FieldProblem(
                "id_suspect", f"is set by the hub from the identifier check; here it is {suspect}"
            )
        )

    gender_in, birth_in = get("gender"), get("birth_date")
    gender = birth = None
    if is_org:
        for key, value in (("gender", gender_in), ("birth_date", birth_in)):
            if value is not None and value != "":
                p.append(FieldProblem(key, "applies to persons only"))
    else:
        gender = _code(gender_in, "gender", _GENDERS, p)
        birth = _date(birth_in, "birth_date", p)
        if rid is not None:
            if gender is not None and gender != rid.gender:
                p.append(
                    FieldProblem(
                        "gender",
                        f"is {gender}, but the resident ID's sequence number is that of a "
                        f"{'man' if rid.gender == 'male' else 'woman'}",
                    )
                )
            if birth is not None and birth != rid.birth_date:
                p.append(
                    FieldProblem(
                        "birth_date",
                        f"{birth.isoformat()} contradicts the resident ID, which gives "
                        f"{rid.birth_date.isoformat()}",
                    )
                )
            gender, birth = rid.gender, rid.birth_date
        elif birth is not None and birth > today:
            p.append(FieldProblem("birth_date", f"{birth.isoformat()} is in the future"))
            birth = None
    out["gender"] = gender
    out["birth_date"] = birth

    rep_in = get("legal_representative")
    rep = None
    if rep_in is not None:
        if is_person:
            p.append(FieldProblem("legal_representative", "applies to organisations only"))
        else:
            rep = _legal_representative(rep_in, p, today)
    elif rep_required and is_org:
        p.append(FieldProblem("legal_representative", "is required for an organisation"))
    out["legal_representative"] = rep

    docs_in = get("travel_documents")
    docs: list[dict[str, str]] = []
    if docs_in is not None and docs_in != []:
        if is_org:
            p.append(FieldProblem("travel_documents", "applies to persons only"))
        else:
            docs = _travel_documents(docs_in, p)
    out["travel_documents"] = docs
    return rid


def _legal_representative(value: object, p: Problems, today: date) -> dict[str, Any] | None:
    rep = _object(value, "legal_representative", p)
    if rep is None:
        return None
    _unknown(rep, _PERSON_KEYS, "legal_representative.", p)
    name = _text(rep.get("name"), "legal_representative.name", p, required=True, max_len=_NAME_MAX)
    number = None
    if rep.get("id_number") not in (None, ""):
        rid = _resident_id(rep.get("id_number"), "legal_representative.id_number", p, today)
        number = rid.number if rid is not None else None
    return {"name": name, "id_number": number}


def _travel_documents(value: object, p: Problems) -> list[dict[str, str]]:
    items = _list(value, "travel_documents", p)
    docs: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for i, item in enumerate(items or ()):
        field = f"travel_documents[{i}]"
        doc = _object(item, field, p)
        if doc is None:
            continue
        _unknown(doc, _DOCUMENT_KEYS, f"{field}.", p)
        kind = _code(
            doc.get("type"), f"{field}.type", codes.TRAVEL_DOCUMENT_TYPES, p, required=True
        )
        number = _text(doc.get("number"), f"{field}.number", p, required=True)
        if number is not None:
            number = normalise_id_number(number)
            pattern = _OTHER_ID_RE if kind == "other" else _TRAVEL_NUMBER_RE
            if pattern.fullmatch(number) is None:
                p.append(FieldProblem(f"{field}.number", f"{number!r} is not a document number"))
                continue
        if kind is None or number is None:
            continue
        if (kind, number) in seen:
            p.append(FieldProblem(field, f"{kind} {number} is listed twice"))
            continue
        seen.add((kind, number))
        docs.append({"type": kind, "number": number})
    return docs


def _court(raw: Mapping[str, Any], out: dict[str, Any], p: Problems) -> int | None:
    """Fill the court and case fields of ``out``; return the case number's year."""
    get = raw.get
    court_code = _text(get("court_code"), "court_code", p, required=True)
    if court_code is not None:
        try:
            court_code = parse_court_code(court_code)
        except InvalidValue as exc:
            p.append(FieldProblem("court_code", str(exc)))
            court_code = None
    out["court_code"] = court_code
    out["court_name"] = _text(get("court_name"), "court_name", p, required=True, max_len=_NAME_MAX)
    text = _text(get("case_number"), "case_number", p, required=True)
    display = key = year = None
    if text is not None:
        try:
            case = parse_case_number(text)
        except InvalidValue as exc:
            p.append(FieldProblem("case_number", str(exc)))
        else:
            display, key, year = case.display, case.key, case.year
            given_key = get("case_number_key")
            if given_key is not None and given_key != key:
                p.append(
                    FieldProblem(
                        "case_number_key", f"is derived from case_number; here it is {key}"
                    )
                )
    out["case_number"] = display
    out["case_number_key"] = key
    return year


# --- listings ------------------------------------------------------------------------


def validate_listing(raw: Mapping[str, Any], *, today: date) -> dict[str, Any]:
    """Check one listing in the import format and return it normalised.

    :returns: a dict with exactly :data:`LISTING_FIELDS`, dates as ``date``.
    :raises InvalidRecord: with every problem of the record.
    """
    if not isinstance(raw, Mapping):
        raise InvalidRecord([FieldProblem("record", f"must be an object, got {_kind(raw)}")])
    p: Problems = []
    _unknown(raw, _LISTING_KEYS, "", p)
    get = raw.get
    out = dict.fromkeys(LISTING_FIELDS)
    out["listing_id"] = _record_id(get("listing_id"), "listing_id", p)
    rid = _subject(raw, out, p, today, rep_required=True)
    _court(raw, out, p)
    out["basis_issuer"] = _text(get("basis_issuer"), "basis_issuer", p, max_len=_NAME_MAX)
    out["basis_number"] = _text(get("basis_number"), "basis_number", p, max_len=_NAME_MAX)
    out["obligation"] = _text(get("obligation"), "obligation", p, required=True)
    out["performance"] = _code(
        get("performance"), "performance", codes.PERFORMANCE, p, required=True
    )
    behaviours = _codes(get("behaviours"), "behaviours", _BEHAVIOUR_ORDER, p)
    if behaviours is None and get("behaviours") is None:
        p.append(FieldProblem("behaviours", "is required: a listing needs at least one behaviour"))
    out["behaviours"] = behaviours
    out["behaviour_label"] = _text(get("behaviour_label"), "behaviour_label", p, max_len=_LABEL_MAX)
    covered = out["security_covers_debt"] = _bool(
        get("security_covers_debt"), "security_covers_debt", p
    )
    if covered and behaviours is not None and "B1" in behaviours:
        p.append(
            FieldProblem(
                "behaviours",
                "B1 (able but refuses) may not be used when security or seized property "
                "covers the debt (security_covers_debt is true; Art. 3, 2017 rules)",
            )
        )

    decided = _date(get("decided_on"), "decided_on", p, required=True)
    if decided is not None and decided > today:
        p.append(FieldProblem("decided_on", f"{decided.isoformat()} is in the future"))
        decided = None
    out["decided_on"] = decided
    filed = out["filed_on"] = _date(get("filed_on"), "filed_on", p)
    listed = out["listed_on"] = _date(get("listed_on"), "listed_on", p)
    if decided is not None:
        if filed is not None and filed > decided:
            p.append(
                FieldProblem(
                    "filed_on",
                    f"{filed.isoformat()} is after the decision date {decided.isoformat()}",
                )
            )
        if listed is not None and listed < decided:
            p.append(
                FieldProblem(
                    "listed_on",
                    f"{listed.isoformat()} is before the decision date {decided.isoformat()}",
                )
            )
        birth = out["birth_date"]
        if birth is not None and decided <= add_months(birth, _ADULT_MONTHS):
            # Conservative reckoning of age (周岁 counts from the day after the
            # birthday): a decision on the 18th birthday itself is still refused.
            p.append(
                FieldProblem(
                    "id_number" if rid is not None else "birth_date",
                    f"the debtor was born on {birth.isoformat()} and was under 18 on the "
                    f"decision date {decided.isoformat()}: a minor may not be listed "
                    "(Art. 4, 2017 rules)",
                )
            )
    _term(raw, out, p, behaviours, decided)

    if p:
        raise InvalidRecord(p)
    return out


def _term(
    raw: Mapping[str, Any],
    out: dict[str, Any],
    p: Problems,
    behaviours: list[str] | None,
    decided: date | None,
) -> None:
    get = raw.get
    term = _int(get("term_months"), "term_months", p)
    extension = _int(get("extension_months"), "extension_months", p)
    given_expiry = _date(get("expires_on"), "expires_on", p)
    expires = None
    if behaviours is not None and codes.NO_TERM_BEHAVIOURS.issuperset(behaviours):
        if term is not None:
            p.append(
                FieldProblem(
                    "term_months",
                    "must be empty: a listing only for B1 has no term, it lasts until it is "
                    "removed (Art. 2)",
                )
            )
        if extension:
            p.append(FieldProblem("extension_months", "must be empty or 0: there is no term"))
        term, extension = None, 0
        if given_expiry is not None:
            p.append(FieldProblem("expires_on", "must be empty: a B1 listing has no term"))
    else:
        if term is None:
            term = codes.DEFAULT_TERM_MONTHS
        elif term != codes.DEFAULT_TERM_MONTHS:
            p.append(
                FieldProblem("term_months", f"is {term}; the term is 24 months (two years, Art. 2)")
            )
        if extension is None:
            extension = 0
        elif extension and not (
            codes.EXTENSION_MONTHS_MIN <= extension <= codes.EXTENSION_MONTHS_MAX
        ):
            p.append(
                FieldProblem(
                    "extension_months",
                    f"is {extension}; an extension is 0 or 12 to 36 months (one to three "
                    "years, Art. 2)",
                )
            )
        if decided is not None and behaviours is not None:
            expires = add_months(decided, term + extension)
            if given_expiry is not None and given_expiry != expires:
                p.append(
                    FieldProblem(
                        "expires_on",
                        f"{given_expiry.isoformat()} does not match the decision date plus "
                        f"term and extension, {expires.isoformat()}",
                    )
                )
    out["term_months"] = term
    out["extension_months"] = extension
    out["expires_on"] = expires


# --- consumption-restriction orders ----------------------------------------------------


def validate_restriction(raw: Mapping[str, Any], *, today: date) -> dict[str, Any]:
    """Check one consumption-restriction order in the import format; return it normalised.

    :returns: a dict with exactly :data:`RESTRICTION_FIELDS`, dates as ``date``.
    :raises InvalidRecord: with every problem of the record.
    """
    if not isinstance(raw, Mapping):
        raise InvalidRecord([FieldProblem("record", f"must be an object, got {_kind(raw)}")])
    p: Problems = []
    _unknown(raw, _RESTRICTION_KEYS, "", p)
    get = raw.get
    out = dict.fromkeys(RESTRICTION_FIELDS)
    out["order_id"] = _record_id(get("order_id"), "order_id", p)
    # The import example carries bound persons rather than a legal representative.
    _subject(raw, out, p, today, rep_required=False)
    _court(raw, out, p)
    issued = _date(get("issued_on"), "issued_on", p, required=True)
    if issued is not None and issued > today:
        p.append(FieldProblem("issued_on", f"{issued.isoformat()} is in the future"))
        issued = None
    out["issued_on"] = issued
    categories_in = get("categories")
    out["categories"] = (
        _ALL_CATEGORIES.copy()
        if categories_in is None
        else _codes(categories_in, "categories", _CATEGORY_ORDER, p)
    )
    out["bound_persons"] = _bound_persons(get("bound_persons"), out["subject_type"], p, today)
    out["listing_id"] = _record_id(get("listing_id"), "listing_id", p)
    if p:
        raise InvalidRecord(p)
    return out


def _bound_persons(
    value: object, subject_type: str | None, p: Problems, today: date
) -> list[dict[str, str]]:
    if subject_type == "person":
        if value is not None and value != []:
            p.append(FieldProblem("bound_persons", "applies to organisations only"))
        return []
    items = _list(value, "bound_persons", p)
    if items is None:
        return []
    if not items:
        if subject_type == "organisation":
            p.append(
                FieldProblem(
                    "bound_persons",
                    "an organisation's order binds at least one person (its legal "
                    "representative, Art. 3)",
                )
            )
        return []
    persons: list[dict[str, str]] = []
    seen: dict[tuple[str, str], int] = {}
    for i, item in enumerate(items):
        field = f"bound_persons[{i}]"
        person = _object(item, field, p)
        if person is None:
            continue
        _unknown(person, _BOUND_KEYS, f"{field}.", p)
        name = _text(person.get("name"), f"{field}.name", p, required=True, max_len=_NAME_MAX)
        rid = _resident_id(person.get("id_number"), f"{field}.id_number", p, today)
        role = _code(person.get("role"), f"{field}.role", codes.BOUND_ROLES, p, required=True)
        if name is None or rid is None or role is None:
            continue
        first = seen.setdefault((rid.number, role), i)
        if first != i:
            p.append(
                FieldProblem(
                    field, f"{rid.number} is already bound as {role} (bound_persons[{first}])"
                )
            )
            continue
        persons.append({"name": name, "id_number": rid.number, "role": role})
    return persons


# --- temporary liftings --------------------------------------------------------------


def validate_exemption(
    raw: Mapping[str, Any], *, restriction: Mapping[str, Any], today: date
) -> dict[str, Any]:
    """Check a temporary lifting (暂时解除) of an order's air/high-speed-rail categories.

    ``restriction`` is the normalised order as stored; its ``status`` (if present)
    must be ``active``, and a bound person whose entry carries a non-empty
    ``released_on`` has been released and can no longer be exempted.

    :returns: a dict with exactly :data:`EXEMPTION_FIELDS`.
    :raises InvalidRecord: with every problem of the request.
    """
    if not isinstance(raw, Mapping):
        raise InvalidRecord([FieldProblem("record", f"must be an object, got {_kind(raw)}")])
    p: Problems = []
    _unknown(raw, _EXEMPTION_KEYS, "", p)
    get = raw.get
    if restriction.get("status", "active") != "active":
        p.append(FieldProblem("record", f"the order is {restriction.get('status')}, not active"))

    person = _text(get("person"), "person", p, required=True)
    if person is not None:
        person = normalise_id_number(person)
        problem = _exemptable_person(person, restriction)
        if problem:
            p.append(FieldProblem("person", problem))

    categories = _codes(get("categories"), "categories", _EXEMPTABLE_ORDER, p)
    if categories is None and get("categories") is None:
        p.append(FieldProblem("categories", "is required (C1 air, C9 high-speed rail, or both)"))
    elif categories is not None:
        missing = [c for c in categories if c not in restriction.get("categories", ())]
        if missing:
            p.append(
                FieldProblem("categories", f"the order does not restrict {', '.join(missing)}")
            )

    start = _date(get("from"), "from", p, required=True)
    until = _date(get("until"), "until", p, required=True)
    if until is not None and until < today:
        p.append(FieldProblem("until", f"{until.isoformat()} is already past"))
    if start is not None and until is not None:
        latest = add_months(start, codes.MAX_EXEMPTION_MONTHS)
        if until < start:
            p.append(
                FieldProblem("until", f"{until.isoformat()} is before from {start.isoformat()}")
            )
        elif until > latest:
            p.append(
                FieldProblem(
                    "until",
                    f"{until.isoformat()} is more than one month after from "
                    f"{start.isoformat()}; a temporary lifting ends by {latest.isoformat()}",
                )
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
    return f"{person} is not a person bound by this order (an organisation itself cannot travel)"
