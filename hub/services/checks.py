"""Real-time checks (``POST /checks``): is this ID under an active listing or restriction?

The answer is the caller's projection of each matching record, so a check
never shows a partner more than its feed would; one rule, kept in
:meth:`PartnerAdapter.project`.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, cast

import orjson
from sqlalchemy import Connection, Select, select, union
from sqlalchemy import Row as Row_
from sqlalchemy.orm import Session

from hub.core.identifiers import lookup_forms, normalise_id_number
from hub.core.records import listing_state, restriction_state
from hub.core.timeutil import court_date
from hub.db.engine import one_of
from hub.db.models import BoundPerson, Exemption, Listing, Restriction
from hub.partners.base import PartnerAdapter
from hub.partners.fields import MEASURE_CATEGORIES
from hub.partners.projection import Row
from hub.services.feed import high_water

MAX_SUBJECTS: Final = 1000


@dataclass(slots=True)
class SubjectResult:
    id_number: str
    matches: list[dict[str, Any]] = field(default_factory=list)


def _measures(adapter: PartnerAdapter, kind: str, categories: Iterable[str]) -> list[str]:
    """The caller's measures a record concerns: all of them for a listing (it implies
    every joint sanction); for a restriction, the consumption measures its categories
    reach (an order restricts consumption, nothing else)."""
    measures = adapter.config.measures
    if kind == "listing":
        return list(measures)
    cats = set(categories)
    return [m for m in measures if MEASURE_CATEGORIES.get(m, frozenset()) & cats]


def _exempted(state: Mapping[str, Any], person: str, today: str) -> set[str]:
    """Categories an exemption lifts for ``person`` today: an approved exemption whose
    window has not opened yet (or has closed, before the expiry job marks it) lifts
    nothing at the counter."""
    return {c for e in state.get("exemptions", ()) if e["status"] == "active"
            and e["person"] == person and e["from"] <= today <= e["until"]
            for c in e["categories"]}


def _match(adapter: PartnerAdapter, kind: str, state: Mapping[str, Any], row: Row,
           id_number: str, role: str | None, today: str) -> dict[str, Any]:
    categories = set(state.get("categories") or ()) - _exempted(state, id_number, today)
    match = {"matched_as": "bound_person" if role else "subject", **row,
             "measures": _measures(adapter, kind, categories)}
    if role:
        match["role"] = role
    return match


_listings = Listing.__table__
_orders = Restriction.__table__
_persons = BoundPerson.__table__
_exemptions = Exemption.__table__


def active_orders(ids: Sequence[str], dialect: str = "") -> Select[Any]:
    """Active orders whose subject or a bound person has one of ``ids``.

    A UNION of two index lookups, not ``id_number IN ids OR order_id IN (subquery)``:
    PostgreSQL can use no index for that OR and scans every order (~100 ms at 500k).
    """
    orders = union(
        select(_orders.c.order_id).where(one_of(_orders.c.id_number, ids, dialect)),
        select(_persons.c.order_id).where(one_of(_persons.c.id_number, ids, dialect)),
    )
    return select(_orders).where(_orders.c.status == "active", _orders.c.order_id.in_(orders))


def _values(row: Row_[Any]) -> Mapping[str, Any]:
    return cast(Mapping[str, Any], row._mapping)


def _by_order(conn: Connection, table: Any, order_ids: list[str], order: Any,
              dialect: str) -> dict[str, list[Mapping[str, Any]]]:
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    stmt = select(table).where(one_of(table.c.order_id, order_ids, dialect)).order_by(order)
    for row in conn.execute(stmt):
        grouped.setdefault(row.order_id, []).append(_values(row))
    return grouped


#: One statement, one round trip, for PostgreSQL: every active listing and order of the
#: asked IDs, each as the JSON of its row (an order's with its persons and exemptions),
#: parsed by orjson, and the log's high-water mark, which one statement's snapshot
#: reads consistently with the rows. Four statements through SQLAlchemy cost the
#: check about as much again in round trips, planning and row processing as the
#: lookups themselves. Exemptions carry the keys of the state (``from``/``until``).
_PG_RECORDS: Final = """
SELECT 'seq', value::text FROM counters WHERE name = 'seq'
UNION ALL
SELECT 'listing', to_json(l)::text FROM listings l
 WHERE l.id_number = ANY(%(ids)s) AND l.status = 'active'
UNION ALL
SELECT 'restriction', json_build_array(to_json(r),
  (SELECT coalesce(json_agg(p ORDER BY p.position), '[]') FROM bound_persons p
    WHERE p.order_id = r.order_id),
  (SELECT coalesce(json_agg(json_build_object(
      'id', e.id, 'person', e.person, 'categories', e.categories, 'from', e.from_date,
      'until', e.until_date, 'reason', e.reason, 'status', e.status) ORDER BY e.id), '[]')
    FROM exemptions e WHERE e.order_id = r.order_id))::text
  FROM restrictions r
 WHERE r.status = 'active' AND r.order_id IN (
   SELECT order_id FROM restrictions WHERE id_number = ANY(%(ids)s)
   UNION SELECT order_id FROM bound_persons WHERE id_number = ANY(%(ids)s))
