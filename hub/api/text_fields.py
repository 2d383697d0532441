"""The API boundary's text rule: a string field holds only what can be stored.

A NUL or a lone surrogate in an ID, a batch id or a username would otherwise reach
PostgreSQL (or an encoder) and come back as a 500; refused here, it is a 422 that
names the field (:func:`hub.core.text.unstorable` says why). The OpenAPI document
states the rule as a ``pattern``, so clients and fuzzers know it too.
"""

from __future__ import annotations

from typing import Any, Final

import marshmallow as ma

from hub.core.text import REFUSED_RANGES, unstorable

#: :func:`unstorable`'s controls and noncharacters as JSON Schema writes them (a lone
#: surrogate is no well-formed JSON text, so the document need not name it).
PATTERN: Final = "^[^" + "".join(f"\\u{lo:04x}-\\u{hi:04x}" for lo, hi in REFUSED_RANGES) + "]*$"


def storable(value: str) -> None:
    """marshmallow validator. :raises ma.ValidationError: naming the bad character."""
    if (why := unstorable(value)) is not None:
        raise ma.ValidationError(why)


def StoredText(low: int, high: int, **kwargs: Any) -> ma.fields.String:
    """A string field of ``low`` to ``high`` characters that the database can store."""
    metadata = {"pattern": PATTERN, **kwargs.pop("metadata", {})}
    return ma.fields.String(validate=[ma.validate.Length(min=low, max=high), storable],
                            metadata=metadata, **kwargs)
