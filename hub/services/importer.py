"""Bulk import of listings and restrictions from JSON Lines or CSV.

All or nothing: every line is validated, every problem is reported with its
line, field and reason, and a file with one bad line imports nothing, unless
``skip_invalid`` is set, in which case the bad lines go to a rejects file
beside the input and the rest is imported. New records are written in bulk
(COPY on PostgreSQL); a line whose id already exists is a correction and goes
through the registry's correction rule like a staff correction.

Validation is most of an import's CPU, so a big file is prepared in worker
processes (``import_prep``) while this process streams the prepared rows to
the database. Events are spooled and numbered at the very end, so the change
log's lock is held only for the final COPY of the events and staff writes are
not stalled for the length of a big import.
"""

from __future__ import annotations

import codecs
import csv
import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Final

from sqlalchemy import Connection, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session, sessionmaker

from hub.core.csv_records import swallowed_line
from hub.core.flat import header_problems
from hub.core.rules import LISTING_FIELDS, RESTRICTION_FIELDS
from hub.core.timeutil import court_date
from hub.db.bulk import BulkWriter
from hub.db.engine import one_of, session_scope
from hub.db.models import Listing, Restriction
from hub.errors import Conflict, FieldProblem, InvalidRecord, NotFound
from hub.services import audit, registry
from hub.services.actors import Actor
from hub.services.feed import allocate_seq
from hub.services.import_prep import (
    LISTING_COLUMNS,
    PERSON_COLUMNS,
    RESTRICTION_COLUMNS,
    ChunkJob,
    Prepared,
    Rejected,
    Rejection,
    Unreadable,
    named_for,
    parse_item,
    prepare_chunk,
    undecodable,
    worker_init,
)

__all__ = ["ImportReport", "Rejection", "import_records"]

CHUNK = 2000
#: Files smaller than this are prepared inline: starting workers costs more.
POOL_MIN_BYTES = 8 << 20
#: Rejections kept in the report object; all of them still reach ``on_reject``.
KEPT_REJECTIONS = 1000

KEYS = {"listing": "listing_id", "restriction": "order_id"}
#: The fields of an import record of each kind, which a CSV header's columns must name.
FIELDS: Final = {"listing": LISTING_FIELDS, "restriction": RESTRICTION_FIELDS}


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


class _Rejects:
    """Rejected lines, written beside the input in its own format, plus a reasons log.

    The lines are the source's own bytes (its encoding, a BOM of its header, a line
    that is not text at all): the clerk fixes and re-imports them with the same
    options, and no name is lost to a replacement character. Both files are written
    under temporary names and take their own only when the import commits, so a
    failed retry leaves the rejects of the last good run, and the clerk's fixes in
    them, as they were.
    """

    def __init__(self, source: Path, header: bytes | None) -> None:
        self.path = source.with_name(f"{source.stem}.rejects{source.suffix}")
        self.log_path = source.with_name(f"{source.stem}.rejects.log")
        self._parts = [(path.with_name(f".{path.name}.{os.getpid()}.part"), path)
                       for path in (self.path, self.log_path)]
        self._data = self._parts[0][0].open("wb")
        self._log = self._parts[1][0].open("w", encoding="utf-8")
        self._end = b"\r\n" if header is not None and header.endswith(b"\r\n") else b"\n"
        if header is not None:
            self._data.write(header if header.endswith(b"\n") else header + self._end)

    def add(self, rejection: Rejection, raw: bytes) -> None:
        self._data.write(raw if raw.endswith(b"\n") else raw + self._end)
        self._log.write(f"{rejection}\n")

    def keep(self) -> None:
        """The import committed: its rejects replace those of any earlier run."""
        self._data.close()
        self._log.close()
        for part, path in self._parts:
            os.replace(part, path)

    def discard(self) -> None:
        """Nothing was imported: rejects of an import that failed would mislead."""
        self._data.close()
        self._log.close()
        for part, _path in self._parts:
            part.unlink(missing_ok=True)


