"""The process-wide objects built from settings: engine, session factory, ID hasher."""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from hub.core.subjects import SubjectHasher
from hub.db.engine import make_engine, make_sessionmaker
from hub.settings import Settings


def _json_dumps(value: object) -> str:
    return orjson.dumps(value).decode()


@dataclass(frozen=True, slots=True)
class HubContext:
    """What every entry point (web, CLI, job) needs; built once per process."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    #: The access record's keyed ID hashes (``Settings.subject_hash_key``).
    subjects: SubjectHasher

    @classmethod
    def build(cls, settings: Settings) -> HubContext:
        engine = make_engine(
            settings.database_url, json_serializer=_json_dumps, json_deserializer=orjson.loads
        )
        return cls(settings, engine, make_sessionmaker(engine),
                   SubjectHasher(settings.subject_hash_key()))
