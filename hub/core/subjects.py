"""Hashed subject identifiers for the access record: no ID number is logged in clear."""

from __future__ import annotations

import hashlib

from hub.core.identifiers import normalise_id_number


def subject_hash(id_number: str) -> str:
    """32 hex characters of SHA-256 over the normalised ID.

    Not a secret: ID numbers have little entropy, so this only keeps clear IDs
    out of logs and backups; the hub holds the IDs themselves anyway.
    """
    normalised = normalise_id_number(id_number)
    return hashlib.sha256(normalised.encode()).hexdigest()[:32]
