"""CSV rows to import records and back: nested fields flattened with ``_``."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from datetime import date
from typing import Any, Final

from hub.errors import FieldProblem

_REP: Final = "legal_representative_"
_REP_KEYS: Final = ("name", "id_number")
_BOUND_RE: Final = re.compile(r"bound_persons_([1-9][0-9]{0,2})_(name|id_number|role)", re.ASCII)
_BOUND_KEYS: Final = ("name", "id_number", "role")
_CODE_LISTS: Final = frozenset({"behaviours", "categories"})
_BOOLS: Final = frozenset({"id_confirmed", "security_covers_debt", "id_suspect"})
_INTS: Final = frozenset({"term_months", "extension_months"})
_TRUE: Final = frozenset({"true", "1"})
_FALSE: Final = frozenset({"false", "0"})


def unflatten_row(row: Mapping[str, str | None]) -> dict[str, Any]:
    """Turn a CSV row into an import record; the rules then judge the values.

    Empty cells are left out. A cell that cannot be converted (``"yes"`` for a
    boolean, ``"two"`` for months) is kept as text so the rules name the problem.
    """
    record: dict[str, Any] = {}
    rep: dict[str, str] | None = None
    bound: dict[int, dict[str, str]] | None = None
    for column, cell in row.items():
        if not cell or cell.isspace():
            continue
        if column in _CODE_LISTS:
            record[column] = [code for part in cell.split(";") if (code := part.strip())]
        elif column in _BOOLS:
            flag = cell.strip().lower()
            record[column] = True if flag in _TRUE else False if flag in _FALSE else cell
        elif column in _INTS:
            text = cell.strip()
            record[column] = int(text) if text.isascii() and text.isdigit() else cell
        elif column == "travel_documents":
            record[column] = _documents(cell)
        elif column.startswith(_REP):
            if rep is None:
                rep = record["legal_representative"] = {}
            rep[column[len(_REP) :]] = cell
        elif column.startswith("bound_persons_") and (m := _BOUND_RE.fullmatch(column)):
            if bound is None:
                bound = {}
            bound.setdefault(int(m[1]), {})[m[2]] = cell
        else:
            record[column] = cell
    if bound:
        # Keep positions: a gap becomes an empty person so an error such as
        # "bound_persons[1].name" still points at the columns bound_persons_2_*.
        record["bound_persons"] = [bound.get(i, {}) for i in range(1, max(bound) + 1)]
    return record


def header_problems(names: Sequence[str], fields: Collection[str]) -> list[FieldProblem]:
    """What is wrong with a CSV header for records of ``fields``, said once for the
    file: a column twice (the later cell would silently win) and a column that is no
    field (every line would say so). A column without a name is left to its cells."""
    problems: list[FieldProblem] = []
    seen: dict[str, int] = {}
    for number, name in enumerate(names, start=1):
        if not name:
            continue
        if name in seen:
            problems.append(FieldProblem("(header)", f"column {name!r} appears twice "
                                         f"(columns {seen[name]} and {number})"))
            continue
        seen[name] = number
        ((key, value),) = unflatten_row({name: "x"}).items()
        if key not in fields or (key == "legal_representative" and set(value) - set(_REP_KEYS)):
            problems.append(FieldProblem("(header)", f"column {number} {name!r}: unknown field"))
    return problems


def _documents(cell: str) -> list[dict[str, str]]:
    docs = []
    for part in cell.split(";"):
        item = part.strip()
        if not item:
            continue
        kind, sep, number = item.partition(":")
        # Without a colon only the number is known; the rules report the missing type.
        docs.append({"type": kind.strip(), "number": number.strip()} if sep else {"number": item})
    return docs


def flatten_record(record: Mapping[str, Any]) -> dict[str, str]:
    """Turn an import or normalised record into a CSV row (the inverse of unflatten_row).

    None becomes an empty cell; dates are ISO, booleans ``true``/``false``.
    """
    row: dict[str, str] = {}
    for key, value in record.items():
        if key == "legal_representative":
            rep = value or {}
            for sub in _REP_KEYS:
                row[_REP + sub] = _cell(rep.get(sub))
        elif key == "bound_persons":
            for i, person in enumerate(value or (), 1):
                for sub in _BOUND_KEYS:
                    row[f"bound_persons_{i}_{sub}"] = _cell(person.get(sub))
        elif key == "travel_documents":
            row[key] = ";".join(f"{d['type']}:{d['number']}" for d in value or ())
        elif key in _CODE_LISTS:
            row[key] = ";".join(value or ())
        else:
            row[key] = _cell(value)
    return row


def _cell(value: object) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def column_for(field: str) -> str:
    """Map a problem's field name to its CSV column: ``bound_persons[1].role`` is
    ``bound_persons_2_role``; ``travel_documents[0].number`` is ``travel_documents``
    (one cell holds them all). A whole person or representative is its columns,
    ``bound_persons_2_*`` and ``legal_representative_*``, since no column bears the
    bare name."""
    head, _, sub = field.partition(".")
    name, bracket, index = head.partition("[")
    if name == "bound_persons":
        if not bracket:
            return "bound_persons_*"
        return f"bound_persons_{int(index.rstrip(']')) + 1}_{sub or '*'}"
    if name == "legal_representative":
        return f"{_REP}{sub or '*'}"
    return name


#: A path to one item of a list inside a problem's reason ("already bound as
#: legal_representative (bound_persons[0])"). Only a bracketed path: a reason names
#: codes too, and the role legal_representative is no column.
_ITEM_PATH_RE: Final = re.compile(r"\b(?:bound_persons|travel_documents)\[[0-9]+\](?:\.[a-z_]+)?",
                                  re.ASCII)


def csv_problem(problem: FieldProblem) -> FieldProblem:
    """``problem`` as a clerk reading the CSV file needs it: its field, and any item
    its reason points at, named by the column (1-based, where the rules count from 0
    as JSON does)."""
    reason = _ITEM_PATH_RE.sub(lambda m: column_for(m[0]), problem.reason)
    return FieldProblem(column_for(problem.field), reason)
