"""Registry writes: every accepted change to a record appends one change event.

Each public function runs inside the caller's transaction and appends exactly
one event with the record's full state after the change, plus one audit entry,
so the record, its event and its audit trail commit or vanish together.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from hub.core.records import (
    changed_fields,
    listing_state,
    restriction_state,
    to_import_shape,
)
from hub.core.rules import (
    LISTING_FIELDS,
    RESTRICTION_FIELDS,
    check_reason,
    validate_exemption,
    validate_listing,
    validate_restriction,
)
from hub.core.text import unstorable
from hub.core.timeutil import court_date
from hub.db.models import BoundPerson, ChangeEvent, Exemption, Listing, Restriction
from hub.errors import Conflict, FieldProblem, InvalidRecord, InvalidValue, NotFound
from hub.services import audit
from hub.services.actors import Actor
from hub.services.feed import append_event
from hub.services.ids import new_record_id


def _reason(kind: str, code: str) -> str:
    try:
        return check_reason(kind, code)
    except InvalidValue as exc:
        raise InvalidRecord([FieldProblem("reason", str(exc))]) from exc


# -- listings -----------------------------------------------------------------


def get_listing(session: Session, listing_id: str, *, lock: bool = False) -> Listing:
    # A key no record can hold names none (and PostgreSQL would refuse to look it up).
    listing = (None if unstorable(listing_id)
               else session.get(Listing, listing_id, with_for_update=lock or None))
    if listing is None:
        raise NotFound(f"no listing {listing_id}")
    return listing


def listing_values(listing: Listing) -> dict[str, Any]:
    return {name: getattr(listing, name) for name in (*LISTING_FIELDS, "status", "status_reason")}


def _listing_event(
    session: Session, listing: Listing, type: str, actor: Actor, now: datetime,
    *, reason: str | None = None, changed: list[str] | None = None,
) -> ChangeEvent:
    event = append_event(
        session, type=type, record_kind="listing", record_key=listing.listing_id,
        state=listing_state(listing_values(listing)), actor=actor.name, at=now,
        reason=reason, changed=changed,
    )
    detail: dict[str, Any] = {"seq": event.seq}
    if reason:
        detail["reason"] = reason
    if changed:
        detail["changed"] = changed
    audit.record(session, actor=actor.name, action=type, target=listing.listing_id,
                 detail=detail, at=now)
    return event


def add_listing(
    session: Session, raw: Mapping[str, Any], *, actor: Actor, now: datetime
) -> Listing:
    values = validate_listing(raw, today=court_date(now))
    actor.check_court(values["court_code"])
    listing_id = values["listing_id"] or new_record_id("L", now)
    if session.get(Listing, listing_id) is not None:
        raise Conflict(f"listing {listing_id} already exists; send a correction instead")
    values["listing_id"] = listing_id
    listing = Listing(**values, status="active", status_reason=None, version=1)
    session.add(listing)
    session.flush()
    _listing_event(session, listing, "listing.added", actor, now)
    return listing


def _require_active(kind: str, key: str, status: str, action: str) -> None:
    if status != "active":
        raise Conflict(f"{kind} {key} is {status}; only an active {kind} can be {action}")


def correct_listing(
    session: Session, listing_id: str, changes: Mapping[str, Any], *,
    reason: str, actor: Actor, now: datetime, replace: bool = False,
) -> ChangeEvent | None:
    """Apply corrected fields; returns ``None`` when nothing actually changed.

    With ``replace`` the changes are the whole new record (an import line),
    so a field left out is cleared rather than kept.
    """
    reason = _reason("correction", reason)
    listing = get_listing(session, listing_id, lock=True)
    actor.check_court(listing.court_code)
    _require_active("listing", listing_id, listing.status, "corrected")
    if "listing_id" in changes and changes["listing_id"] != listing_id:
        raise InvalidRecord([FieldProblem("listing_id", "a listing's id cannot be corrected")])
    before = listing_values(listing)
    raw = {} if replace else to_import_shape(before, LISTING_FIELDS)
    raw.update(changes)
    values = validate_listing(raw, today=court_date(now))
    actor.check_court(values["court_code"])
    after = {**values, "status": listing.status, "status_reason": listing.status_reason}
    changed = changed_fields(listing_state(before), listing_state(after))
    if not changed:
        return None
    for name in LISTING_FIELDS:
        setattr(listing, name, values[name])
    listing.version += 1
    return _listing_event(session, listing, "listing.corrected", actor, now,
                          reason=reason, changed=changed)


def remove_listing(
    session: Session, listing_id: str, *, reason: str, actor: Actor, now: datetime
) -> ChangeEvent:
    """Delete from the list (删除) on one of the Art. 10 grounds."""
    reason = _reason("removal", reason)
    listing = get_listing(session, listing_id, lock=True)
    actor.check_court(listing.court_code)
    _require_active("listing", listing_id, listing.status, "removed")
    listing.status, listing.status_reason = "removed", reason
    listing.version += 1
    return _listing_event(session, listing, "listing.removed", actor, now, reason=reason)


def revoke_listing(
    session: Session, listing_id: str, *, actor: Actor, now: datetime,
    reason: str = "wrongly_listed",
) -> ChangeEvent:
    """Revoke (撤销): the person should never have been listed.

    Allowed after a removal or expiry too: partners treat "never valid"
    differently from "no longer valid" (a past refusal may need review).
    """
    reason = _reason("revocation", reason)
    listing = get_listing(session, listing_id, lock=True)
    actor.check_court(listing.court_code)
    if listing.status == "revoked":
        raise Conflict(f"listing {listing_id} is already revoked")
    listing.status, listing.status_reason = "revoked", reason
    listing.version += 1
    return _listing_event(session, listing, "listing.revoked", actor, now, reason=reason)


def expire_listing(
    session: Session, listing: Listing, *, actor: Actor, now: datetime
) -> ChangeEvent:
    """Mark a listing whose term has run out; the caller chose it as due."""
    listing.status, listing.status_reason = "expired", "term_ended"
    listing.version += 1
    return _listing_event(session, listing, "listing.expired", actor, now, reason="term_ended")


# -- restrictions ---------------------------------------------------------------


def get_restriction(session: Session, order_id: str, *, lock: bool = False) -> Restriction:
    restriction = (None if unstorable(order_id)
                   else session.get(Restriction, order_id, with_for_update=lock or None))
    if restriction is None:
        raise NotFound(f"no restriction order {order_id}")
    return restriction


def _person_values(p: BoundPerson) -> dict[str, Any]:
    return {"name": p.name, "id_number": p.id_number, "role": p.role,
            "released_on": p.released_on, "release_reason": p.release_reason}


def _exemption_values(e: Exemption) -> dict[str, Any]:
    return {"id": e.id, "person": e.person, "categories": e.categories, "from": e.from_date,
            "until": e.until_date, "reason": e.reason, "status": e.status}


def restriction_values(r: Restriction) -> dict[str, Any]:
    values = {name: getattr(r, name) for name in RESTRICTION_FIELDS if name != "bound_persons"}
    values["bound_persons"] = [_person_values(p) for p in r.bound_persons]
    values["status"], values["status_reason"] = r.status, r.status_reason
    return values


def current_restriction_state(r: Restriction) -> dict[str, Any]:
    return restriction_state(
        restriction_values(r),
        [_person_values(p) for p in r.bound_persons],
        [_exemption_values(e) for e in r.exemptions],
    )


def _restriction_event(
    session: Session, r: Restriction, type: str, actor: Actor, now: datetime,
    *, reason: str | None = None, changed: list[str] | None = None,
    detail: dict[str, Any] | None = None,
) -> ChangeEvent:
    session.flush()
    session.refresh(r, ["bound_persons", "exemptions"])
    event = append_event(
        session, type=type, record_kind="restriction", record_key=r.order_id,
        state=current_restriction_state(r), actor=actor.name, at=now,
        reason=reason, changed=changed,
    )
    audit_detail: dict[str, Any] = {"seq": event.seq, **(detail or {})}
    if reason:
        audit_detail["reason"] = reason
    if changed:
        audit_detail["changed"] = changed
    audit.record(session, actor=actor.name, action=type, target=r.order_id,
                 detail=audit_detail, at=now)
    return event


def _check_listing_link(session: Session, listing_id: str | None) -> None:
    if listing_id is not None and session.get(Listing, listing_id) is None:
        raise InvalidRecord([FieldProblem("listing_id", f"no listing {listing_id} exists")])


def _bound_persons(values: Mapping[str, Any]) -> list[BoundPerson]:
    return [
        BoundPerson(position=i, name=p["name"], id_number=p["id_number"], role=p["role"])
        for i, p in enumerate(values["bound_persons"], start=1)
    ]


def issue_restriction(
    session: Session, raw: Mapping[str, Any], *, actor: Actor, now: datetime
) -> Restriction:
    values = validate_restriction(raw, today=court_date(now))
    actor.check_court(values["court_code"])
    _check_listing_link(session, values["listing_id"])
    order_id = values["order_id"] or new_record_id("R", now)
    if session.get(Restriction, order_id) is not None:
        raise Conflict(f"restriction order {order_id} already exists; send a correction instead")
    scalars = {k: v for k, v in values.items() if k != "bound_persons"}
    scalars["order_id"] = order_id
    r = Restriction(**scalars, status="active", status_reason=None, version=1)
    r.bound_persons = _bound_persons(values)
    session.add(r)
    _restriction_event(session, r, "restriction.issued", actor, now)
    return r


def correct_restriction(
    session: Session, order_id: str, changes: Mapping[str, Any], *,
    reason: str, actor: Actor, now: datetime, replace: bool = False,
) -> ChangeEvent | None:
    """Apply corrected fields (or, with ``replace``, a whole new record)."""
    reason = _reason("correction", reason)
    r = get_restriction(session, order_id, lock=True)
    actor.check_court(r.court_code)
    _require_active("restriction order", order_id, r.status, "corrected")
    if "order_id" in changes and changes["order_id"] != order_id:
        raise InvalidRecord([FieldProblem("order_id", "an order's id cannot be corrected")])
    before_state = current_restriction_state(r)
    raw: dict[str, Any] = {}
    if not replace:
        raw = to_import_shape(restriction_values(r), RESTRICTION_FIELDS)
        raw["bound_persons"] = [
            {"name": p.name, "id_number": p.id_number, "role": p.role} for p in r.bound_persons
        ]
    raw.update(changes)
    values = validate_restriction(raw, today=court_date(now))
    actor.check_court(values["court_code"])
    _check_listing_link(session, values["listing_id"])
    released = {(p.id_number, p.role): p for p in r.bound_persons if p.released_on}
    persons = _bound_persons(values)
    for person in persons:
        old = released.get((person.id_number, person.role))
        if old is not None:  # a correction must not undo a release
            person.released_on, person.release_reason = old.released_on, old.release_reason
    after_values = {**values, "status": r.status, "status_reason": r.status_reason}
    after_values["bound_persons"] = [_person_values(p) for p in persons]
    after_state = restriction_state(
        after_values, after_values["bound_persons"], [_exemption_values(e) for e in r.exemptions]
    )
    changed = changed_fields(before_state, after_state)
    if not changed:
        return None
    for name in RESTRICTION_FIELDS:
        if name != "bound_persons":
            setattr(r, name, values[name])
    if "bound_persons" in changed:
        r.bound_persons = []
        session.flush()  # delete the old rows before the unique (order, id, role) rows return
        r.bound_persons = persons
    r.version += 1
    return _restriction_event(session, r, "restriction.corrected", actor, now,
                              reason=reason, changed=changed)


def lift_restriction(
    session: Session, order_id: str, *, reason: str, actor: Actor, now: datetime
) -> ChangeEvent:
    reason = _reason("lift", reason)
    r = get_restriction(session, order_id, lock=True)
    actor.check_court(r.court_code)
    _require_active("restriction order", order_id, r.status, "lifted")
    r.status, r.status_reason = "lifted", reason
    r.version += 1
    return _restriction_event(session, r, "restriction.lifted", actor, now, reason=reason)


def release_person(
    session: Session, order_id: str, id_number: str, *, reason: str, actor: Actor,
    now: datetime,
) -> ChangeEvent:
    """Release a former legal representative (2019 opinion Art. 17) from an order."""
    reason = _reason("release", reason)
    r = get_restriction(session, order_id, lock=True)
    actor.check_court(r.court_code)
    _require_active("restriction order", order_id, r.status, "changed")
    matches = [p for p in r.bound_persons if p.id_number == id_number and p.released_on is None]
    if not matches:
        raise NotFound(f"order {order_id} binds no unreleased person {id_number}")
    for person in matches:
        person.released_on, person.release_reason = court_date(now), reason
    r.version += 1
    return _restriction_event(session, r, "restriction.person_released", actor, now,
                              reason=reason, detail={"person": id_number})


def grant_exemption(
    session: Session, order_id: str, raw: Mapping[str, Any], *, actor: Actor, now: datetime
) -> Exemption:
    """Temporarily lift air/rail categories for one person (at most one month)."""
    r = get_restriction(session, order_id, lock=True)
    actor.check_court(r.court_code)
    _require_active("restriction order", order_id, r.status, "exempted")
    values = validate_exemption(raw, restriction=current_restriction_state(r),
                                today=court_date(now))
    exemption = Exemption(
        order_id=order_id, person=values["person"], categories=values["categories"],
        from_date=values["from"], until_date=values["until"], reason=values["reason"],
        status="active",
    )
    r.exemptions.append(exemption)
    r.version += 1
    _restriction_event(session, r, "restriction.exempted", actor, now, reason=values["reason"])
    return exemption


def end_exemption(
    session: Session, exemption: Exemption, *, actor: Actor, now: datetime
) -> ChangeEvent:
    """Close an exemption whose window has passed; the caller chose it as due."""
    exemption.status = "ended"
    r = get_restriction(session, exemption.order_id, lock=True)
    r.version += 1
    return _restriction_event(session, r, "restriction.exemption_ended", actor, now,
                              reason="window_ended", detail={"exemption": exemption.id})

