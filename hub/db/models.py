"""Typed table models of the registry, the change log, staff and the audit log.

Records keep their normalised import fields as columns, so the partner
projections and the real-time checks query them directly; the change log keeps
each record's full state after every change, so anything leaving the hub can be
rebuilt from it alone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# Constraint names are fixed so Alembic migrations are the same on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Json = JSON(none_as_null=True)


class JsonText(TypeDecorator[Any]):
    """JSON kept as plain text: the change log is written in bulk and read back
    whole, never queried inside, so PostgreSQL need not parse it on the way in
    (a fifth of the cost of a bulk import's final COPY)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else orjson.dumps(value).decode()

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else orjson.loads(value)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Counter(Base):
    """Named counters; the ``seq`` row is locked by every writer to order the log."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, nullable=False)


class ChangeEvent(Base):
    """One accepted change; ``seq`` is gap-free and increasing in commit order."""

    __tablename__ = "change_events"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(40))
    record_kind: Mapped[str] = mapped_column(String(16))  # listing | restriction
    record_key: Mapped[str] = mapped_column(String(64))
    #: The record's full state after the change (JSON-ready: ISO dates).
    state: Mapped[dict[str, Any]] = mapped_column(JsonText)
    reason: Mapped[str | None] = mapped_column(String(64))
    changed_fields: Mapped[list[str] | None] = mapped_column(Json)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(120))

    __table_args__ = (Index("ix_change_events_record", "record_kind", "record_key", "seq"),)


class _Subject:
    """Columns shared by listings and restrictions: who the debtor is."""

    subject_type: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    id_type: Mapped[str] = mapped_column(String(16))
    id_number: Mapped[str] = mapped_column(String(32), index=True)
    id_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    #: A USCC that fails its check character but the court confirmed: review it.
    id_suspect: Mapped[bool] = mapped_column(Boolean, default=False)
    gender: Mapped[str | None] = mapped_column(String(8))
    birth_date: Mapped[date | None] = mapped_column(Date)
    legal_representative: Mapped[dict[str, Any] | None] = mapped_column(Json)
    travel_documents: Mapped[list[dict[str, str]]] = mapped_column(Json, default=list)
    court_code: Mapped[str] = mapped_column(String(16), index=True)
    court_name: Mapped[str] = mapped_column(String(100))
    case_number: Mapped[str] = mapped_column(String(64))
    case_number_key: Mapped[str] = mapped_column(String(64), index=True)


class Listing(_Subject, Base):
    """An entry of the list of dishonest judgment defaulters (失信被执行人名单)."""

    __tablename__ = "listings"

    listing_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    filed_on: Mapped[date | None] = mapped_column(Date)
    basis_issuer: Mapped[str | None] = mapped_column(String(200))
    basis_number: Mapped[str | None] = mapped_column(String(100))
    obligation: Mapped[str] = mapped_column(Text)
    performance: Mapped[str] = mapped_column(String(16))
    behaviours: Mapped[list[str]] = mapped_column(Json)
    behaviour_label: Mapped[str | None] = mapped_column(String(200))
    security_covers_debt: Mapped[bool] = mapped_column(Boolean, default=False)
    decided_on: Mapped[date] = mapped_column(Date)
    listed_on: Mapped[date | None] = mapped_column(Date)
    term_months: Mapped[int | None] = mapped_column(Integer)
    extension_months: Mapped[int] = mapped_column(Integer, default=0)
    expires_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="active")
    status_reason: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (Index("ix_listings_status_expires_on", "status", "expires_on"),)


class Restriction(_Subject, Base):
    """A high-consumption restriction order (限制消费令)."""

    __tablename__ = "restrictions"

    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    issued_on: Mapped[date] = mapped_column(Date)
    categories: Mapped[list[str]] = mapped_column(Json)
    listing_id: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    status_reason: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)

    bound_persons: Mapped[list[BoundPerson]] = relationship(
        order_by="BoundPerson.position", cascade="all, delete-orphan", lazy="selectin"
    )
    exemptions: Mapped[list[Exemption]] = relationship(
        order_by="Exemption.id", cascade="all, delete-orphan", lazy="selectin"
    )


class BoundPerson(Base):
    """A natural person an organisation's restriction binds (legal representative, ...)."""

    __tablename__ = "bound_persons"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("restrictions.order_id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    id_number: Mapped[str] = mapped_column(String(32), index=True)
    role: Mapped[str] = mapped_column(String(32))
    released_on: Mapped[date | None] = mapped_column(Date)
    release_reason: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (UniqueConstraint("order_id", "id_number", "role", name="uq_bound_person"),)


class Exemption(Base):
    """A time-boxed temporary lifting of air/rail categories for one person."""

    __tablename__ = "exemptions"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("restrictions.order_id"), index=True)
    person: Mapped[str] = mapped_column(String(32))
    categories: Mapped[list[str]] = mapped_column(Json)
    from_date: Mapped[date] = mapped_column(Date)
    until_date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | ended

    __table_args__ = (Index("ix_exemptions_status_until", "status", "until_date"),)


class StaffAccount(Base):
    """A court staff member; changes only their own court's records."""

    __tablename__ = "staff_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    court_code: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(16))  # clerk | judge | admin
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AuditEntry(Base):
    """Append-only, hash-chained record of every staff, CLI and partner action."""

    __tablename__ = "audit_log"

    #: Gap-free, taken from the ``audit`` counter so the chain has one order.
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(128))
    detail: Mapped[dict[str, Any]] = mapped_column(Json)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class PartnerBatch(Base):
    """One batch written for a partner: its range, files, and whether it may go out."""

    __tablename__ = "partner_batches"

    batch_id: Mapped[str] = mapped_column(String(160), primary_key=True)
    partner: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # full | delta
    from_seq: Mapped[int] = mapped_column(BigInteger)
    to_seq: Mapped[int] = mapped_column(BigInteger)
    previous_batch_id: Mapped[str | None] = mapped_column(String(160))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: ready | held | released | sent | acknowledged
    status: Mapped[str] = mapped_column(String(16))
    counts: Mapped[dict[str, int]] = mapped_column(Json)
    files: Mapped[list[dict[str, Any]]] = mapped_column(Json)
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    held_reason: Mapped[str | None] = mapped_column(String(300))
    released_by: Mapped[str | None] = mapped_column(String(120))
    released_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: The folder its files are in: the outbox, or the outbox's ``held`` folder while
    #: the batch waits for an operator (None: written before the hub recorded it).
    folder: Mapped[str | None] = mapped_column(String(1000))
    #: :meth:`PartnerAdapter.shape_digest` when it was written (None: before the hub
    #: recorded it): a partner whose shape changed since gets a full batch next.
    shape_digest: Mapped[str | None] = mapped_column(String(64))
    #: The kid of the hub key that signed its manifest (None: before the hub recorded
    #: it): a key is not retired while a partner may still have to verify its batches.
    signed_by: Mapped[str | None] = mapped_column(String(64))


