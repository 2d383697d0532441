"""The partner endpoints of ``/api/v1``: changes, snapshot, checks, acks.

Every request has passed :mod:`hub.api.partner_auth` before a view runs; a
view sees only the caller's adapter, so it can hand out only the caller's
projection and touch only the caller's own state.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO, Any, Final, cast

import marshmallow as ma
import orjson
from flask import Response, request
from flask_smorest import abort

from hub.api.json_body import NOT_JSON, NOT_JSON_TYPE, Blueprint
from hub.api.openapi import PARTNER_SECURITY
from hub.api.partner_auth import BLUEPRINT, caller, remember_jti
from hub.api.partner_schemas import (
    MAX_SEQ,
    AckRequest,
    AckResponse,
    ChangesPageSchema,
    ChangesQuery,
    ChecksRequest,
    ChecksResponse,
)
from hub.api.problems import problem
from hub.api.text_fields import PATTERN
from hub.api.throttle import SNAPSHOTS, budget
from hub.current import hub_context
from hub.db.engine import session_scope
from hub.services.access import log_access, record_access
from hub.services.acks import acknowledge
from hub.services.changes import changes_page
from hub.services.checks import check_subjects
from hub.services.partner_snapshot import spool_snapshot

bp = Blueprint(BLUEPRINT, __name__, url_prefix="/api/v1",
               description="Partner endpoints: every request signed with the partner's key.")


def _snapshot_budget() -> Response | None:
    """Before the replay check, as the rate limit is: a refused request keeps its jti."""
    if request.endpoint != f"{bp.name}.snapshot":
        return None
    partner, snapshots = caller().partner, budget("snapshot")
    if snapshots.allows(partner):
        return None
    return problem(429, f"at most {SNAPSHOTS} snapshots per partner: page /changes from "
                   "the last snapshot's X-Hub-Seq instead",
                   headers={"Retry-After": str(snapshots.retry_after(partner))})


bp.before_request(_snapshot_budget)
bp.before_request(remember_jti)

_SECURED: Final[dict[str, Any]] = {"security": [{PARTNER_SECURITY: []}]}
_CHUNK: Final = 256 * 1024


def _json(body: Any) -> Response:
    return Response(orjson.dumps(body), mimetype="application/json")


def _documented_errors(view: Any) -> Any:
    for status in (401, 429):
        view = bp.alt_response(status, description={
            401: "A token check failed; `check` names it.",
            429: "The partner's rate limit is used up; see `Retry-After`."}[status])(view)
    return bp.doc(**_SECURED)(view)


def _json_body(view: Any) -> Any:
    view = bp.alt_response(415, description=NOT_JSON_TYPE)(view)
    return bp.alt_response(400, description=NOT_JSON)(view)


@bp.route("/changes", methods=["GET"])
@_documented_errors
@bp.arguments(ChangesQuery, location="query", as_kwargs=True)
@bp.response(200, ChangesPageSchema)
@bp.alt_response(409, description="after is beyond the high-water mark.")
def changes(after: int, limit: int) -> Response:
    """Change feed: events after the cursor, projected for the caller.

    Page with `after = next_after` until `next_after == high_water`; every
    event that concerns the caller comes exactly once, in order.
    """
    who = caller()
    ctx = hub_context()
    with ctx.engine.connect() as conn, conn.begin():
        page = changes_page(conn, who.adapter, after, limit)
    if page.next_after > after:
        record_access(ctx.sessions, partner=who.partner, endpoint="changes",
                      at=datetime.now(UTC), from_seq=after, to_seq=page.next_after,
                      count=sum(len(e["rows"]) for e in page.events))
    return _json({"events": page.events, "next_after": page.next_after,
                  "high_water": page.high_water, "shape": who.adapter.shape_digest()})


_SNAPSHOT_CONTENT: Final = {media: {"schema": {"type": "string", "format": "binary"}}
                             for media in ("application/jsonl", "application/xml", "text/csv")}


@bp.route("/snapshot", methods=["GET"])
@_documented_errors
@bp.response(200, description="The caller's full current list in its own format "
             "(JSON Lines, XML or CSV, the charset of its file), as a full batch file has it.",
             headers={
                 "X-Hub-Seq": {"description": "The change-log seq the snapshot is as of: "
                               "page /changes from here.", "schema": {"type": "integer"}},
                 "X-Hub-Records": {"description": "Rows in the snapshot.",
                                   "schema": {"type": "integer"}},
                 "Repr-Digest": {"description": "RFC 9530 `sha-256=:<base64>:` of the body.",
                                 "schema": {"type": "string"}},
                 "X-Hub-Shape": {"description": "The projection the snapshot is in: "
                                 "/changes pages carry it as `shape`.",
                                 "schema": {"type": "string"}},
             })
@bp.doc(responses={"200": {"content": _SNAPSHOT_CONTENT}})
def snapshot() -> Response:
    """Full snapshot, streamed; `X-Hub-Seq` says where to resume the feed."""
    who = caller()
    snapshots = budget("snapshot")  # allowed: _snapshot_budget said so
    ctx = hub_context()
    now = datetime.now(UTC)
    snap = spool_snapshot(ctx.engine, who.adapter, now)
    # Spent once the snapshot exists: a failure to build one costs the partner nothing
    # (two at once may both pass the test above; the budget is a guard, not a count).
    snapshots.spend(who.partner)
    record_access(ctx.sessions, partner=who.partner, endpoint="snapshot", at=now,
                  to_seq=snap.seq, count=snap.records)
    response = Response(_stream(snap.body), mimetype=None, content_type=snap.content_type,
                        direct_passthrough=True)
    response.headers["Content-Length"] = str(snap.size)
    response.headers["X-Hub-Seq"] = str(snap.seq)
    response.headers["X-Hub-Records"] = str(snap.records)
    response.headers["Repr-Digest"] = f"sha-256=:{base64.b64encode(snap.sha256).decode()}:"
    response.headers["X-Hub-Shape"] = who.adapter.shape_digest()
    return response


def _load(schema: ma.Schema) -> dict[str, Any]:
    """The JSON body through ``schema``; a 422 naming each field as ``bp.arguments`` does,
    and, as it does, a 400 for a body that is not JSON at all (the same parser)."""
    payload = bp.ARGUMENTS_PARSER.load_json(request, schema)
    if not isinstance(payload, dict):
        abort(422, messages={"json": {"_schema": ["the body is not a JSON object"]}})
    try:
        loaded: dict[str, Any] = schema.load(cast(dict[str, Any], payload))
    except ma.ValidationError as exc:
        abort(422, messages={"json": exc.messages})
    return loaded


def _stream(body: IO[bytes]) -> Iterator[bytes]:
    try:
        while chunk := body.read(_CHUNK):
            yield chunk
    finally:
        body.close()


@bp.route("/checks", methods=["POST"])
@_documented_errors
@_json_body
@bp.arguments(ChecksRequest)
@bp.response(200, ChecksResponse)
def checks(body: dict[str, Any]) -> Response:
    """Real-time check of up to 1000 IDs: active listings and restrictions that concern
    the caller's measures (bound persons with their role; exemptions shown)."""
    who = caller()
    ctx = hub_context()
    ids = [s["id_number"] for s in body["subjects"]]
    # One clock reading: the access record judges the answer by the court date of its
    # ``at`` (a listing on its last day, a check a moment before midnight China time).
    now = datetime.now(UTC)
    with session_scope(ctx.sessions) as session:
        answer = check_subjects(session, who.adapter, ids, now)
        results = answer.results
        # The seqs the answer was read at: the access record replays the log to them
        # (an event's ``at`` is its writer's clock, not its commit's).
        log_access(session, partner=who.partner, endpoint="checks", at=now,
                   from_seq=answer.seqs[0], to_seq=answer.seqs[1],
                   subjects=ctx.subjects.joined(answer.looked_up), count=answer.checked,
                   hits=answer.hits)
    return _json({"results": [{"id_number": r.id_number, "matches": r.matches}
                              for r in results]})


