"""Typed errors of the hub; every failure a caller may act on is one of these."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class HubError(Exception):
    """Root of every error the hub raises on purpose."""


class InvalidValue(HubError):
    """One value is wrong; the message is the reason, in a clerk's words.

    Raised by the pure identifier and rule helpers, which do not know the
    field name; the caller wraps it into an :class:`InvalidRecord`.
    """


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """A single rejection: which field, and why."""

    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


class InvalidRecord(HubError):
    """A record was refused; carries every problem found, not only the first."""

    def __init__(self, problems: Iterable[FieldProblem]) -> None:
        self.problems: tuple[FieldProblem, ...] = tuple(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


class NotFound(HubError):
    """The record, partner or account named does not exist."""


class Conflict(HubError):
    """The action does not fit the record's current state (e.g. removing twice)."""


class PermissionDenied(HubError):
    """The actor may not do this (another court's record, wrong role)."""


class ConfigError(HubError):
    """A settings or partner configuration problem, named with its source."""


class AuthError(HubError):
    """A credential failed a check; the message names the check."""


class Unavailable(HubError):
    """A backing service (Redis, an SFTP server) cannot be reached right now."""
