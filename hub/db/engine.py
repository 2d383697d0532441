"""Engine and session construction; one engine per process, built from settings."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from sqlalchemy import ColumnElement, Engine, any_, cast, create_engine, event, literal
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    ArgumentError,
    NoSuchModuleError,
    OperationalError,
    ProgrammingError,
)
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    if not isinstance(dbapi_conn, sqlite3.Connection):  # pragma: no cover - driver guard
        return
    cur = dbapi_conn.cursor()
    # WAL lets readers (the partner API) go on while the importer writes;
    # busy_timeout makes a second writer wait instead of failing at once.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Build the engine for ``url``; creates the SQLite file's folder if needed."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


#: PostgreSQL's SQLSTATEs for a transaction that lost to a concurrent one: a deadlock,
#: a serialization failure, a lock not granted within ``lock_timeout``. The server rolled
#: the transaction back; the same command run again normally succeeds.
CONCURRENT_CHANGE_STATES: Final = frozenset({"40P01", "40001", "55P03"})


def explain_failure(exc: BaseException, url: str) -> str | None:
    """One line for an operator when ``exc`` is the database's, not the hub's: a schema
    that was never migrated, a server that cannot be reached, a URL no driver takes, a
    transaction that lost to a concurrent change of the same records.
    None for anything else (a bug shows its traceback)."""
    if isinstance(exc, NoSuchModuleError | ArgumentError):
        return f"HUB_DATABASE_URL: not a database URL this hub can use ({exc})"
    if not isinstance(exc, OperationalError | ProgrammingError):
        return None
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    # psycopg names the state ``sqlstate``; psycopg2 (not the hub's driver) ``pgcode``.
    state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if state in CONCURRENT_CHANGE_STATES:
        # Not "cannot use the database": the server is fine, this transaction lost a race
        # (two imports correcting the same records in opposite orders deadlock).
        return (f"another change to the same records was running at the same time "
                f"({reason}): this command's transaction was rolled back and nothing of "
                "it was written; run the command again")
    where = make_url(url).render_as_string(hide_password=True)
    if "no such table" in reason or ("relation" in reason and "does not exist" in reason):
        return f"the database {where} has no hub tables ({reason}): run `hub db upgrade`"
    if isinstance(exc, OperationalError):
        return f"cannot use the database {where}: {reason}"
    return None


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def one_of(column: ColumnElement[Any] | InstrumentedAttribute[Any], values: Sequence[Any],
           dialect: str) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL ``column = ANY(:array)``: one parameter, so the
    statement's text does not change with the count (psycopg can prepare it), and nothing
    is rendered per value (an IN of 100 values costs ~1 ms of compiling per request)."""
    if dialect == "postgresql":
        array = ARRAY(column.type)
        return column == any_(cast(literal(list(values), array), array))
    return column.in_(values)
