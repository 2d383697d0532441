"""The partner access record: what each partner received, and who received a person's data.

Written once per request (one row, hashed IDs), so the hot path pays one
INSERT; the question "who received this person's data, and when" is asked
rarely and may scan.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import orjson
from sqlalchemy import Connection, Text, cast, insert, or_, select
from sqlalchemy.orm import Session, sessionmaker

from hub.core.identifiers import lookup_forms, normalise_id_number
from hub.core.subjects import SubjectHasher, legacy_subject_hash
from hub.core.timeutil import court_date
from hub.db.engine import session_scope
from hub.db.models import ChangeEvent, PartnerAccess
from hub.partners.base import PartnerAdapter
from hub.partners.projection import Row
from hub.services.changes import event_rows
from hub.services.checks import hits as check_hits
from hub.services.progress import mark_delivered
from hub.services.snapshots import record_delta

#: One statement for every request: the values are parameters, so it is compiled once
#: (an ORM ``insert().values(...)`` per request cost twice the CPU of the INSERT here).
_INSERT = insert(PartnerAccess.__table__)  # type: ignore[arg-type]


def log_access(db: Session | Connection, *, partner: str, endpoint: str, at: datetime,
               from_seq: int | None = None, to_seq: int | None = None,
               subjects: str | None = None, count: int = 0, hits: int = 0) -> None:
    """One row for one request, in the caller's transaction: what the partner is handed
    is then on record if and only if the transaction that read it commits."""
    conn = db.connection() if isinstance(db, Session) else db
    conn.execute(_INSERT, {"partner": partner, "endpoint": endpoint, "at": at,
                           "from_seq": from_seq, "to_seq": to_seq, "subjects": subjects,
                           "count": count, "hits": hits})


def record_access(factory: sessionmaker[Session], *, partner: str, endpoint: str, at: datetime,
                  from_seq: int | None = None, to_seq: int | None = None,
                  subjects: str | None = None, count: int = 0, hits: int = 0) -> None:
    """:func:`log_access` in its own short transaction; what the partner was handed of
    the log (a page, a snapshot: ``to_seq``) moves its ``delivered_seq`` in it too."""
    with session_scope(factory) as session:
        log_access(session, partner=partner, endpoint=endpoint, at=at, from_seq=from_seq,
                   to_seq=to_seq, subjects=subjects, count=count, hits=hits)
        if to_seq is not None:
            mark_delivered(session, partner, to_seq)


@dataclass(frozen=True, slots=True)
class Disclosure:
    """One time a partner received (or was told about) a person's data."""

    partner: str
    at: datetime
    #: changes | snapshot | checks
    endpoint: str
    #: The event seqs, or the snapshot seq, that carried the person's records.
    seqs: tuple[int, ...]
    record_keys: tuple[str, ...]


def _names_person(state: Mapping[str, Any], forms: Collection[str]) -> bool:
    """Whether a record state is about the person of ``forms``: its subject, an
    organisation's legal representative, or a person an order binds."""
    representative = state.get("legal_representative") or {}
    return (state.get("id_number") in forms
            or representative.get("id_number") in forms
            or any(p.get("id_number") in forms for p in state.get("bound_persons") or ()))


def _record_keys(session: Session, forms: Collection[str]) -> set[tuple[str, str]]:
    """Every record that named the person in any state the log holds: a correction that
    took the ID away (or a bound person off an order) does not undo what was sent."""
    candidates = session.execute(
        select(ChangeEvent.record_kind, ChangeEvent.record_key, ChangeEvent.state)
        .where(or_(*(cast(ChangeEvent.state, Text).contains(f) for f in forms))))
    return {(kind, key) for kind, key, state in candidates if _names_person(state, forms)}


def who_received(session: Session, id_number: str, adapters: Mapping[str, PartnerAdapter],
                 subjects: SubjectHasher) -> list[Disclosure]:
    """Every partner request or batch file that handed out data of ``id_number``.

    A changes page counts when it sent an event of one of their records (any that
    ever named the ID) whose rows name it, by the feed's rule; a delta batch when its
    net effect on such a record names it, by the delta's rule; a snapshot or a full
    batch when one of their records was in the partner's active rows as of its seq;
    a check when the ID was asked and the check's own rule
    (:func:`hub.services.checks.hits`) matched it as of the seqs the check was read
    at. The projection is re-run as the partner's adapter stands today. A batch
    counts once written, held or not. A 15-digit number stands for itself and for
    the 18-digit resident ID it is the legacy form of, as at the counter. A check's
    row is found by the ID's keyed hash (``subjects``, the hub's key) or, for rows
    written before hashes were keyed, by its plain one.
    """
    forms = lookup_forms(normalise_id_number(id_number))
    hashed = [h for f in forms for h in (subjects(f), legacy_subject_hash(f))]
    keys = _record_keys(session, forms)
    events = list(session.execute(
        select(ChangeEvent.seq, ChangeEvent.record_kind, ChangeEvent.record_key,
               ChangeEvent.state, ChangeEvent.at)
        .where(ChangeEvent.record_key.in_([k for _kind, k in keys]))
        .order_by(ChangeEvent.seq)
    )) if keys else []
    events = [e for e in events if (e.record_kind, e.record_key) in keys]
    out: list[Disclosure] = []
    accesses = session.scalars(
        select(PartnerAccess).where(or_(
            PartnerAccess.endpoint.in_(_RANGES),
            *(PartnerAccess.subjects.contains(h) for h in hashed),
        )).order_by(PartnerAccess.at, PartnerAccess.id)
    )
    for access in accesses:
        adapter = adapters.get(access.partner)
        if adapter is None:
            continue
        found = _carried(access, events, adapter, forms)
        if found:
            out.append(Disclosure(access.partner, access.at, access.endpoint,
                                  tuple(s for s, _k in found),
                                  tuple(dict.fromkeys(k for _s, k in found))))
    return out


