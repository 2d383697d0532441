"""The checks body's fast path loads exactly what marshmallow's item-by-item load does."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
import pytest

from hub.api.partner_schemas import ChecksRequest, SubjectSchema
from hub.services.checks import MAX_SUBJECTS


class PlainChecksRequest(ma.Schema):
    """ChecksRequest as marshmallow alone would load it: the reference."""

    subjects = ma.fields.List(ma.fields.Nested(SubjectSchema), required=True,
                              validate=ma.validate.Length(min=1, max=MAX_SUBJECTS))


def _load(schema: ma.Schema, body: Any) -> tuple[str, Any]:
    try:
        return "ok", schema.load(body)
    except ma.ValidationError as exc:
        return "error", exc.messages


@pytest.mark.parametrize("subjects", [
    [{"id_number": "110105198001010011"}],
    [{"id_number": "x"}, {"id_number": "y" * 64}],
    [{"id_number": ""}],
    [{"id_number": "y" * 65}],
    [{"id_number": "a"}, {"id_number": 7}],
    [{"id_number": None}],
    [{"id_number": "a", "name": "b"}],
    [{}],
    ["110105198001010011"],
    [None],
    [[{"id_number": "a"}]],
    [{"id_number": True}],
    [],
    [{"id_number": "a"}] * (MAX_SUBJECTS + 1),
    "110105198001010011",
    {"id_number": "a"},
    None,
])
def test_fast_path_loads_as_marshmallow_does(subjects: Any) -> None:
    body = {"subjects": subjects}
    assert _load(ChecksRequest(), body) == _load(PlainChecksRequest(), body)
