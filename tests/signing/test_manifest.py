"""Batch manifests: file stems, batch ids and the bytes that get signed."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from hub.core.manifest import (
    FileEntry,
    batch_file_stem,
    build_manifest,
    manifest_bytes,
    new_batch_id,
)
from hub.errors import InvalidValue

CREATED = datetime(2026, 11, 25, 4, 0, 7, tzinfo=UTC)
DATA = b"<list/>\n"
ENTRY = FileEntry(
    name="railway_delta_100-250_20261125T040007Z.xml",
    bytes=len(DATA),
    sha256=hashlib.sha256(DATA).hexdigest(),
    records=150,
    schema="hub-list-1.0.xsd",
)


def _manifest(**overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "batch_id": new_batch_id("railway", "delta", 100, 250, CREATED),
        "partner": "railway",
        "kind": "delta",
        "from_seq": 100,
        "to_seq": 250,
        "previous_batch_id": None,
        "created_at": "2026-11-25T04:00:07Z",
        "counts": {"listings": 120, "restrictions": 30},
        "files": [ENTRY],
    } | overrides
    return build_manifest(**args)


def test_stem_is_in_utc() -> None:
    beijing = CREATED.astimezone(timezone(timedelta(hours=8)))
    assert batch_file_stem("railway", "delta", 100, 250, beijing) == (
        "railway_delta_100-250_20261125T040007Z"
    )
    assert batch_file_stem("civil_aviation", "full", 0, 250, CREATED) == (
        "civil_aviation_full_0-250_20261125T040007Z"
    )


def test_stem_needs_an_aware_time() -> None:
    with pytest.raises(ValueError, match="aware"):
        batch_file_stem("railway", "full", 0, 1, CREATED.replace(tzinfo=None))


@pytest.mark.parametrize(("args", "reason"), [
    (("Railway", "full", 0, 1), "partner id"),
    (("railway", "diff", 0, 1), "batch kind 'diff'"),
    (("railway", "delta", 5, 4), "5-4"),
    (("railway", "delta", -1, 4), "-1-4"),
])
def test_stem_refuses_bad_values(args: tuple[str, str, int, int], reason: str) -> None:
    with pytest.raises(InvalidValue, match=reason):
        batch_file_stem(*args, CREATED)


def test_batch_id_is_stable_and_distinct() -> None:
    first = new_batch_id("railway", "delta", 100, 250, CREATED)
    assert first == new_batch_id("railway", "delta", 100, 250, CREATED)
    # A golden value: the namespace must never change, or re-sent batches change id.
    assert first == "baa7474c-8754-5c72-a708-7e30f41b145c"
    others = {
        new_batch_id("railway", "delta", 100, 251, CREATED),
        new_batch_id("railway", "full", 100, 250, CREATED),
        new_batch_id("pbc", "delta", 100, 250, CREATED),
        new_batch_id("railway", "delta", 100, 250, CREATED + timedelta(seconds=1)),
    }
    assert first not in others
    assert len(others) == 4


def test_manifest_has_exactly_the_design_keys() -> None:
    manifest = _manifest()
    assert list(manifest) == [
        "batch_id", "partner", "kind", "from_seq", "to_seq", "previous_batch_id",
        "created_at", "counts", "files",
    ]
    assert manifest["files"] == [{
        "name": ENTRY.name, "bytes": 8, "sha256": ENTRY.sha256, "records": 150,
        "schema": "hub-list-1.0.xsd",
    }]


def test_manifest_bytes_are_sorted_indented_and_end_with_a_newline() -> None:
    data = manifest_bytes(_manifest())
    assert data.endswith(b"}\n")
    assert data.startswith(b'{\n  "batch_id": ')
    assert json.loads(data) == _manifest()
    keys = [line.split(b'"')[1] for line in data.splitlines() if line.startswith(b'  "')]
    assert keys == sorted(keys)
    # Same manifest, same bytes: the signature stays valid when a batch is re-sent.
    assert manifest_bytes(_manifest()) == data


def test_manifest_bytes_keep_chinese_as_utf8() -> None:
    data = manifest_bytes(_manifest(counts={"名单": 1}))
    assert "名单".encode() in data


def test_manifest_refuses_a_bad_digest() -> None:
    entry = FileEntry("a.csv", 1, "ABC", 1, "csv")
    with pytest.raises(InvalidValue, match=r"a\.csv: sha256"):
        _manifest(files=[entry])


def test_manifest_refuses_a_bad_range() -> None:
    with pytest.raises(InvalidValue, match="250-100"):
        _manifest(from_seq=250, to_seq=100)
