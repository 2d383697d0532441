"""The typed partner configuration and its validation from a parsed TOML document."""

from __future__ import annotations

import base64
import binascii
import difflib
import ipaddress
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from types import MappingProxyType
from typing import Any, Final, Literal, TypeVar, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.errors import ConfigError
from hub.exporters import ENCODINGS as FORMAT_ENCODINGS
from hub.partners.fields import (
    ALWAYS_FIELDS,
    FIELDS_BY_MEASURE,
    LISTING_FIELDS,
    MEASURES,
    PROJECTED_FIELDS,
    RESTRICTION_FIELDS,
)

FORMATS: Final = ("jsonl", "xml", "csv")
#: Fields only one kind of subject has: a partner that never receives that kind has
#: no use for them (an organisation's representative and bound persons reach a
#: person-only partner as persons of their own, never as the organisation's fields).
PERSON_ONLY_FIELDS: Final = frozenset({"gender", "birth_date", "travel_documents"})
ORGANISATION_ONLY_FIELDS: Final = frozenset({"legal_representative", "bound_persons"})
ENCODINGS: Final = ("utf-8", "gb18030")
RECORD_TYPES: Final = ("listing", "restriction")
SUBJECTS: Final = ("person", "organisation")
ALGORITHMS: Final = ("EdDSA", "ES256")
WEEKDAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
FULL_EVERY: Final = ("daily", *WEEKDAYS, "never")
#: Host key type -> the key type written inside its blob (RSA signs with SHA-2
#: under its own algorithm names but the key blob still says ``ssh-rsa``).
HOST_KEY_TYPES: Final[Mapping[str, str]] = MappingProxyType({
    "ssh-ed25519": "ssh-ed25519",
    "ecdsa-sha2-nistp256": "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384": "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521": "ecdsa-sha2-nistp521",
    "rsa-sha2-256": "ssh-rsa",
    "rsa-sha2-512": "ssh-rsa",
    "ssh-rsa": "ssh-rsa",
})

_ID_RE: Final = re.compile(r"[a-z][a-z0-9_]*")
_NAME: Final = r"[A-Za-z_][A-Za-z0-9_]*"
_ADAPTER_RE: Final = re.compile(rf"{_NAME}(\.{_NAME})*:{_NAME}")
_ENV_NAME_RE: Final = re.compile(r"[A-Z_][A-Z0-9_]*")
_RATE_RE: Final = re.compile(r"[1-9][0-9]*/(second|minute|hour|day)")
_HOST_LABEL_RE: Final = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_USERNAME_RE: Final = re.compile(r"[A-Za-z0-9._][A-Za-z0-9._-]*")
#: Found in every PEM and OpenSSH private key; never a secret itself.
_SECRET_MARK: Final = "PRIVATE KEY"  # noqa: S105


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One mistake in a partner file: where, which key, and why."""

    source: str
    key: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.key}: {self.reason}"


class PartnerConfigError(ConfigError):
    """Partner configuration refused; carries every problem of every file, one per line."""

    def __init__(self, problems: Iterable[ConfigProblem]) -> None:
        self.problems: tuple[ConfigProblem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True, slots=True)
class Scope:
    """What a partner receives: record types, subject types and projected fields."""

    records: tuple[str, ...]
    subjects: tuple[str, ...]
    #: In the order of the file, which is the column order of CSV exports.
    fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """The partner's pull channel; its keys are registered in the database."""

    enabled: bool = False
    algorithm: Literal["EdDSA", "ES256"] = "EdDSA"
    #: ``N/second|minute|hour|day``.
    rate_limit: str = "600/minute"


@dataclass(frozen=True, slots=True)
class SftpSettings:
    """The partner's batch channel: where and when the hub pushes files."""

    enabled: bool = False
    host: str = ""
    port: int = 22
    username: str = "hub"
    #: ``env:NAME`` or ``file:relative/path`` under the instance folder; never the key.
    private_key: str = ""
    #: ``<type> <base64>``, pinned; empty only while the channel is disabled.
    host_key: str = ""
    inbox: str = "/inbound"
    outbox: str = "/outbound"
    schedule: str = "0 2 * * *"
    timezone: str = "Asia/Shanghai"
    full_every: str = "sunday"