class PartnerProgress(Base):
    """Per partner: how far the log has been exported, delivered and acknowledged."""

    __tablename__ = "partner_progress"

    partner: Mapped[str] = mapped_column(String(32), primary_key=True)
    exported_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    delivered_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    acked_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_batch_id: Mapped[str | None] = mapped_column(String(160))
    #: Active rows the partner holds after the batches so far (the release gate's base).
    records: Mapped[int] = mapped_column(BigInteger, default=0)


class PartnerKey(Base):
    """A partner's registered public key for API tokens; ``kid`` is its RFC 7638 thumbprint."""

    __tablename__ = "partner_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    partner: Mapped[str] = mapped_column(String(32), index=True)
    algorithm: Mapped[str] = mapped_column(String(16))  # EdDSA | ES256
    public_jwk: Mapped[dict[str, str]] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class SeenToken(Base):
    """A partner token's ``jti`` already accepted: the database replay store."""

    __tablename__ = "seen_tokens"

    # Keyed per partner: one partner's jti values can never block another's.
    partner: Mapped[str] = mapped_column(String(32), primary_key=True)
    jti: Mapped[str] = mapped_column(String(255), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class PartnerAccess(Base):
    """What one partner API request handed out: one row per request, written after it.

    Enough to answer "who received this person's data, and when": a changes
    page names its seq range, a snapshot its seq, a check the hashed IDs asked.
    """

    __tablename__ = "partner_access"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    partner: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    #: changes | snapshot | checks
    endpoint: Mapped[str] = mapped_column(String(16))
    #: changes: events in ``(from_seq, to_seq]``; snapshot: ``to_seq`` is its seq.
    from_seq: Mapped[int | None] = mapped_column(BigInteger)
    to_seq: Mapped[int | None] = mapped_column(BigInteger)
    #: checks: space-separated keyed subject hashes (hub.core.subjects), all IDs asked.
    subjects: Mapped[str | None] = mapped_column(Text)
    #: checks: how many IDs asked and how many had a hit; changes/snapshot: rows sent.
    count: Mapped[int] = mapped_column(Integer, default=0)
    hits: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        Index("ix_partner_access_partner_at", "partner", "at"),
        Index("ix_partner_access_endpoint_to_seq", "endpoint", "to_seq"),
    )
