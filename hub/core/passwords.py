"""Staff password hashes: stdlib scrypt as ``scrypt$n$r$p$salt$hash``, constant-time checks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import cache
from typing import Final

from hub.errors import InvalidValue

SCHEME: Final = "scrypt"
N: Final = 2**14
R: Final = 8
P: Final = 1
SALT_BYTES: Final = 16
HASH_BYTES: Final = 32
#: scrypt needs 128 * n * r bytes; allow a little more than the default parameters use.
_MAXMEM: Final = 64 * 1024 * 1024


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=length,
                          maxmem=_MAXMEM)


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """A new encoded hash; ``salt`` only for deterministic tests (16 random bytes otherwise)."""
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    digest = _scrypt(password, salt, N, R, P, HASH_BYTES)
    return f"{SCHEME}${N}${R}${P}${_b64(salt)}${_b64(digest)}"


def _parse(encoded: str) -> tuple[int, int, int, bytes, bytes]:
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        raise InvalidValue("not a scrypt password hash")
    try:
        n, r, p = (int(x) for x in parts[1:4])
        salt, digest = _unb64(parts[4]), _unb64(parts[5])
    except ValueError as exc:  # binascii.Error is a ValueError
        raise InvalidValue("malformed scrypt password hash") from exc
    if n < 2 or n & (n - 1) or r < 1 or p < 1 or not salt or not digest:
        raise InvalidValue("scrypt password hash has bad parameters")
    return n, r, p, salt, digest


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches ``encoded``; the comparison takes constant time.

    :raises InvalidValue: if ``encoded`` is not a hash this module wrote.
    """
    n, r, p, salt, digest = _parse(encoded)
    return hmac.compare_digest(_scrypt(password, salt, n, r, p, len(digest)), digest)


@cache
def dummy_hash() -> str:
    """A hash to check against when the user does not exist, so an unknown name costs
    the same scrypt time as a wrong password and the timing does not tell them apart.

    Computed on first use, not at import.
    """
    return hash_password("unknown-user-placeholder", salt=b"\0" * SALT_BYTES)