@dataclass(frozen=True, slots=True)
class ReleaseGate:
    """Hold a batch for review when it would change too much of a partner's list at once."""

    max_removed_share: float = 0.05
    max_added_share: float = 0.05
    #: Below this many current records the gate stays open: small lists swing widely.
    min_records: int = 1000


@dataclass(frozen=True, slots=True)
class PartnerConfig:
    """One partner, validated; built only by :func:`parse_partner`."""

    id: str
    name: str
    name_en: str
    measures: tuple[str, ...]
    adapter: str | None
    format: str
    encoding: str
    scope: Scope
    api: ApiSettings
    sftp: SftpSettings
    release_gate: ReleaseGate
    #: Who receives the data today, after the 2018 reorganisation.
    receiving_body: str | None
    #: Free ``[options]`` table for the adapter's own settings.
    options: Mapping[str, Any]
    #: The file(s) it was read from, for messages.
    source: str

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(name for name, on in (("api", self.api.enabled),
                                           ("sftp", self.sftp.enabled)) if on)


# --- small validators, public so the loader and tests can reuse them --------------------

_CRON_FIELDS: Final = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, ("jan", "feb", "mar", "apr", "may", "jun",
                      "jul", "aug", "sep", "oct", "nov", "dec")),
    # 0 and 7 are both Sunday, as in every cron.
    ("day of week", 0, 7, ("sun", "mon", "tue", "wed", "thu", "fri", "sat")),
)


def cron_error(text: str) -> str | None:
    """Why ``text`` is not a 5-field cron expression, or ``None`` if it is one."""
    parts = text.split()
    if len(parts) != 5:
        return f"expected 5 cron fields (minute hour day month weekday), got {len(parts)}"
    for part, (label, low, high, names) in zip(parts, _CRON_FIELDS, strict=True):
        for item in part.split(","):
            reason = _cron_item_error(item, low, high, names)
            if reason:
                return f"{label} {part!r}: {reason}"
    return None


def _cron_item_error(item: str, low: int, high: int, names: tuple[str, ...]) -> str | None:
    base, slash, step = item.partition("/")
    if slash and not (_is_number(step) and 0 < int(step) <= high):
        return f"step {step!r} is not a number from 1 to {high}"
    if base == "*":
        return None
    first, dash, last = base.partition("-")
    if slash and not dash:
        # "5/10" means different things to different crons; ask for "5-59/10".
        return "a step needs * or a range before it"
    values = [_cron_value(v, low, names) for v in ((first, last) if dash else (first,))]
    if any(v is None for v in values):
        return f"{base!r} is not a value from {low} to {high}"
    numbers = cast(list[int], values)
    if any(not low <= n <= high for n in numbers):
        return f"{base!r} is out of range {low}-{high}"
    if dash and numbers[0] > numbers[1]:
        return f"range {base!r} runs backwards"
    return None


def _is_number(text: str) -> bool:
    # str.isdigit() alone accepts "²", which int() refuses.
    return text.isascii() and text.isdigit()


def _cron_value(text: str, low: int, names: tuple[str, ...]) -> int | None:
    if _is_number(text):
        return int(text)
    lowered = text.lower()
    return names.index(lowered) + low if lowered in names else None


def timezone_error(name: str) -> str | None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return f"{name!r} is not a known time zone (e.g. Asia/Shanghai)"
    return None


def host_key_error(text: str) -> str | None:
    """Why ``text`` is not a pinnable ``<type> <base64>`` SSH host key."""
    parts = text.split()
    if len(parts) != 2:
        return "expected '<type> <base64>', e.g. 'ssh-ed25519 AAAAC3Nz...'"
    kind, blob_text = parts
    if kind not in HOST_KEY_TYPES:
        return f"key type {kind!r} is not one of {_names(HOST_KEY_TYPES)}"
    try:
        blob = base64.b64decode(blob_text, validate=True)
    except (binascii.Error, ValueError):
        return "the key is not valid base64"
    # The blob starts with its own type as an SSH string; a mismatch means a
    # key pasted under the wrong type, which would never match the server.
    size = int.from_bytes(blob[:4], "big")
    inner = blob[4:4 + size]
    if len(blob) <= 4 + size or inner != HOST_KEY_TYPES[kind].encode():
        return f"the key data is not a {kind} key"
    return None


