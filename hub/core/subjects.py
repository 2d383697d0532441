"""Hashed subject identifiers for the access record: no ID number is logged in clear.

Keyed (HMAC-SHA256): a check's access row holds the hash of every ID an airline or a
railway asked about, passengers who are on no list included, and ID numbers have
too little entropy for a plain hash to hide them (some 10^11 resident IDs: a leaked
backup would give every checked traveller's ID back in minutes). Without the key, a
dump of the table names no one.
"""

from __future__ import annotations

import hashlib
import hmac

from hub.core.identifiers import normalise_id_number

#: Hex characters kept of a digest: 128 bits, no collision among any number of IDs.
HASH_CHARS = 32


class SubjectHasher:
    """Keyed hashes of normalised ID numbers; one per process, built from the settings."""

    __slots__ = ("_mac",)

    def __init__(self, key: bytes) -> None:
        if not key:
            raise ValueError("the subject hash key is empty")
        # Keyed once; each ID hashes a copy (half the cost of a fresh HMAC per ID).
        self._mac = hmac.new(key, digestmod=hashlib.sha256)

    def __call__(self, id_number: str) -> str:
        mac = self._mac.copy()
        mac.update(normalise_id_number(id_number).encode())
        return mac.hexdigest()[:HASH_CHARS]

    def joined(self, id_numbers: list[str]) -> str:
        """The access record's ``subjects`` column for these IDs."""
        return " ".join(self(i) for i in id_numbers)


def legacy_subject_hash(id_number: str) -> str:
    """The unkeyed hash access rows were written with before :class:`SubjectHasher`:
    still looked for, so those rows keep answering "who received this person's data"
    (a hash cannot be re-keyed; they stay as weakly protected as they were written)."""
    normalised = normalise_id_number(id_number)
    return hashlib.sha256(normalised.encode()).hexdigest()[:HASH_CHARS]
