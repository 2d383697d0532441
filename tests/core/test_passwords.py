"""scrypt password hashes: format, round trip, refusals."""

from __future__ import annotations

import pytest

from hub.core.passwords import dummy_hash, hash_password, verify_password
from hub.errors import InvalidValue


def test_round_trip_and_format() -> None:
    encoded = hash_password("correct horse battery")
    scheme, n, r, p, salt, digest = encoded.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    assert (len(salt), len(digest)) == (22, 43)  # 16 and 32 bytes, base64url unpadded
    assert verify_password("correct horse battery", encoded)
    assert not verify_password("correct horse batterz", encoded)
    assert not verify_password("", encoded)


def test_salt_is_random() -> None:
    assert hash_password("same password!") != hash_password("same password!")


def test_fixed_salt_is_deterministic() -> None:
    salt = bytes(range(16))
    assert hash_password("same password!", salt=salt) == hash_password("same password!",
                                                                       salt=salt)


def test_dummy_hash_costs_the_same_as_a_real_one() -> None:
    assert dummy_hash().split("$")[:4] == hash_password("x" * 12).split("$")[:4]
    assert not verify_password("correct horse battery", dummy_hash())


@pytest.mark.parametrize("encoded", [
    "", "bcrypt$2b$12$abc", "scrypt$16384$8$1$salt", "scrypt$x$8$1$AAAA$AAAA",
    "scrypt$1000$8$1$AAAA$AAAA", "scrypt$16384$8$1$$AAAA",
])
def test_malformed_hash_is_invalid_value(encoded: str) -> None:
    with pytest.raises(InvalidValue):
        verify_password("whatever", encoded)