#: (line number, the record's bytes as in the file, what the preparers parse)
Item = tuple[int, bytes, Any]


def _read_jsonl(stream: IO[bytes]) -> Iterator[Item]:
    for number, line in enumerate(stream, start=1):
        # Windows editors start a UTF-8 file with a byte order mark, which is no JSON:
        # its first record was refused. The rejects keep the line's own bytes.
        parsed = line[len(codecs.BOM_UTF8):] if number == 1 and line.startswith(
            codecs.BOM_UTF8) else line
        if parsed.strip():
            yield number, line, parsed


@dataclass(slots=True)
class _Csv:
    header_names: tuple[str, ...]
    header_bytes: bytes
    items: Iterator[Item]


def _undecodable(raw: bytes, exc: UnicodeDecodeError, encoding: str) -> str:
    hint = ("" if encoding.lower().replace("-", "") == "gb18030"
            else "; a file from an older system may be GB18030: --encoding gb18030")
    return undecodable(raw, exc, hint)


def _read_csv(stream: IO[bytes], encoding: str) -> _Csv:
    """The file's records, each physical line decoded strictly on its own (a newline
    byte is never inside a UTF-8 or GB18030 character): a line that is not text is
    its record's rejection, named by line, not a traceback halfway through the file.

    :raises InvalidRecord: the header line is not text in ``encoding``.
    """
    bad: dict[int, str] = {}  # physical line number -> why it is not text
    texts: list[str] = []  # the physical lines of the record being read
    raws: list[bytes] = []  # and their bytes

    def lines() -> Iterator[str]:
        for number, raw in enumerate(stream, start=1):
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError as exc:
                bad[number] = _undecodable(raw, exc, encoding)
                text = raw.decode(encoding, errors="replace")
            if number == 1:
                # GB18030 has a byte order mark too (84 31 95 33), which its codec reads
                # as U+FEFF: the first column was "\ufefflisting_id", an unknown field.
                text = text.removeprefix("\ufeff")
            texts.append(text)
            raws.append(raw)
            yield text

    reader = csv.reader(lines())
    header = next(reader, None) or []
    names = tuple(h.strip() for h in header)
    if bad:
        raise InvalidRecord([FieldProblem("(header)", f"line {n}: {why}")
                             for n, why in bad.items()])
    header_bytes = b"".join(raws)
    def items() -> Iterator[Item]:
        last = reader.line_num  # a quoted record may span several physical lines
        while True:
            texts.clear()
            raws.clear()
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                # Where a record ends is lost: nothing after this line can be trusted.
                broken = (f"a cell over {csv.field_size_limit()} characters: most likely a "
                          "quote opened there never closes" if "field larger" in str(exc)
                          else f"not CSV ({exc})")
                raise InvalidRecord([FieldProblem(
                    f"line {last + 1}", f"{broken}; nothing after it can be read")]) from exc
            first, last = last + 1, reader.line_num
            if not any(c.strip() for c in cells):
                continue
            # A record is named by the line it starts on: where the clerk finds it.
            yield (first, b"".join(raws),
                   _unreadable(first, texts, cells, names, bad) or cells)

    return _Csv(names, header_bytes, items())


def _unreadable(first: int, texts: list[str], cells: list[str], header: tuple[str, ...],
                bad: dict[int, str]) -> Unreadable | None:
    """Why the record on physical lines ``first``... (``texts``) cannot be taken as it
    was read, if it cannot."""
    last = first + len(texts) - 1
    for number in range(first, last + 1):
        if number in bad:
            return Unreadable(bad[number] if number == first else f"line {number}: {bad[number]}")
    if last == first:
        return None
    if len(cells) != len(header):
        return Unreadable(f"a quoted cell opened on line {first} runs on to line {last}: "
                          f"a closing quote may be missing ({len(cells)} cells, the header "
                          f"has {len(header)})")
    if swallowed := swallowed_line(texts, cells, len(header)):
        column, offset = swallowed
        return Unreadable(f"a quote opened here swallows line {first + offset}, which reads "
                          "as a record of its own; close the quote", field=header[column])
    return None