def host_error(host: str) -> str | None:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return None
    labels = host.rstrip(".").split(".")
    if len(host) > 253 or not all(_HOST_LABEL_RE.fullmatch(label) for label in labels):
        return f"{host!r} is not a host name or IP address"
    return None


def private_key_error(ref: str) -> str | None:
    """Why ``ref`` is not ``env:NAME`` or ``file:relative/path``."""
    if _SECRET_MARK in ref:
        return "an inline private key is refused: name it with env:NAME or file:path"
    kind, colon, rest = ref.partition(":")
    if colon and kind == "env":
        if _ENV_NAME_RE.fullmatch(rest):
            return None
        return f"{rest!r} is not an environment variable name (A-Z, 0-9, _)"
    if colon and kind == "file":
        path = PurePosixPath(rest)
        # Relative and inside the instance folder: a config must not point at
        # arbitrary files of the machine it runs on.
        if rest and not path.is_absolute() and ".." not in path.parts and "\\" not in rest:
            return None
        return f"{rest!r} must be a relative path inside the instance folder"
    return "expected env:NAME or file:relative/path"


# --- the parser ---------------------------------------------------------------------------

_TOP_KEYS: Final = frozenset({
    "id", "name", "name_en", "measures", "adapter", "format", "encoding", "receiving_body",
    "scope", "api", "sftp", "release_gate", "options",
})
_SCOPE_KEYS: Final = frozenset({"records", "subjects", "fields"})
_API_KEYS: Final = frozenset({"enabled", "algorithm", "rate_limit"})
_SFTP_KEYS: Final = frozenset(SftpSettings.__dataclass_fields__)
_GATE_KEYS: Final = frozenset(ReleaseGate.__dataclass_fields__)

_T = TypeVar("_T")
_MISSING: Final = object()


