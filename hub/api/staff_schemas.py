"""marshmallow schemas of the staff endpoints: request validation and the OpenAPI document."""

from __future__ import annotations

import marshmallow as ma

from hub.api.text_fields import StoredText
from hub.core.records import LISTING_STATE_FIELDS
from hub.core.staff_tokens import LIFETIME
from hub.services.staff_accounts import MAX_PASSWORD


class TokenRequest(ma.Schema):
    username = StoredText(1, 64, required=True)
    password = StoredText(1, MAX_PASSWORD, required=True)


class TokenResponse(ma.Schema):
    access_token = ma.fields.String(required=True)
    token_type = ma.fields.String(required=True, metadata={"enum": ["Bearer"]})
    expires_in = ma.fields.Integer(required=True, metadata={
        "description": f"Seconds the token is valid ({int(LIFETIME.total_seconds())})."})


#: A listing's full current state, as its change events carry it; built from the
#: field list so the document cannot drift from the record.
ListingSchema = ma.Schema.from_dict(
    {name: ma.fields.Raw(allow_none=True) for name in LISTING_STATE_FIELDS}
    | {"version": ma.fields.Integer(required=True, metadata={
        "description": "Incremented by every accepted change."})},
    name="ListingSchema",
)
