"""The process-wide objects built from settings: engine and session factory."""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

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

    @classmethod
    def build(cls, settings: Settings) -> HubContext:
        engine = make_engine(
            settings.database_url, json_serializer=_json_dumps, json_deserializer=orjson.loads
        )
        return cls(settings, engine, make_sessionmaker(engine))
