"""The per-line half of an import: parse, validate, and encode rows for the database.

Pure and picklable, so a big import runs it in worker processes (validation is
most of an import's CPU) while the parent streams the prepared rows to the
database; a small import runs it inline.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from operator import itemgetter
from typing import Any, Final

import orjson

from hub.core.flat import csv_problem, unflatten_row
from hub.core.records import restriction_state
from hub.core.rules import (
    LISTING_FIELDS,
    RESTRICTION_FIELDS,
    validate_listing,
    validate_restriction,
)
from hub.db.copytext import copy_line, copy_text
from hub.errors import FieldProblem, HubError, InvalidRecord
from hub.services.actors import Actor
from hub.services.ids import new_record_id

LISTING_COLUMNS = (*LISTING_FIELDS, "status", "status_reason", "version")
RESTRICTION_SCALARS = tuple(f for f in RESTRICTION_FIELDS if f != "bound_persons")
RESTRICTION_COLUMNS = (*RESTRICTION_SCALARS, "status", "status_reason", "version")
PERSON_COLUMNS = ("order_id", "position", "name", "id_number", "role")
_JSON = frozenset(
    ("legal_representative", "travel_documents", "behaviours", "categories")
)
_listing_row = itemgetter(*LISTING_COLUMNS)
_restriction_row = itemgetter(*RESTRICTION_COLUMNS)


@dataclass(frozen=True, slots=True)
class Rejection:
    line: int
    problems: tuple[FieldProblem, ...]

    def __str__(self) -> str:
        return "; ".join(f"line {self.line}: {p.field}: {p.reason}" for p in self.problems)


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A CSV record that cannot be read as cells (its bytes are not text in the file's
    encoding, or a quote runs it into the next): why, for its line and field."""

    reason: str
    field: str = "(line)"


@dataclass(slots=True)
class Prepared:
    """A valid line, ready to write: encoded for COPY (bytes) or executemany (tuples)."""

    line: int
    key: str
    link: str | None
    main: Any
    persons: list[Any]
    event: bytes


@dataclass(slots=True)
class Rejected:
    rejection: Rejection


@dataclass(frozen=True, slots=True)
class ChunkJob:
    kind: str  # listing | restriction
    today: date
    now: datetime
    court_code: str | None  # the actor's court, None for all courts
    copy: bool  # True: COPY text lines (PostgreSQL); False: tuples for executemany
    header: tuple[str, ...] | None  # CSV column names; None for JSON Lines
    #: (line number, JSON bytes or CSV cells); one outcome comes back per item, in order
    items: list[tuple[int, Any]]


