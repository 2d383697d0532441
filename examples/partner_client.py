"""Example partner client: page the hub's change feed from a cursor, write JSON Lines, ack.

Needs only Python >= 3.11 and ``pyjwt[crypto]`` (``pip install 'pyjwt[crypto]'``);
HTTP is the standard library's ``urllib.request``. Every request carries a
fresh token signed with the partner's private key (docs/partner-api.md)::

    python examples/partner_client.py --hub https://hub.example.cn --partner ndrc \\
        --kid=KID --key ndrc-private.pem --out events.jsonl

``KID`` is what ``hub partners add-key ndrc ndrc-public.pem`` printed (write
``--kid=KID``: a kid may begin with ``-``). The
cursor (the last ``next_after``) is kept in ``--cursor`` (default
``<partner>.cursor``) and written only after the page's events are on disk,
so a crash re-reads at most one page: the feed is at-least-once across
crashes, so de-duplicate on ``seq`` if that matters to you. ``--after N``
starts from seq N instead of the cursor file (0 = from the beginning; take
a snapshot first and start from its ``X-Hub-Seq`` instead: ``--snapshot FILE``
does both, checking the file against the hub's ``Repr-Digest``). The cursor
file also keeps the ``shape`` of what the hub sends; when a page comes in
another shape (the hub changed your fields, names or measures), the client
stops and asks for a new snapshot: rows you hold may carry fields you no
longer receive.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, cast

import jwt
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, EllipticCurvePrivateKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

AUDIENCE = "joint-sanction-hub"
#: Seconds a token lives; the hub accepts at most 300.
LIFETIME = 60
#: Attempts for one request on 429 / 5xx / network errors before giving up.
ATTEMPTS = 8
#: Longest Retry-After the client sleeps through; a longer one is reported instead.
MAX_WAIT = 120.0
#: Seconds to wait for the snapshot's first byte: the hub writes the whole list (and its
#: digest, a header) before sending any, about 30 s per million records.
SNAPSHOT_TIMEOUT = 1800.0


class HubRequestError(Exception):
    """The hub refused a request (4xx other than 429) or kept failing."""


class ShapeChanged(HubRequestError):
    """The hub now sends another projection than the one the held copy was built with."""


class PartnerClient:
    """Signs one token per request; retries 429 (after ``Retry-After``) and 5xx."""

    def __init__(self, hub: str, partner: str, kid: str, private_key: Any,
                 *, audience: str = AUDIENCE, timeout: float = 60.0) -> None:
        if isinstance(private_key, Ed25519PrivateKey):
            self.algorithm = "EdDSA"
        elif isinstance(private_key, EllipticCurvePrivateKey) and isinstance(
                private_key.curve, SECP256R1):
            self.algorithm = "ES256"
        else:
            raise ValueError("the key must be Ed25519 (EdDSA) or P-256 (ES256)")
        if urllib.parse.urlsplit(hub).scheme not in ("http", "https"):
            raise ValueError(f"--hub must be an http(s) URL, not {hub!r}")
        self.hub = hub.rstrip("/")
        self.partner = partner
        self.kid = kid
        self.key = private_key
        self.audience = audience
        self.timeout = timeout

    def token(self, method: str, url: str, body: bytes | None) -> str:
        """A fresh token bound to this method, URL (without query) and body."""
        parts = urllib.parse.urlsplit(url)
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.partner, "sub": self.partner, "aud": self.audience,
            "iat": now, "exp": now + LIFETIME, "jti": str(uuid.uuid4()),
            "htm": method, "htu": f"{parts.scheme}://{parts.netloc}{parts.path}",
        }
        if body:
            digest = hashlib.sha256(body).digest()
            claims["body_sha256"] = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        return jwt.encode(claims, self.key, algorithm=self.algorithm, headers={"kid": self.kid})

    def call(self, method: str, path: str, *, query: dict[str, Any] | None = None,
             payload: Any = None, read: Callable[[Any], Any] = json.load,
             timeout: float | None = None) -> Any:
        """One API call, JSON in; ``read(response)`` is returned (JSON out by default).

        :raises HubRequestError: with the problem's ``detail`` (and ``check`` for a 401).
        """
        url = self.hub + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        body = None if payload is None else json.dumps(payload, separators=(",", ":")).encode()
        for attempt in range(1, ATTEMPTS + 1):
            # A new token every attempt: a retried token would be refused as a replay.
            headers = {"Authorization": f"Bearer {self.token(method, url, body)}",
                       "Accept": "application/json"}
            if body is not None:
                headers["Content-Type"] = "application/json"
            request = urllib.request.Request(url, data=body, method=method, headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=timeout or self.timeout) as response:
                    return read(response)
            except urllib.error.HTTPError as exc:
                problem = _problem(exc)
                if exc.code == 429 or exc.code >= 500:
                    if attempt == ATTEMPTS:
                        raise HubRequestError(_describe(exc.code, problem)) from exc
                    delay = _retry_after(exc.headers.get("Retry-After"), attempt)
                    if delay > MAX_WAIT:  # the hour's snapshots used up, say: not a blip
                        raise HubRequestError(f"{_describe(exc.code, problem)}; the hub asks "
                                              f"to wait {delay:.0f} s: try again then") from exc
                    print(f"hub answered {exc.code}; retrying in {delay:.0f} s", file=sys.stderr)
                    time.sleep(delay)
                    continue
                raise HubRequestError(_describe(exc.code, problem)) from exc
            except urllib.error.URLError as exc:
                if attempt == ATTEMPTS:
                    raise HubRequestError(f"cannot reach {url}: {exc.reason}") from exc
                time.sleep(min(2 ** attempt, 30))
        raise AssertionError("unreachable")

    def pull(self, after: int, out: IO[bytes], *, limit: int = 1000,
             cursor: Path | None = None, shape: str | None = None) -> tuple[int, int]:
        """Page ``/changes`` from ``after`` until ``next_after == high_water``; ``shape``:
        the projection the held copy is in (None: take the first page's).

        :returns: ``(last cursor, events written)``.
        """
        written = 0
        while True:
            page = self.call("GET", "/api/v1/changes", query={"after": after, "limit": limit})
            if shape is not None and page["shape"] != shape:
                raise ShapeChanged(f"the hub now sends shape {page['shape']}, not {shape}: "
                                   "take a new snapshot (--snapshot FILE)")
            shape = page["shape"]
            for event in page["events"]:
                out.write(json.dumps(event, ensure_ascii=False).encode() + b"\n")
            written += len(page["events"])
            out.flush()
            after = page["next_after"]
            if cursor is not None:
                _save_cursor(cursor, after, shape, out)
            if after >= page["high_water"]:
                return after, written

    def snapshot(self, path: Path) -> tuple[int, int, str]:
        """``GET /snapshot`` into ``path``, checked against ``Repr-Digest``.

        :returns: ``(X-Hub-Seq, X-Hub-Records, X-Hub-Shape)``: page ``/changes`` from
            that seq, expecting that shape.
        """
        def save(response: Any) -> tuple[int, int, str]:
            digest = hashlib.sha256()
            tmp = path.with_name(path.name + ".part")
            with tmp.open("wb") as f:
                while chunk := response.read(256 * 1024):
                    digest.update(chunk)
                    f.write(chunk)
            expected = response.headers.get("Repr-Digest", "")
            actual = f"sha-256=:{base64.b64encode(digest.digest()).decode()}:"
            if actual not in expected.split(","):
                tmp.unlink()
                raise HubRequestError(f"snapshot digest {actual} is not the hub's {expected}")
            os.replace(tmp, path)
            return (int(response.headers["X-Hub-Seq"]), int(response.headers["X-Hub-Records"]),
                    response.headers["X-Hub-Shape"])

        return cast(tuple[int, int, str], self.call("GET", "/api/v1/snapshot", read=save,
                                               timeout=max(self.timeout, SNAPSHOT_TIMEOUT)))

    def ack(self, through_seq: int) -> int:
        """Tell the hub everything through ``through_seq`` is held; returns its acked_seq."""
        return int(self.call("POST", "/api/v1/acks", payload={"through_seq": through_seq})
                   ["acked_seq"])


def _problem(exc: urllib.error.HTTPError) -> dict[str, Any]:
    try:
        body = json.loads(exc.read() or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _describe(status: int, problem: dict[str, Any]) -> str:
    text = f"hub refused the request: {status} {problem.get('title', '')}".rstrip()
    if problem.get("check"):
        text += f" [check: {problem['check']}]"
    if problem.get("detail"):
        text += f": {problem['detail']}"
    return text


def _retry_after(value: str | None, attempt: int) -> float:
    try:
        return max(1.0, float(value)) if value else float(min(2 ** attempt, 30))
    except ValueError:  # an HTTP-date: rare; back off instead of parsing it
        return float(min(2 ** attempt, 30))


def _save_cursor(path: Path, after: int, shape: str, out: IO[bytes]) -> None:
    """Write the cursor (``<after> <shape>``) only once the events before it are
    durable, and atomically."""
    with contextlib.suppress(OSError, ValueError):  # a pipe or a terminal: nothing to sync
        os.fsync(out.fileno())
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(f"{after} {shape}\n")
    os.replace(tmp, path)


def _read_cursor(path: Path) -> tuple[int, str | None]:
    """``(after, shape)`` from a cursor file (an older one holds only ``after``)."""
    parts = path.read_text().split()
    return (int(parts[0]) if parts else 0), (parts[1] if len(parts) > 1 else None)


def load_key(path: Path) -> Any:
    return load_pem_private_key(path.read_bytes(), password=None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hub", required=True, help="base URL, e.g. https://hub.example.cn")
    parser.add_argument("--partner", required=True, help="your partner id (iss and sub)")
    parser.add_argument("--kid", required=True,
                        help="the kid `hub partners add-key` printed (as --kid=KID)")
    parser.add_argument("--key", required=True, type=Path, help="your private key (PEM)")
    parser.add_argument("--after", type=int, help="start after this seq instead of the cursor")
    parser.add_argument("--snapshot", type=Path, metavar="FILE",
                        help="first save the full list here and page changes from its seq")
    parser.add_argument("--cursor", type=Path, help="cursor file (default <partner>.cursor)")
    parser.add_argument("--out", type=Path, help="append events here (default stdout)")
    parser.add_argument("--limit", type=int, default=1000, help="events per page (max 1000)")
    parser.add_argument("--audience", default=AUDIENCE, help="the hub's HUB_AUDIENCE")
    parser.add_argument("--no-ack", action="store_true", help="do not POST /acks at the end")
    args = parser.parse_args(argv)

    cursor = args.cursor or Path(f"{args.partner}.cursor")
    after, shape = 0, None
    if args.after is not None:
        after = args.after
    elif cursor.exists():
        after, shape = _read_cursor(cursor)
    client = PartnerClient(args.hub, args.partner, args.kid, load_key(args.key),
                           audience=args.audience)
    out = args.out.open("ab") if args.out else sys.stdout.buffer
    try:
        if args.snapshot:
            after, records, shape = client.snapshot(args.snapshot)
            print(f"snapshot of {records} records as of seq {after} in {args.snapshot}",
                  file=sys.stderr)
        last, written = client.pull(after, out, limit=args.limit, cursor=cursor, shape=shape)
        acked = None if args.no_ack or last == 0 else client.ack(last)
    except HubRequestError as exc:
        print(exc, file=sys.stderr)
        return 1
    finally:
        if args.out:
            out.close()
    print(f"{written} events after seq {after}, cursor now {last}"
          + ("" if acked is None else f", acked through {acked}"), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