#: One of the two forms, exactly; marshmallow has no oneOf, so the body is written out.
_ACK_BODY: Final = {"required": True, "content": {"application/json": {"schema": {"oneOf": [
    {"type": "object", "required": ["through_seq"], "additionalProperties": False,
     "properties": {"through_seq": {"type": "integer", "minimum": 0, "maximum": MAX_SEQ}}},
    {"type": "object", "required": ["batch_id"], "additionalProperties": False,
     "properties": {"batch_id": {"type": "string", "minLength": 1, "maxLength": 160,
                                 "pattern": PATTERN}}},
]}}}}


@bp.route("/acks", methods=["POST"])
@_documented_errors
@_json_body
@bp.doc(requestBody=_ACK_BODY)
@bp.response(200, AckResponse)
@bp.alt_response(422, description="The body is neither form.")
@bp.alt_response(404, description="No such batch of the caller's.")
@bp.alt_response(409, description="through_seq is beyond the high-water mark.")
def acks() -> Response:
    """Acknowledge everything through a seq, or through a batch's end; never moves back."""
    body = _load(AckRequest())
    who = caller()
    ctx = hub_context()
    with session_scope(ctx.sessions) as session:
        progress = acknowledge(session, who.partner, through_seq=body.get("through_seq"),
                               batch_id=body.get("batch_id"), now=datetime.now(UTC))
        acked = progress.acked_seq
    return _json({"partner": who.partner, "acked_seq": acked})