@contextmanager
def _preparer(workers: int) -> Iterator[Callable[[Iterable[ChunkJob]], Iterator[Any]]]:
    """``map(prepare_chunk, jobs)`` inline, or in order across worker processes."""
    if workers <= 1:
        yield lambda jobs: map(prepare_chunk, jobs)
        return
    # spawn: the parent holds database connections and threads a fork would copy.
    # An executor, not multiprocessing.Pool: a worker that dies (OOM) raises
    # BrokenProcessPool here instead of hanging the import forever.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=worker_init, initargs=(os.getpid(),)) as pool:

        def ordered(jobs: Iterable[ChunkJob]) -> Iterator[Any]:
            # Bounded read-ahead: Executor.map would submit (read) the whole file at once.
            pending: deque[Future[Any]] = deque()
            for job in jobs:
                pending.append(pool.submit(prepare_chunk, job))
                if len(pending) > 2 * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

        yield ordered


class _Importer:
    def __init__(
        self, session: Session, kind: str, report: ImportReport, *, actor: Actor,
        now: datetime, correction_reason: str, skip_invalid: bool,
        on_reject: Callable[[Rejection], None] | None, rejects: _Rejects | None,
        header: tuple[str, ...] | None,
    ) -> None:
        self.session = session
        self.conn: Connection = session.connection()
        # Lookups go through a second connection: the first one is busy
        # streaming COPY data while the file is read.
        self.lookup: Connection = self.conn.engine.connect()
        self.kind = kind
        self.key = KEYS[kind]
        self.report = report
        self.actor = actor
        self.now = now
        self.correction_reason = correction_reason
        self.skip_invalid = skip_invalid
        self.on_reject = on_reject
        self.rejects = rejects
        self.header = header
        self.writer = BulkWriter(self.conn)
        self.seen: set[str] = set()
        self.corrections: list[tuple[Prepared, bytes, Any]] = []

    def jobs(
        self, items: Iterator[Item], chunks: deque[tuple[int, list[Item]]], stream: IO[bytes]
    ) -> Iterator[ChunkJob]:
        """Chunks of lines for the preparers; the texts stay here, in ``chunks``."""
        today = court_date(self.now)
        chunk: list[Item] = []
        for item in items:
            chunk.append(item)
            if len(chunk) == CHUNK:
                chunks.append((stream.tell(), chunk))
                yield ChunkJob(self.kind, today, self.now, self.actor.court_code,
                               self.writer.copy, self.header, [(n, p) for n, _t, p in chunk])
                chunk = []
        chunks.append((stream.tell(), chunk))
        yield ChunkJob(self.kind, today, self.now, self.actor.court_code, self.writer.copy,
                       self.header, [(n, p) for n, _t, p in chunk])

    @property
    def writing(self) -> bool:
        # After the first bad line of an all-or-nothing import nothing more is
        # written; validation goes on so every problem is reported at once.
        return self.skip_invalid or self.report.rejected == 0

    def reject(self, rejection: Rejection, raw: bytes) -> None:
        self.report.rejected += 1
        if len(self.report.rejections) < KEPT_REJECTIONS:
            self.report.rejections.append(rejection)
        if self.on_reject is not None:
            self.on_reject(rejection)
        if self.rejects is not None:
            self.rejects.add(rejection, raw)

    def _among(self, column: Any, keys: list[str]) -> Any:
        # One array parameter on PostgreSQL: 2,000 separate parameters cost more
        # to send and plan than the lookup itself.
        return one_of(column, keys, self.conn.dialect.name)

    def _existing(self, keys: list[str]) -> dict[str, tuple[str, str]]:
        model = Listing if self.kind == "listing" else Restriction
        key_col = getattr(model, self.key)
        stmt = select(key_col, model.status, model.court_code).where(self._among(key_col, keys))
        return {row[0]: (row[1], row[2]) for row in self.lookup.execute(stmt)}

    def _known_listings(self, ids: set[str]) -> set[str]:
        if not ids:
            return set()
        stmt = select(Listing.listing_id).where(self._among(Listing.listing_id, sorted(ids)))
        return set(self.lookup.execute(stmt).scalars())

    def take(self, outcomes: list[Prepared | Rejected], items: list[Item]) -> None:
        """Sort a prepared chunk into new rows, corrections and rejections."""
        self.report.lines += len(outcomes)
        fresh: list[Prepared] = []
        texts = {number: raw for number, raw, _payload in items}
        payloads = {number: payload for number, _raw, payload in items}
        for outcome in outcomes:
            if isinstance(outcome, Rejected):
                self.reject(outcome.rejection, texts[outcome.rejection.line])
            elif outcome.key in self.seen:
                reason = f"{outcome.key} appears more than once in this file"
                self.reject(Rejection(outcome.line, (FieldProblem(self.key, reason),)),
                            texts[outcome.line])
            else:
                self.seen.add(outcome.key)
                fresh.append(outcome)
        if not fresh:
            return
        existing = self._existing([p.key for p in fresh])
        links = self._known_listings({p.link for p in fresh if p.link})
        new: list[Prepared] = []
        for p in fresh:
            problem = None
            if p.link and p.link not in links:
                problem = FieldProblem("listing_id", f"no listing {p.link} exists")
            elif p.key in existing:
                status, court = existing[p.key]
                if status != "active":
                    reason = f"{p.key} is {status}; only an active record can be corrected"
                    problem = FieldProblem(self.key, reason)
                elif self.actor.court_code not in (None, court):
                    problem = FieldProblem(self.key, f"{p.key} belongs to court {court}")
                else:
                    self.corrections.append((p, texts[p.line], payloads[p.line]))
                    continue
            if problem is not None:
                self.reject(Rejection(p.line, (problem,)), texts[p.line])
            else:
                new.append(p)
        if self.writing and new:
            table, columns = (("listings", LISTING_COLUMNS) if self.kind == "listing"
                              else ("restrictions", RESTRICTION_COLUMNS))
            self.writer.write(table, columns, [p.main for p in new])
            self.writer.defer("bound_persons", PERSON_COLUMNS,
                              [row for p in new for row in p.persons])
            self.writer.stage_events([p.event for p in new])
            self.report.added += len(new)

    def apply_corrections(self) -> None:
        correct = (registry.correct_listing if self.kind == "listing"
                   else registry.correct_restriction)
        for p, text, payload in self.corrections:
            raw = parse_item(payload, self.header)
            try:
                if isinstance(raw, Rejection):  # pragma: no cover - it parsed in the worker
                    raise InvalidRecord(raw.problems)
                event = correct(self.session, p.key, raw, reason=self.correction_reason,
                                actor=self.actor, now=self.now, replace=True)
            except (InvalidRecord, Conflict, NotFound) as exc:  # pragma: no cover - prechecked
                problems = getattr(exc, "problems", (FieldProblem(self.key, str(exc)),))
                self.reject(Rejection(p.line, named_for(problems, self.header)), text)
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
    workers: int | None = None,
    on_progress: Callable[[int], None] | None = None,
    on_reject: Callable[[Rejection], None] | None = None,
) -> ImportReport:
    """Import ``source`` (``.jsonl``/``.ndjson`` or ``.csv``) in one transaction.

    ``workers`` is the number of preparing processes; by default one per core
    for a big file and none (inline) for a small one.
    """
    if kind not in KEYS:
        raise ValueError(f"unknown record kind {kind!r}")
    report = ImportReport(kind=kind, source=source.name)
    if source.suffix.lower() not in (".jsonl", ".ndjson", ".csv"):
        raise InvalidRecord([FieldProblem("FILE", f"{source.name}: expected .jsonl or .csv")])
    if workers is None:
        big = source.stat().st_size >= POOL_MIN_BYTES
        workers = (os.cpu_count() or 1) if big else 1
    try:
        _run(factory, source, kind, report, actor=actor, now=now, skip_invalid=skip_invalid,
             correction_reason=correction_reason, encoding=encoding, workers=workers,
             on_progress=on_progress, on_reject=on_reject)
    except _Abort:
        return report
    report.committed = True
    if report.added + report.corrected >= ANALYZE_AFTER:
        _analyze(factory, kind)
    return report