def _hint(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f' (did you mean "{close[0]}"?)' if close else f" (expected one of {_names(choices)})"


def _names(values: Iterable[str]) -> str:
    return "[" + ", ".join(f'"{v}"' for v in values) + "]"


def _type_name(value: object) -> str:
    if isinstance(value, dict):
        return "table"
    if isinstance(value, str):
        return "string"
    return type(value).__name__


def _leaves(data: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in data.items():
        if isinstance(value, dict):
            yield from _leaves(value, f"{prefix}{key}.")
        elif isinstance(value, list):
            yield from _items(value, f"{prefix}{key}")
        else:
            yield f"{prefix}{key}", value


def _items(values: list[Any], key: str) -> Iterator[tuple[str, Any]]:
    for item in values:
        if isinstance(item, dict):
            yield from _leaves(item, f"{key}.")
        elif isinstance(item, list):
            yield from _items(item, key)  # a list of lists: every string is a leaf
        else:
            yield key, item


class _Reader:
    """Collects every problem of one document instead of stopping at the first."""

    def __init__(self, source: str, origins: Mapping[str, str]) -> None:
        self.source = source
        self.origins = origins
        self.problems: list[ConfigProblem] = []

    def problem(self, key: str, reason: str) -> None:
        # Name the file that set the key (an instance override or the repo file).
        parts = key.split(".")
        origin = next((self.origins[k] for k in (".".join(parts[:n])
                                                  for n in range(len(parts), 0, -1))
                       if k in self.origins), self.source)
        self.problems.append(ConfigProblem(origin, key, reason))

    def table(self, data: Mapping[str, Any], key: str, allowed: frozenset[str],
              *, required: bool = False) -> Mapping[str, Any]:
        value = data.get(key.rpartition(".")[2], _MISSING)
        if value is _MISSING:
            if required:
                self.problem(key, "missing required table")
            return {}
        if not isinstance(value, dict):
            self.problem(key, f"expected a table, got {_type_name(value)}")
            return {}
        self.unknown(value, allowed, f"{key}.")
        return cast(Mapping[str, Any], value)

    def unknown(self, data: Mapping[str, Any], allowed: frozenset[str], prefix: str) -> None:
        for key in data:
            if key not in allowed:
                self.problem(f"{prefix}{key}", f"unknown key{_hint(key, sorted(allowed))}")

    def value(self, data: Mapping[str, Any], key: str, kind: type[_T], default: _T | None,
              *, what: str) -> _T | None:
        """The value of dotted ``key`` if it has the ``kind``; ``default`` when absent.

        A ``None`` default marks the key required.
        """
        value = data.get(key.rpartition(".")[2], _MISSING)
        if value is _MISSING:
            if default is None:
                self.problem(key, "missing required key")
            return default
        # bool is an int to Python but never a number to a config author.
        if isinstance(value, kind) and not (isinstance(value, bool) and kind is not bool):
            return value
        self.problem(key, f"expected {what}, got {_type_name(value)}")
        return None

    def number(self, data: Mapping[str, Any], key: str, default: float) -> float | None:
        value = data.get(key.rpartition(".")[2], default)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        self.problem(key, f"expected a number, got {_type_name(value)}")
        return None

    def text(self, data: Mapping[str, Any], key: str, default: str | None = None) -> str | None:
        return self.value(data, key, str, default, what="a string")

    def choice(self, data: Mapping[str, Any], key: str, choices: tuple[str, ...],
               default: str | None = None) -> str | None:
        value = self.text(data, key, default)
        if value is not None and value not in choices:
            self.problem(key, f'"{value}" is not one of {_names(choices)}')
            return None
        return value

    def codes(self, data: Mapping[str, Any], key: str, known: Iterable[str], what: str,
              *, refused: Mapping[str, str] | None = None) -> tuple[str, ...] | None:
        """A required, non-empty list of distinct known codes."""
        value = data.get(key.rpartition(".")[2], _MISSING)
        if value is _MISSING:
            self.problem(key, "missing required key")
            return None
        if not isinstance(value, list):
            self.problem(key, f"expected a list of strings, got {_type_name(value)}")
            return None
        bad = [_type_name(v) for v in value if not isinstance(v, str)]
        if bad:
            self.problem(key, f"expected a list of strings, got a list with {bad[0]}")
            return None
        if not value:
            self.problem(key, "must not be empty")
            return None
        choices = sorted(known)
        good: list[str] = []
        for item in value:
            if refused and item in refused:
                self.problem(key, f'"{item}" {refused[item]}')
            elif item not in choices:
                hint = difflib.get_close_matches(item, choices, n=1)
                self.problem(key, f'"{item}" is not a known {what}'
                                  + (f' (did you mean "{hint[0]}"?)' if hint else ""))
            elif item in good:
                self.problem(key, f'"{item}" is listed twice')
            else:
                good.append(item)
        return tuple(good) if len(good) == len(value) else None


def parse_partner(data: Mapping[str, Any], *, source: str, stem: str,
                  origins: Mapping[str, str] | None = None) -> PartnerConfig:
    """Validate one parsed (and merged) partner document.

    :param source: the file(s) it came from, for messages and ``PartnerConfig.source``.
    :param stem: the file name without ``.toml``; the id must equal it.
    :param origins: dotted key -> file that set it, when an override was merged in.
    :raises PartnerConfigError: with every problem found.
    """
    r = _Reader(source, origins or {})
    r.unknown(data, _TOP_KEYS, "")
    _check_no_secrets(r, data)

    partner_id = r.text(data, "id")
    if partner_id is not None:
        if not _ID_RE.fullmatch(partner_id):
            r.problem("id", f'"{partner_id}" must match ^[a-z][a-z0-9_]*$')
        elif partner_id != stem:
            r.problem("id", f'"{partner_id}" does not match the file name "{stem}.toml"')
    name = _non_empty(r, data, "name")
    name_en = _non_empty(r, data, "name_en")
    receiving_body = _non_empty(r, data, "receiving_body", optional=True)
    measures = r.codes(data, "measures", MEASURES, "measure")
    adapter = r.text(data, "adapter", "")
    if data.get("adapter") == "":
        # An override's "" would silently swap a partner's own code for the generic one.
        r.problem("adapter", "empty; leave the key out for the generic adapter")
    elif adapter and not _ADAPTER_RE.fullmatch(adapter):
        r.problem("adapter", f'"{adapter}" is not of the form package.module:Class')
    fmt = r.choice(data, "format", FORMATS)
    encoding = r.choice(data, "encoding", ENCODINGS, "utf-8")
    if fmt is not None and encoding is not None and encoding not in FORMAT_ENCODINGS[fmt]:
        r.problem("encoding", f'"{encoding}" is not an encoding of {fmt} files: use '
                              f'{" or ".join(e for e in ENCODINGS if e in FORMAT_ENCODINGS[fmt])}')
    scope = _parse_scope(r, data, measures)
    api = _parse_api(r, data)
    sftp = _parse_sftp(r, data)
    gate = _parse_gate(r, data)
    options = _parse_options(r, data)

    if r.problems:
        raise PartnerConfigError(r.problems)
    return PartnerConfig(
        id=cast(str, partner_id), name=cast(str, name), name_en=cast(str, name_en),
        measures=cast(tuple[str, ...], measures), adapter=adapter or None,
        format=cast(str, fmt), encoding=cast(str, encoding), scope=cast(Scope, scope),
        api=cast(ApiSettings, api), sftp=cast(SftpSettings, sftp),
        release_gate=cast(ReleaseGate, gate), receiving_body=receiving_body,
        options=options, source=source,
    )


def _non_empty(r: _Reader, data: Mapping[str, Any], key: str,
               optional: bool = False) -> str | None:
    value = r.text(data, key, "" if optional else None)
    if value is not None and not value.strip():
        if optional:
            return None
        r.problem(key, "must not be empty")
    return value


def _check_no_secrets(r: _Reader, data: Mapping[str, Any]) -> None:
    # Anywhere in the file, not only in sftp.private_key: a key pasted into
    # [options] would leak into the repository just the same.
    for key, value in _leaves(data):
        if key != "sftp.private_key" and isinstance(value, str) and _SECRET_MARK in value:
            r.problem(key, "an inline private key is refused: secrets never live in config")


def _parse_scope(r: _Reader, data: Mapping[str, Any],
                 measures: tuple[str, ...] | None) -> Scope | None:
    table = r.table(data, "scope", _SCOPE_KEYS, required=True)
    if "scope" not in data or not isinstance(data["scope"], dict):
        return None
    records = r.codes(table, "scope.records", RECORD_TYPES, "record type")
    subjects = r.codes(table, "scope.subjects", SUBJECTS, "subject type")
    fields = _parse_fields(r, table)
    if fields is not None and measures is not None:
        justified = frozenset().union(*(FIELDS_BY_MEASURE[m] for m in measures))
        for field in fields:
            if field not in justified:
                r.problem("scope.fields", f'"{field}" is not justified by any of the '
                                          f"measures {_names(measures)}")
    if fields is not None and records is not None:
        for field in fields:
            for record, own in (("listing", LISTING_FIELDS), ("restriction", RESTRICTION_FIELDS)):
                if field in own and record not in records:
                    r.problem("scope.fields", f'"{field}" is a {record} field but '
                                              f'scope.records has no "{record}"')
    if fields is not None and subjects is not None:
        for subject, only in (("person", PERSON_ONLY_FIELDS),
                              ("organisation", ORGANISATION_ONLY_FIELDS)):
            for field in fields:
                if field in only and subject not in subjects:
                    r.problem("scope.fields", f'"{field}" belongs to a {subject} but '
                                              f'scope.subjects has no "{subject}"')
    if records is None or subjects is None or fields is None:
        return None
    return Scope(records, subjects, fields)


def _parse_fields(r: _Reader, table: Mapping[str, Any]) -> tuple[str, ...] | None:
    # The always-sent fields are refused with their own reason: listing them
    # suggests a partner could be configured without them, and it cannot.
    always = dict.fromkeys(ALWAYS_FIELDS, "is always sent; do not list it")
    return r.codes(table, "scope.fields", PROJECTED_FIELDS, "field", refused=always)


def _parse_api(r: _Reader, data: Mapping[str, Any]) -> ApiSettings | None:
    table = r.table(data, "api", _API_KEYS)
    default = ApiSettings()
    enabled = r.value(table, "api.enabled", bool, default.enabled, what="true or false")
    algorithm = r.choice(table, "api.algorithm", ALGORITHMS, default.algorithm)
    rate = r.text(table, "api.rate_limit", default.rate_limit)
    if rate is not None and not _RATE_RE.fullmatch(rate):
        r.problem("api.rate_limit", f'"{rate}" is not N/second, N/minute, N/hour or N/day')
        rate = None
    if enabled is None or algorithm is None or rate is None:
        return None
    return ApiSettings(enabled, cast(Literal["EdDSA", "ES256"], algorithm), rate)


def _parse_sftp(r: _Reader, data: Mapping[str, Any]) -> SftpSettings | None:
    table = r.table(data, "sftp", _SFTP_KEYS)
    d = SftpSettings()
    enabled = r.value(table, "sftp.enabled", bool, d.enabled, what="true or false")
    values: dict[str, Any] = {"enabled": enabled}
    for key in ("host", "username", "private_key", "host_key", "inbox", "outbox",
                "schedule", "timezone"):
        values[key] = r.text(table, f"sftp.{key}", getattr(d, key))
    values["full_every"] = r.choice(table, "sftp.full_every", FULL_EVERY, d.full_every)
    port = r.value(table, "sftp.port", int, d.port, what="an integer")
    if port is not None and not 1 <= port <= 65535:
        r.problem("sftp.port", f"{port} is not a port number (1-65535)")
        port = None
    values["port"] = port

    checks = {
        "host": host_error, "private_key": private_key_error, "host_key": host_key_error,
        "schedule": cron_error, "timezone": timezone_error, "username": _username_error,
    }
    # An empty host, key or host key is a placeholder, allowed only while the
    # channel is off, so a disabled partner's file can stay honest.
    may_be_empty = {"host", "private_key", "host_key"} if enabled is False else set()
    for key, check in checks.items():
        value = values[key]
        if value is None:
            continue
        if value == "" and key in may_be_empty:
            continue
        reason = "must not be empty" if value == "" else check(value)
        if reason:
            r.problem(f"sftp.{key}", reason)
            values[key] = None
    for key in ("inbox", "outbox"):
        if values[key] == "":
            r.problem(f"sftp.{key}", "must not be empty")
            values[key] = None
    if values["inbox"] is not None and values["inbox"] == values["outbox"]:
        # The hub would collect its own batches as receipts.
        r.problem("sftp.outbox", "must differ from sftp.inbox")
        values["outbox"] = None
    if any(v is None for v in values.values()):
        return None
    return SftpSettings(**values)


def _username_error(name: str) -> str | None:
    return None if _USERNAME_RE.fullmatch(name) else f'"{name}" is not a user name'


def _parse_gate(r: _Reader, data: Mapping[str, Any]) -> ReleaseGate | None:
    table = r.table(data, "release_gate", _GATE_KEYS)
    d = ReleaseGate()
    shares: list[float | None] = []
    for key in ("max_removed_share", "max_added_share"):
        share = r.number(table, f"release_gate.{key}", getattr(d, key))
        if share is not None and not 0 < share <= 1:
            r.problem(f"release_gate.{key}", f"{share} is not a share in (0, 1]")
            share = None
        shares.append(share)
    minimum = r.value(table, "release_gate.min_records", int, d.min_records, what="an integer")
    if minimum is not None and minimum < 0:
        r.problem("release_gate.min_records", f"{minimum} must not be negative")
        minimum = None
    removed, added = shares
    if removed is None or added is None or minimum is None:
        return None
    return ReleaseGate(removed, added, minimum)


def _parse_options(r: _Reader, data: Mapping[str, Any]) -> Mapping[str, Any]:
    value = data.get("options", {})
    if not isinstance(value, dict):
        r.problem("options", f"expected a table, got {_type_name(value)}")
        return MappingProxyType({})
    # Adapters define their own keys; they validate them when built.
    return MappingProxyType(dict(value))
