"""The access record's ID hashes: keyed, so a dump of the table names no one."""

from __future__ import annotations

import hashlib

import pytest

from hub.core.subjects import SubjectHasher, legacy_subject_hash
from hub.settings import Settings

PID = "110105198503150019"


def test_a_hash_is_keyed_and_not_the_plain_digest_anyone_can_recompute() -> None:
    plain = hashlib.sha256(PID.encode()).hexdigest()[:32]
    one, other = SubjectHasher(b"key one"), SubjectHasher(b"key two")
    assert one(PID) != plain
    assert one(PID) != other(PID)
    assert one(PID) == SubjectHasher(b"key one")(PID)  # stable: the record is asked later
    assert legacy_subject_hash(PID) == plain


def test_an_id_hashes_as_the_registry_stores_it() -> None:
    hasher = SubjectHasher(b"k")
    assert hasher("１１０１０５１９８５０３１５００１９") == hasher(PID)  # full-width digits
    assert hasher.joined([PID, "11010519491231002X"]) == (
        f"{hasher(PID)} {hasher('11010519491231002X')}")


def test_an_empty_key_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        SubjectHasher(b"")


def test_the_key_of_its_own_wins_over_the_one_derived_from_the_secret_key() -> None:
    derived = Settings.from_env({"HUB_SECRET_KEY": "s1"}).subject_hash_key()
    assert derived not in (b"s1", b"")
    assert Settings.from_env({"HUB_SECRET_KEY": "s2"}).subject_hash_key() != derived
    own = Settings.from_env({"HUB_SECRET_KEY": "s1", "HUB_SUBJECT_HASH_KEY": "mine"})
    assert own.subject_hash_key() == b"mine"
    assert "mine" not in repr(own)  # not in a traceback's locals or a log line