#: Rows an import must write before it refreshes the planner's statistics.
ANALYZE_AFTER: Final = 10_000
_ANALYZED: Final = {"listing": ("listings", "change_events"),
                    "restriction": ("restrictions", "bound_persons", "change_events")}


def _analyze(factory: sessionmaker[Session], kind: str) -> None:
    """After a bulk load PostgreSQL still plans for the tables it knew before (empty,
    on a first load) until autovacuum comes round: every /checks lookup would then
    scan. Sampling them now costs about a second at a million rows."""
    with session_scope(factory) as session:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(sql_text(f"ANALYZE {', '.join(_ANALYZED[kind])}"))


def _run(
    factory: sessionmaker[Session], source: Path, kind: str, report: ImportReport, *,
    actor: Actor, now: datetime, skip_invalid: bool, correction_reason: str, encoding: str,
    workers: int, on_progress: Callable[[int], None] | None,
    on_reject: Callable[[Rejection], None] | None,
) -> None:
    rejects: _Rejects | None = None
    try:
        with source.open("rb") as stream, _preparer(workers) as prepare, \
                session_scope(factory) as session:
            header: tuple[str, ...] | None = None
            header_bytes: bytes | None = None
            items: Iterator[Item]
            if source.suffix.lower() == ".csv":
                parsed = _read_csv(stream, encoding)
                header, header_bytes, items = (parsed.header_names, parsed.header_bytes,
                                               parsed.items)
                if problems := header_problems(header, FIELDS[kind]):
                    raise InvalidRecord(problems)
            else:
                items = _read_jsonl(stream)
            rejects = _Rejects(source, header_bytes) if skip_invalid else None
            importer = _Importer(
                session, kind, report, actor=actor, now=now,
                correction_reason=correction_reason, skip_invalid=skip_invalid,
                on_reject=on_reject, rejects=rejects, header=header,
            )
            chunks: deque[tuple[int, list[Item]]] = deque()
            try:
                done = 0
                for outcomes in prepare(importer.jobs(items, chunks, stream)):
                    position, chunk = chunks.popleft()
                    importer.take(outcomes, chunk)
                    if on_progress is not None:
                        on_progress(position - done)
                    done = position
                importer.writer.finish()
                if importer.writing:
                    importer.apply_corrections()
                if report.rejected and not skip_invalid:
                    raise _Abort
                importer.publish()
            except BaseException:
                importer.writer.discard()
                raise
            finally:
                importer.lookup.close()
            audit.record(
                session, actor=actor.name, action=f"{kind}s.import", target=source.name,
                detail={
                    "lines": report.lines, "added": report.added, "corrected": report.corrected,
                    "unchanged": report.unchanged, "rejected": report.rejected,
                    "first_seq": report.first_seq, "last_seq": report.last_seq,
                },
                at=now,
            )
    except BaseException:
        if rejects is not None:
            rejects.discard()
        raise
    # Committed: only now may this run's rejects replace those of an earlier one.
    if rejects is not None:
        rejects.keep()
        report.rejects_path = rejects.path
