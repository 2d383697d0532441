"""The partner access record: what each partner received, and who received a person's data.

Written once per request (one row, hashed IDs), so the hot path pays one
INSERT; the question "who received this person's data, and when" is asked
rarely and may scan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import orjson
from sqlalchemy import Connection, Table, insert, or_, select
from sqlalchemy.orm import Session, sessionmaker

from hub.core.identifiers import normalise_id_number
from hub.core.subjects import subject_hash
from hub.db.engine import session_scope
from hub.db.models import BoundPerson, ChangeEvent, Listing, PartnerAccess, Restriction
from hub.partners.base import PartnerAdapter
from hub.partners.projection import Row

#: One statement for every request: the values are parameters, so it is compiled once
#: (an ORM ``insert().values(...)`` per request cost twice the CPU of the INSERT here).
_INSERT = insert(cast(Table, PartnerAccess.__table__))


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
    """:func:`log_access` in its own short transaction."""
    with session_scope(factory) as session:
        log_access(session, partner=partner, endpoint=endpoint, at=at, from_seq=from_seq,
                   to_seq=to_seq, subjects=subjects, count=count, hits=hits)


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


def _record_keys(session: Session, id_number: str) -> set[tuple[str, str]]:
    keys = {("listing", k) for k in session.scalars(
        select(Listing.listing_id).where(or_(
            Listing.id_number == id_number,
            # An organisation's listing names its legal representative.
            Listing.legal_representative["id_number"].as_string() == id_number)))}
    bound = select(BoundPerson.order_id).where(BoundPerson.id_number == id_number)
    keys |= {("restriction", k) for k in session.scalars(
        select(Restriction.order_id).where(
            or_(Restriction.id_number == id_number, Restriction.order_id.in_(bound))))}
    return keys


def who_received(session: Session, id_number: str,
                 adapters: Mapping[str, PartnerAdapter]) -> list[Disclosure]:
    """Every partner request that handed out data of the person or organisation ``id_number``.

    A changes page counts when it covered an event of one of their records
    that the partner's projection did not drop; a snapshot when one of their
    records was in the partner's active rows as of its seq; a check when the
    ID was asked and the partner's projection had an active row for it. The
    projection is re-run as the partner's adapter stands today.
    """
    id_number = normalise_id_number(id_number)
    keys = _record_keys(session, id_number)
    events = list(session.execute(
        select(ChangeEvent.seq, ChangeEvent.record_kind, ChangeEvent.record_key,
               ChangeEvent.state, ChangeEvent.at)
        .where(ChangeEvent.record_key.in_([k for _kind, k in keys]))
        .order_by(ChangeEvent.seq)
    )) if keys else []
    events = [e for e in events if (e.record_kind, e.record_key) in keys]
    out: list[Disclosure] = []
    hashed = subject_hash(id_number)
    accesses = session.scalars(
        select(PartnerAccess).where(or_(
            PartnerAccess.endpoint.in_(["changes", "snapshot"]),
            PartnerAccess.subjects.contains(hashed),
        )).order_by(PartnerAccess.at, PartnerAccess.id)
    )
    for access in accesses:
        adapter = adapters.get(access.partner)
        if adapter is None:
            continue
        found = _carried(access, events, adapter, id_number)
        if found:
            out.append(Disclosure(access.partner, access.at, access.endpoint,
                                  tuple(s for s, _k in found),
                                  tuple(dict.fromkeys(k for _s, k in found))))
    return out


def _names(rows: list[Row], id_number: str) -> bool:
    """Whether the rows a partner got hold ``id_number`` at all: an organisation's
    record reaches a partner without its representative's ID if its fields omit them."""
    return id_number.encode() in orjson.dumps(rows)


def _carried(access: PartnerAccess, events: list[Any], adapter: PartnerAdapter,
             id_number: str) -> list[tuple[int, str]]:
    if access.endpoint == "changes":
        lo, hi = access.from_seq or 0, access.to_seq or 0
        return [(e.seq, e.record_key) for e in events
                if lo < e.seq <= hi and _names(adapter.project(e.record_kind, e.state),
                                               id_number)]
    # snapshot and checks: the records' last state as of the snapshot's seq / the check's time.
    last: dict[tuple[str, str], Any] = {}
    for e in events:
        if (e.seq <= (access.to_seq or 0) if access.endpoint == "snapshot"
                else e.at <= access.at):
            last[(e.record_kind, e.record_key)] = e
    carried = []
    for e in last.values():
        active = [r for r in adapter.project(e.record_kind, e.state) if r["status"] == "active"]
        if active and _names(active, id_number):
            carried.append((e.seq, e.record_key))
    return carried