"""

#: Active records of the asked IDs as (kind, state), and the seqs they were read between.
Found = tuple[list[tuple[str, dict[str, Any]]], tuple[int, int]]


def _records_pg(session: Session, ids: Sequence[str]) -> Found:
    raw: Any = session.connection().connection.driver_connection
    with raw.cursor() as cur:
        cur.execute(_PG_RECORDS, {"ids": list(ids)})
        rows = cur.fetchall()
    found: list[tuple[str, dict[str, Any]]] = []
    seq = 0
    for kind, text in rows:
        if kind == "seq":
            seq = int(text)
        elif kind == "listing":
            found.append((kind, listing_state(orjson.loads(text))))
        else:
            order, persons, exemptions = orjson.loads(text)
            found.append((kind, restriction_state(order, persons, exemptions)))
    return found, (seq, seq)


def records(session: Session, ids: Sequence[str]) -> Found:
    """Active listings and orders whose subject or a bound person has one of ``ids``:
    on PostgreSQL in one statement (:data:`_PG_RECORDS`), elsewhere portably."""
    if session.connection().dialect.name == "postgresql":
        return _records_pg(session, ids)
    before = high_water(session)
    found = list(portable_records(session, ids))
    # SQLite reads each statement as of its own moment: what was found lies between.
    return found, (before, high_water(session))


def portable_records(session: Session,
                     ids: Sequence[str]) -> Iterable[tuple[str, dict[str, Any]]]:
    """:func:`records` in portable SQL, the reference a test holds PostgreSQL's to.

    Core rows, not ORM objects: the check is the counter's hot path and building
    mapped objects (with their persons and exemptions) cost more than the SQL.
    """
    conn = session.connection()
    dialect = conn.dialect.name
    for row in conn.execute(select(_listings).where(
            one_of(_listings.c.id_number, ids, dialect), _listings.c.status == "active")):
        yield "listing", listing_state(_values(row))
    orders = list(conn.execute(active_orders(ids, dialect)))
    if not orders:
        return
    keys = [o.order_id for o in orders]
    persons = _by_order(conn, _persons, keys, _persons.c.position, dialect)
    exemptions = _by_order(conn, _exemptions, keys, _exemptions.c.id, dialect)
    for order in orders:
        yield "restriction", restriction_state(
            _values(order), persons.get(order.order_id, ()),
            [{"id": e["id"], "person": e["person"], "categories": e["categories"],
              "from": e["from_date"], "until": e["until_date"], "reason": e["reason"],
              "status": e["status"]} for e in exemptions.get(order.order_id, ())])


@dataclass(frozen=True, slots=True)
class CheckAnswer:
    #: One per asked ID, in the order asked, under the ID as it was sent (a client pairs
    #: them by position or by its own string); an ID asked twice is answered twice.
    results: list[SubjectResult]
    #: The IDs looked up: the asked ones as the registry stores them, each once, and the
    #: 18-digit form of each legacy 15-digit resident ID (what the access record hashes).
    looked_up: list[str]
    #: Distinct IDs asked (as the registry stores them), and how many of them matched.
    checked: int
    hits: int
    #: The change-log seqs the answer was read between (equal on PostgreSQL, where
    #: one statement reads it): the access record replays the log up to them.
    seqs: tuple[int, int]


def check_subjects(session: Session, adapter: PartnerAdapter, id_numbers: Sequence[str],
                   now: datetime | None = None) -> CheckAnswer:
    """One result per asked ID, each with the caller's active rows that concern it; an
    exit, a listing past its term or an out-of-scope record gives none. IDs are
    looked up as the registry stores them (full-width, spaces, case); a legacy 15-digit
    resident ID also finds the record of its 18-digit form (DOMAIN.md §2), as the
    registry converts it on the way in. Each is answered under the ID as asked."""
    if len(id_numbers) > MAX_SUBJECTS:
        raise ValueError(f"at most {MAX_SUBJECTS} subjects per check")
    today = court_date(now or datetime.now(UTC)).isoformat()
    stored = [normalise_id_number(i) for i in id_numbers]
    matches: dict[str, list[dict[str, Any]]] = {a: [] for a in stored}
    answers: dict[str, list[str]] = {}  # a form looked up -> the stored IDs it answers
    for a in matches:
        for form in lookup_forms(a):
            answers.setdefault(form, []).append(a)
    found, seqs = records(session, list(answers))
    for kind, state in found:
        for id_number, row, role in hits(adapter, kind, state, answers, today):
            match = _match(adapter, kind, state, row, id_number, role, today)
            for a in answers[id_number]:
                matches[a].append(match)
    results = [SubjectResult(sent, matches[a])
               for sent, a in zip(id_numbers, stored, strict=True)]
    return CheckAnswer(results, list(answers), len(matches), sum(1 for m in matches.values() if m),
                       seqs)


def hits(adapter: PartnerAdapter, kind: str, state: Mapping[str, Any],
         asked: Container[str], today: str | None) -> Iterator[tuple[str, Row, str | None]]:
    """What a check of the ``asked`` IDs on ``today`` (ISO court date) finds in one
    record state: each asked ID with the caller's active row that concerns it, and the
    role it is bound in (None for the record's own subject). The one rule of a check's
    answer, and of the access record's "was this person disclosed by that check".

    A listing whose term has run out (``expires_on`` before today) is in force no
    more, although the expiry job marks it only on its next run: the counter must not
    stop a person whose listing has ended because a night's job was missed (the job's
    own rule is in hub.services.expiry: change both together). (``today``
    None: without that rule, as checks were answered before it.)"""
    if (kind == "listing" and today is not None
            and (ends := state.get("expires_on")) is not None and ends < today):
        return
    # A person may be bound in two roles (legal representative and actual controller):
    # each binding is its own hit, with its own role.
    bindings = [(p["id_number"], p["role"]) for p in state.get("bound_persons", ())
                if p.get("released_on") is None]
    for row in adapter.project(kind, state):
        if row["status"] != "active":
            continue
        key = row["record_key"]
        if state["id_number"] in asked and "#" not in key:
            yield state["id_number"], row, None
        for pid, role in bindings:
            # A person-only partner gets one row per binding (key ORDER#role#ID); any
            # other gets the organisation's row, which binds them all.
            if pid in asked and ("#" not in key or key.endswith(f"#{role}#{pid}")):
                yield pid, row, role