def _names(rows: list[Row], forms: Collection[str]) -> bool:
    """Whether the rows a partner got hold the person's ID at all: an organisation's
    record reaches a partner without its representative's ID if its fields omit them."""
    dumped = orjson.dumps(rows)
    return any(f.encode() in dumped for f in forms)


#: Endpoints whose access rows carry a range of the log (a page, a delta batch) or a
#: seq as of which a whole list went out (a snapshot, a full batch).
_RANGES: Final = ("changes", "snapshot", "delta", "full")


def _carried(access: PartnerAccess, events: list[Any], adapter: PartnerAdapter,
             forms: Collection[str]) -> list[tuple[int, str]]:
    if access.endpoint == "changes":
        # The page's events as the feed sent them: one that changed none of the
        # partner's rows was not sent (hub.services.changes.event_rows).
        lo, hi = access.from_seq or 0, access.to_seq or 0
        before: dict[tuple[str, str], Any] = {}
        sent = []
        for e in events:
            key = (e.record_kind, e.record_key)
            if lo < e.seq <= hi and _names(
                    event_rows(adapter, e.record_kind, before.get(key), e.state), forms):
                sent.append((e.seq, e.record_key))
            before[key] = e.state
        return sent
    if access.endpoint == "delta":
        return _in_delta(access, events, adapter, forms)
    if access.endpoint == "checks":
        return _checked(access, events, adapter, forms)
    # A snapshot or a full batch: the records' last state as of its seq.
    last: dict[tuple[str, str], Any] = {}
    for e in events:
        if e.seq <= (access.to_seq or 0):
            last[(e.record_kind, e.record_key)] = e
    carried = []
    for e in last.values():
        active = [r for r in adapter.project(e.record_kind, e.state) if r["status"] == "active"]
        if active and _names(active, forms):
            carried.append((e.seq, e.record_key))
    return carried


def _in_delta(access: PartnerAccess, events: list[Any], adapter: PartnerAdapter,
              forms: Collection[str]) -> list[tuple[int, str]]:
    """The records a delta file carried naming the person: its net effect from each
    record's state as of the batch's start to its last state in the batch's range, by
    the delta's own rule (hub.services.snapshots.record_delta)."""
    lo, hi = access.from_seq or 0, access.to_seq or 0
    start: dict[tuple[str, str], Any] = {}
    last: dict[tuple[str, str], Any] = {}
    for e in events:
        key = (e.record_kind, e.record_key)
        if e.seq <= lo:
            start[key] = e.state
        elif e.seq <= hi:
            last[key] = e
    return [(e.seq, e.record_key) for key, e in last.items()
            if _names([d.row for d in record_delta(adapter, e.record_kind, start.get(key),
                                                   e.state)], forms)]


def _checked(access: PartnerAccess, events: list[Any], adapter: PartnerAdapter,
             forms: Collection[str]) -> list[tuple[int, str]]:
    """What a check answered about the person, by the check's own rule, from each
    record's state as the check read it: as of the seqs the check was read between,
    any state in that span counting (on SQLite the lookups are separate reads; on
    PostgreSQL the span is one seq). A check logged before the seqs were kept is
    placed by time, which an event committed after its ``at`` can mislead, and judged
    by the rule it was answered under."""
    lo, hi = access.from_seq, access.to_seq
    # Rows without seqs were answered before checks left out listings past their term.
    today = court_date(access.at).isoformat() if lo is not None else None
    last: dict[tuple[str, str], Any] = {}
    during: list[Any] = []
    for e in events:
        if (e.seq <= lo) if lo is not None else (e.at <= access.at):
            last[(e.record_kind, e.record_key)] = e
        elif lo is not None and hi is not None and e.seq <= hi:
            during.append(e)
    carried = []
    for e in [*last.values(), *during]:
        if any(True for _ in check_hits(adapter, e.record_kind, e.state, set(forms), today)):
            carried.append((e.seq, e.record_key))
    return carried
