"""marshmallow schemas of the partner endpoints: request validation and the OpenAPI document.

Responses of the bulk endpoints are written with orjson from plain rows; these
schemas describe them for the document and are not used to dump them.
"""

from __future__ import annotations

from typing import Any, Final

import marshmallow as ma

from hub.api.text_fields import StoredText
from hub.services.changes import MAX_LIMIT
from hub.services.checks import MAX_SUBJECTS


class Digits(ma.fields.Integer):
    """A query's whole number in ASCII digits: ``int()`` also takes ``५``, `` 5`` and
    ``5_0``, a cursor no client wrote that way, answered as if it had sent 5."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, str) and not (value.isascii() and value.isdigit()):
            raise self.make_error("invalid")
        return int(super()._deserialize(value, attr, data, **kwargs))


class ChangesQuery(ma.Schema):
    after = Digits(load_default=0, validate=ma.validate.Range(min=0),
                              metadata={"description": "Cursor: the `next_after` of the last "
                                        "page (0 to start)."})
    limit = Digits(load_default=MAX_LIMIT,
                              validate=ma.validate.Range(min=1, max=MAX_LIMIT),
                              metadata={"description": f"Events to read, 1 to {MAX_LIMIT}."})


class ChangeEventSchema(ma.Schema):
    seq = ma.fields.Integer(required=True)
    type = ma.fields.String(required=True)
    at = ma.fields.DateTime(required=True)
    reason = ma.fields.String(allow_none=True)
    rows = ma.fields.List(ma.fields.Dict(), required=True, metadata={
        "description": "The event's rows in the caller's projection; `status: withdrawn` "
                       "means delete a row the caller held."})


class ChangesPageSchema(ma.Schema):
    events = ma.fields.List(ma.fields.Nested(ChangeEventSchema), required=True)
    next_after = ma.fields.Integer(required=True)
    high_water = ma.fields.Integer(required=True)
    shape = ma.fields.String(required=True, metadata={
        "description": "Digest of the caller's projection (fields, measures, names, format). "
                       "When it is not the one your copy was built with, rows you hold may "
                       "carry fields you no longer receive: take /snapshot and start over."})


#: An asked ID's length, in characters: SubjectSchema's rule and SubjectList's fast path.
_ID_LENGTH: Final = (1, 64)


class SubjectSchema(ma.Schema):
    id_number = StoredText(*_ID_LENGTH, required=True)


class SubjectList(ma.fields.List[Any]):
    """A list of SubjectSchema objects, loaded without a schema per item when every item
    is exactly ``{"id_number": <printable string of 1 to 64 characters>}`` (nearly every check:
    a thousand nested loads were most of a check's validation); anything else goes
    through SubjectSchema item by item, so errors and their paths are marshmallow's
    (tests/api/test_partner_schemas.py holds both loads equal)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any,
                     **kwargs: Any) -> list[Any]:
        low, high = _ID_LENGTH
        if isinstance(value, list) and all(
                type(item) is dict and len(item) == 1
                and type(number := item.get("id_number")) is str
                and low <= len(number) <= high and number.isprintable() for item in value):
            return [{"id_number": item["id_number"]} for item in value]
        return super()._deserialize(value, attr, data, **kwargs)


class ChecksRequest(ma.Schema):
    subjects = SubjectList(ma.fields.Nested(SubjectSchema), required=True,
                           validate=ma.validate.Length(min=1, max=MAX_SUBJECTS))


class CheckMatchSchema(ma.Schema):
    class Meta:
        unknown = ma.INCLUDE

    matched_as = ma.fields.String(required=True,
                                  metadata={"description": "subject or bound_person"})
    record_type = ma.fields.String(required=True)
    record_key = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    measures = ma.fields.List(ma.fields.String(), required=True)
    role = ma.fields.String(metadata={"description": "For a bound person: their role."})


class CheckResultSchema(ma.Schema):
    id_number = ma.fields.String(required=True, metadata={
        "description": "The ID exactly as asked: one result per asked ID, in the order asked."})
    matches = ma.fields.List(ma.fields.Nested(CheckMatchSchema), required=True)


class ChecksResponse(ma.Schema):
    results = ma.fields.List(ma.fields.Nested(CheckResultSchema), required=True)


#: The change log's seq is a bigint; beyond it a number is no seq (and past 2**64
#: orjson reads it as a float).
MAX_SEQ: Final = 2**63 - 1


class AckRequest(ma.Schema):
    # strict: a float such as 2.5 (or 1e-42) is refused, not truncated to a seq.
    through_seq = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=0, max=MAX_SEQ))
    batch_id = StoredText(1, 160)

    @ma.validates_schema
    def _one_of(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if ("through_seq" in data) == ("batch_id" in data):
            raise ma.ValidationError("give through_seq or batch_id, not both", "_schema")


class AckResponse(ma.Schema):
    partner = ma.fields.String(required=True)
    acked_seq = ma.fields.Integer(required=True)
