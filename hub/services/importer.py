"""Bulk import of listings and restrictions from JSON Lines or CSV.

All or nothing: every line is validated, every problem is reported with its
line, field and reason, and a file with one bad line imports nothing, unless
``skip_invalid`` is set, in which case the bad lines go to a rejects file
beside the input and the rest is imported. New records are written with bulk
COPY/executemany in chunks; a line whose id already exists is a correction
and goes through the registry's correction rule like a staff correction.

Events are spooled and numbered at the very end, so the change log's lock is
held only for the final COPY of the events and staff writes are not stalled
for the length of a big import.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from pathlib import Path
from typing import IO, Any

import orjson
from sqlalchemy import ARRAY, Connection, String, any_, cast, literal, select
from sqlalchemy.orm import Session, sessionmaker

from hub.core.flat import unflatten_row
from hub.core.records import listing_state, restriction_state, to_import_shape
from hub.core.rules import (
    LISTING_FIELDS,
    RESTRICTION_FIELDS,
    validate_listing,
    validate_restriction,
)
from hub.core.timeutil import court_date
from hub.db.bulk import BulkWriter
from hub.db.engine import session_scope
from hub.db.models import Listing, Restriction
from hub.errors import Conflict, FieldProblem, HubError, InvalidRecord, NotFound
from hub.services import audit, registry
from hub.services.actors import Actor
from hub.services.feed import allocate_seq

CHUNK = 2000
#: Rejections kept in the report object; all of them still reach ``on_reject``.
KEPT_REJECTIONS = 1000

_LISTING_COLUMNS = (*LISTING_FIELDS, "status", "status_reason", "version")
_LISTING_JSON = ("legal_representative", "travel_documents", "behaviours")
_RESTRICTION_SCALARS = tuple(f for f in RESTRICTION_FIELDS if f != "bound_persons")
_RESTRICTION_COLUMNS = (*_RESTRICTION_SCALARS, "status", "status_reason", "version")
_RESTRICTION_JSON = ("legal_representative", "travel_documents", "categories")
_PERSON_COLUMNS = ("order_id", "position", "name", "id_number", "role")
_listing_row = itemgetter(*_LISTING_COLUMNS)
_restriction_row = itemgetter(*_RESTRICTION_COLUMNS)


@dataclass(frozen=True, slots=True)
class Rejection:
    line: int
    problems: tuple[FieldProblem, ...]

    def __str__(self) -> str:
        return "; ".join(f"line {self.line}: {p.field}: {p.reason}" for p in self.problems)


@dataclass(slots=True)
class ImportReport:
    kind: str
    source: str
    lines: int = 0
    added: int = 0
    corrected: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    rejects_path: Path | None = None
    first_seq: int | None = None
    last_seq: int | None = None
    committed: bool = False


@dataclass(slots=True)
class _Pending:
    line: int
    text: str
    values: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Kind:
    name: str
    key: str
    validate: Callable[..., dict[str, Any]]


KINDS = {
    "listing": _Kind("listing", "listing_id", validate_listing),
    "restriction": _Kind("restriction", "order_id", validate_restriction),
}


class _Rejects:
    """Rejected lines, written beside the input in its own format, plus a reasons log."""

    def __init__(self, source: Path, header: str | None) -> None:
        self.path = source.with_name(f"{source.stem}.rejects{source.suffix}")
        self.log_path = source.with_name(f"{source.stem}.rejects.log")
        self._data = self.path.open("w", encoding="utf-8", newline="")
        self._log = self.log_path.open("w", encoding="utf-8")
        if header is not None:
            self._data.write(header)

    def add(self, rejection: Rejection, text: str) -> None:
        self._data.write(text if text.endswith("\n") else text + "\n")
        self._log.write(f"{rejection}\n")

    def close(self) -> None:
        self._data.close()
        self._log.close()


def _read_jsonl(stream: IO[bytes]) -> Iterator[tuple[int, str, Mapping[str, Any] | Rejection]]:
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        text = line.decode("utf-8", errors="replace")
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            problem = FieldProblem("(line)", f"not valid JSON: {exc}")
            yield number, text, Rejection(number, (problem,))
            continue
        if not isinstance(obj, dict):
            yield number, text, Rejection(number, (FieldProblem("(line)", "not a JSON object"),))
            continue
        yield number, text, obj


def _read_csv(stream: IO[bytes], encoding: str) -> tuple[str, Iterator[
    tuple[int, str, Mapping[str, Any] | Rejection]
]]:
    text_stream = io.TextIOWrapper(stream, encoding=encoding, newline="")
    reader = csv.reader(text_stream)
    header = next(reader, None) or []
    names = [h.strip() for h in header]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    header_text = out.getvalue()

    def rows() -> Iterator[tuple[int, str, Mapping[str, Any] | Rejection]]:
        try:
            yield from _cells()
        finally:
            # Closing the wrapper would close the caller's file, still needed for tell().
            text_stream.detach()

    def _cells() -> Iterator[tuple[int, str, Mapping[str, Any] | Rejection]]:
        for cells in reader:
            number = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            out.seek(0)
            out.truncate()
            writer.writerow(cells)
            if len(cells) != len(names):
                problem = FieldProblem(
                    "(line)", f"has {len(cells)} cells, the header has {len(names)}"
                )
                yield number, out.getvalue(), Rejection(number, (problem,))
                continue
            yield number, out.getvalue(), unflatten_row(dict(zip(names, cells, strict=True)))

    return header_text, rows()


class _Importer:
    def __init__(
        self, session: Session, kind: _Kind, report: ImportReport, *, actor: Actor,
        now: datetime, correction_reason: str, skip_invalid: bool,
        on_reject: Callable[[Rejection], None] | None, rejects: _Rejects | None,
    ) -> None:
        self.session = session
        self.conn: Connection = session.connection()
        # Lookups go through a second connection: the first one is busy
        # streaming COPY data while the file is read.
        self.lookup: Connection = self.conn.engine.connect()
        self.kind = kind
        self.report = report
        self.actor = actor
        self.now = now
        self.today = court_date(now)
        self.correction_reason = correction_reason
        self.skip_invalid = skip_invalid
        self.on_reject = on_reject
        self.rejects = rejects
        self.writer = BulkWriter(self.conn)
        self.seen: set[str] = set()
        self.chunk: list[_Pending] = []
        self.corrections: list[_Pending] = []

    @property
    def writing(self) -> bool:
        # After the first bad line of an all-or-nothing import nothing more is
        # written; validation goes on so every problem is reported at once.
        return self.skip_invalid or self.report.rejected == 0

    def reject(self, rejection: Rejection, text: str) -> None:
        self.report.rejected += 1
        if len(self.report.rejections) < KEPT_REJECTIONS:
            self.report.rejections.append(rejection)
        if self.on_reject is not None:
            self.on_reject(rejection)
        if self.rejects is not None:
            self.rejects.add(rejection, text)

    def feed(self, number: int, text: str, item: Mapping[str, Any] | Rejection) -> None:
        self.report.lines += 1
        if isinstance(item, Rejection):
            self.reject(item, text)
            return
        try:
            values = self.kind.validate(item, today=self.today)
            self.actor.check_court(values["court_code"])
        except InvalidRecord as exc:
            self.reject(Rejection(number, exc.problems), text)
            return
        except HubError as exc:
            self.reject(Rejection(number, (FieldProblem("court_code", str(exc)),)), text)
            return
        key = values[self.kind.key]
        if key is None:
            key = registry.new_record_id(self.kind.name[0].upper(), self.now)
            values[self.kind.key] = key
        if key in self.seen:
            problem = FieldProblem(self.kind.key, f"{key} appears more than once in this file")
            self.reject(Rejection(number, (problem,)), text)
            return
        self.seen.add(key)
        self.chunk.append(_Pending(number, text, values))
        if len(self.chunk) >= CHUNK:
            self.flush()

    def _among(self, column: Any, keys: list[str]) -> Any:
        # One array parameter on PostgreSQL: 2,000 separate parameters cost more
        # to send and plan than the lookup itself.
        if self.conn.dialect.name == "postgresql":
            return column == any_(cast(literal(keys, ARRAY(String)), ARRAY(String)))
        return column.in_(keys)

    def _existing(self, keys: list[str]) -> dict[str, tuple[str, str]]:
        model = Listing if self.kind.name == "listing" else Restriction
        key_col = getattr(model, self.kind.key)
        stmt = select(key_col, model.status, model.court_code).where(self._among(key_col, keys))
        return {row[0]: (row[1], row[2]) for row in self.lookup.execute(stmt)}

    def _known_listings(self, ids: set[str]) -> set[str]:
        if not ids:
            return set()
        stmt = select(Listing.listing_id).where(self._among(Listing.listing_id, sorted(ids)))
        return set(self.lookup.execute(stmt).scalars())

    def flush(self) -> None:
        chunk, self.chunk = self.chunk, []
        if not chunk:
            return
        existing = self._existing([p.values[self.kind.key] for p in chunk])
        links = (
            self._known_listings({p.values["listing_id"] for p in chunk if p.values["listing_id"]})
            if self.kind.name == "restriction" else set()
        )
        new: list[_Pending] = []
        for pending in chunk:
            key = pending.values[self.kind.key]
            link = pending.values.get("listing_id") if self.kind.name == "restriction" else None
            if link and link not in links:
                problem = FieldProblem("listing_id", f"no listing {link} exists")
                self.reject(Rejection(pending.line, (problem,)), pending.text)
            elif key in existing:
                status, court = existing[key]
                problem = None
                if status != "active":
                    problem = FieldProblem(
                        self.kind.key, f"{key} is {status}; only an active record can be corrected"
                    )
                elif self.actor.court_code not in (None, court):
                    problem = FieldProblem(self.kind.key, f"{key} belongs to court {court}")
                if problem:
                    self.reject(Rejection(pending.line, (problem,)), pending.text)
                else:
                    self.corrections.append(pending)
            else:
                new.append(pending)
        if self.writing and new:
            self._write_new(new)

    def _write_new(self, new: list[_Pending]) -> None:
        events: list[tuple[str, str, str, dict[str, Any]]] = []
        if self.kind.name == "listing":
            rows = []
            for p in new:
                v = p.values
                v["status"], v["status_reason"], v["version"] = "active", None, 1
                rows.append(_listing_row(v))
                events.append(("listing.added", "listing", v["listing_id"], listing_state(v)))
            self.writer.stream("listings", _LISTING_COLUMNS, rows, _LISTING_JSON)
        else:
            rows, persons = [], []
            for p in new:
                v = p.values
                v["status"], v["status_reason"], v["version"] = "active", None, 1
                rows.append(_restriction_row(v))
                for i, person in enumerate(v["bound_persons"], start=1):
                    persons.append((v["order_id"], i, person["name"], person["id_number"],
                                    person["role"]))
                events.append(("restriction.issued", "restriction", v["order_id"],
                               restriction_state(v, v["bound_persons"], [])))
            self.writer.stream("restrictions", _RESTRICTION_COLUMNS, rows, _RESTRICTION_JSON)
            if persons:
                self.writer.defer("bound_persons", _PERSON_COLUMNS, persons)
        self.writer.stage_events(events)
        self.report.added += len(new)

    def apply_corrections(self) -> None:
        correct = (registry.correct_listing if self.kind.name == "listing"
                   else registry.correct_restriction)
        for pending in self.corrections:
            try:
                event = correct(
                    self.session, pending.values[self.kind.key],
                    to_import_shape(pending.values, pending.values.keys()),
                    reason=self.correction_reason, actor=self.actor, now=self.now, replace=True,
                )
            except (InvalidRecord, Conflict, NotFound) as exc:  # pragma: no cover - prechecked
                problems = getattr(exc, "problems", (FieldProblem(self.kind.key, str(exc)),))
                self.reject(Rejection(pending.line, tuple(problems)), pending.text)
                continue
            if event is None:
                self.report.unchanged += 1
            else:
                self.report.corrected += 1
                self._note_seq(event.seq, event.seq)

    def _note_seq(self, first: int, last: int) -> None:
        if self.report.first_seq is None or first < self.report.first_seq:
            self.report.first_seq = first
        if self.report.last_seq is None or last > self.report.last_seq:
            self.report.last_seq = last

    def publish(self) -> None:
        count = self.writer.staged
        if count:
            last = allocate_seq(self.conn, count)
            self.writer.publish_events(first_seq=last - count + 1, at=self.now,
                                       actor=self.actor.name)
            self._note_seq(last - count + 1, last)
        else:
            self.writer.discard()


class _Abort(Exception):
    """Unwinds the import transaction after a rejected all-or-nothing file."""


def import_records(
    factory: sessionmaker[Session],
    source: Path,
    *,
    kind: str,
    actor: Actor,
    now: datetime,
    skip_invalid: bool = False,
    correction_reason: str = "data_inaccurate",
    encoding: str = "utf-8-sig",
    on_progress: Callable[[int], None] | None = None,
    on_reject: Callable[[Rejection], None] | None = None,
) -> ImportReport:
    """Import ``source`` (``.jsonl``/``.ndjson`` or ``.csv``) in one transaction."""
    spec = KINDS[kind]
    report = ImportReport(kind=kind, source=source.name)
    if source.suffix.lower() not in (".jsonl", ".ndjson", ".csv"):
        raise InvalidRecord([FieldProblem("FILE", f"{source.name}: expected .jsonl or .csv")])
    try:
        _run(factory, source, spec, report, actor=actor, now=now, skip_invalid=skip_invalid,
             correction_reason=correction_reason, encoding=encoding, on_progress=on_progress,
             on_reject=on_reject)
    except _Abort:
        return report
    report.committed = True
    return report


def _run(
    factory: sessionmaker[Session], source: Path, spec: _Kind, report: ImportReport, *,
    actor: Actor, now: datetime, skip_invalid: bool, correction_reason: str, encoding: str,
    on_progress: Callable[[int], None] | None, on_reject: Callable[[Rejection], None] | None,
) -> None:
    suffix = source.suffix.lower()
    kind = spec.name
    with source.open("rb") as raw_stream, session_scope(factory) as session:
        header: str | None = None
        if suffix == ".csv":
            header, items = _read_csv(raw_stream, encoding)
        else:
            items = _read_jsonl(raw_stream)
        rejects = _Rejects(source, header) if skip_invalid else None
        importer = _Importer(
            session, spec, report, actor=actor, now=now, correction_reason=correction_reason,
            skip_invalid=skip_invalid, on_reject=on_reject, rejects=rejects,
        )
        try:
            last_pos = 0
            for number, text, item in items:
                importer.feed(number, text, item)
                if on_progress is not None and number % 1000 == 0:
                    pos = raw_stream.tell()
                    on_progress(pos - last_pos)
                    last_pos = pos
            importer.flush()
            importer.writer.finish()
            if importer.writing:
                importer.apply_corrections()
            if on_progress is not None:
                on_progress(raw_stream.tell() - last_pos)
            if report.rejected and not skip_invalid:
                raise _Abort
            importer.publish()
        except BaseException:
            importer.writer.discard()
            raise
        finally:
            importer.lookup.close()
            if rejects is not None:
                rejects.close()
                report.rejects_path = rejects.path
        audit.record(
            session, actor=actor.name, action=f"{kind}s.import", target=source.name,
            detail={
                "lines": report.lines, "added": report.added, "corrected": report.corrected,
                "unchanged": report.unchanged, "rejected": report.rejected,
                "first_seq": report.first_seq, "last_seq": report.last_seq,
            },
            at=now,
        )