def worker_init(parent: int) -> None:
    """Make a preparing worker die with the import that started it.

    A killed import (``kill -TERM``, ``kill -9``, an operator's Ctrl-\\) runs no
    clean-up, and its spawned workers (~80 MB each) would live on under PID 1 forever,
    waiting for chunks that never come. On Linux the kernel sends a worker SIGKILL
    when its parent dies (PR_SET_PDEATHSIG); the parent may have died before this
    runs, hence the check after it. (The kernel watches the thread that started the
    worker: the pool is started by the import's own thread, which outlives it.)
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


_PR_SET_PDEATHSIG: Final = 1


def undecodable(raw: bytes, exc: UnicodeDecodeError, hint: str = "") -> str:
    """Why a line is not text: where, and the byte (the start of a GB18030 character in a
    file read as UTF-8, most often)."""
    return (f"not valid {exc.encoding.upper()} text at byte {exc.start + 1} of the line "
            f"(0x{raw[exc.start]:02X}){hint}")


def _json_problem(payload: bytes, exc: orjson.JSONDecodeError) -> str:
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError as bad:
        return undecodable(payload, bad, "; JSON Lines are UTF-8: convert a GB18030 file "
                           "first (iconv -f GB18030 -t UTF-8)")
    return f"not valid JSON: {exc}"


def parse_item(payload: Any, header: Sequence[str] | None) -> dict[str, Any] | Rejection:
    """JSON bytes or CSV cells (or why they are unreadable) to an import mapping; a
    Rejection says why not."""
    if header is None:
        try:
            obj = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            return Rejection(0, (FieldProblem("(line)", _json_problem(payload, exc)),))
        if not isinstance(obj, dict):
            return Rejection(0, (FieldProblem("(line)", "not a JSON object"),))
        return obj
    if isinstance(payload, Unreadable):
        return Rejection(0, (FieldProblem(payload.field, payload.reason),))
    if len(payload) != len(header):
        reason = f"has {len(payload)} cells, the header has {len(header)}"
        return Rejection(0, (FieldProblem("(line)", reason),))
    return unflatten_row(dict(zip(header, payload, strict=True)))


def _encode(row: Sequence[Any], columns: Sequence[str], copy: bool) -> Any:
    out = list(row)
    for i, name in enumerate(columns):
        value = out[i]
        if name in _JSON and value is not None:
            out[i] = orjson.dumps(value).decode()
        elif not copy and isinstance(value, date):
            # sqlite3's date adapters are deprecated; SQLAlchemy's SQLite Date reads ISO text.
            out[i] = value.isoformat()
    return copy_line(out) if copy else tuple(out)


def event_line(type_: str, kind: str, key: str, state: dict[str, Any]) -> bytes:
    """A change event without its seq, as spooled until the import commits."""
    # Codes and validated ids hold no tab or newline; orjson's output has none either.
    return f"{type_}\t{kind}\t{key}\t{copy_text(orjson.dumps(state).decode())}\n".encode()


def validate_item(
    kind: str, item: dict[str, Any], *, today: date, now: datetime, court_code: str | None
) -> dict[str, Any]:
    """Validate one import mapping, check the actor's court, assign a missing id."""
    validate = validate_listing if kind == "listing" else validate_restriction
    values = validate(item, today=today)
    Actor("import", court_code).check_court(values["court_code"])
    key_name = "listing_id" if kind == "listing" else "order_id"
    if values[key_name] is None:
        values[key_name] = new_record_id("L" if kind == "listing" else "R", now)
    return values


def named_for(problems: Sequence[FieldProblem], header: Sequence[str] | None
              ) -> tuple[FieldProblem, ...]:
    """The rules name fields by their JSON path (``bound_persons[1].id_number``, counted
    from 0): a JSON Lines line keeps it, a CSV line gets the column its clerk sees
    (``bound_persons_2_id_number``)."""
    return tuple(problems) if header is None else tuple(csv_problem(p) for p in problems)


def prepare_chunk(job: ChunkJob) -> list[Prepared | Rejected]:
    out: list[Prepared | Rejected] = []
    for number, payload in job.items:
        item = parse_item(payload, job.header)
        if isinstance(item, Rejection):
            out.append(Rejected(Rejection(number, item.problems)))
            continue
        try:
            v = validate_item(job.kind, item, today=job.today, now=job.now,
                              court_code=job.court_code)
        except InvalidRecord as exc:
            out.append(Rejected(Rejection(number, named_for(exc.problems, job.header))))
            continue
        except HubError as exc:  # another court's record
            out.append(Rejected(Rejection(number, (FieldProblem("court_code", str(exc)),))))
            continue
        v["status"], v["status_reason"], v["version"] = "active", None, 1
        if job.kind == "listing":
            key = v["listing_id"]
            main = _encode(_listing_row(v), LISTING_COLUMNS, job.copy)
            del v["version"]
            # v now holds exactly the listing state's fields; orjson writes its
            # dates as ISO text, so this is listing_state(v) without a copy
            # (tests/services/test_import_state.py holds them equal).
            out.append(Prepared(number, key, None, main, [],
                                event_line("listing.added", "listing", key, v)))
        else:
            key = v["order_id"]
            persons = [
                _encode((key, i, p["name"], p["id_number"], p["role"]), PERSON_COLUMNS, job.copy)
                for i, p in enumerate(v["bound_persons"], start=1)
            ]
            out.append(Prepared(
                number, key, v["listing_id"],
                _encode(_restriction_row(v), RESTRICTION_COLUMNS, job.copy), persons,
                event_line("restriction.issued", "restriction", key,
                           restriction_state(v, v["bound_persons"], [])),
            ))
    return out
