"""``POST /webhooks/centra``: verify, store durably, then (and only then) answer 2xx. ``GET /health``.

Centra's plugin posts ``application/x-www-form-urlencoded`` with one field, ``payload``, holding JSON:
``{"events": [{"type", "action", "date", "id"}, ...]}`` for the Integration API version. Other versions
send ``{"<type>": ["<id>", ...]}``; those are stored too, one event per id, and ignored downstream.
Answers: 200 stored, 400 malformed, 401 no or bad signature, 405 wrong method, 409 replayed request,
413 too large, 415 wrong content type. Centra gives up after 5 s, so the work per request is one
SQLite transaction.
"""

from __future__ import annotations

import binascii
import logging
import re
import urllib.parse

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .signature import DEFAULT_TOLERANCE, SignatureError, verify
from .store import EventStore, Replay

log = logging.getLogger("centra_assets.webhooks")
MAX_BODY = 1_000_000  # bytes; 100 events of Centra's shape are a few kB
FORM = "application/x-www-form-urlencoded"


class BadPayload(ValueError):
    pass


def events_of(body: bytes) -> list[dict]:
    """The events in a Centra webhook body, or BadPayload saying what is wrong."""
    try:
        payload = orjson.loads(_payload_field(body))
    except (UnicodeDecodeError, ValueError, KeyError) as exc:
        raise BadPayload(f"expected a form field `payload` holding JSON ({type(exc).__name__})") from None
    if not isinstance(payload, dict):
        raise BadPayload("`payload` must be a JSON object")
    if "events" in payload:
        events = payload["events"]
        if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
            raise BadPayload("`events` must be a list of objects")
        return events
    # other plugin versions: {"products": ["1", "6"], ...}
    if not all(isinstance(ids, list) for ids in payload.values()):
        raise BadPayload('`payload` is neither {"events": [...]} nor {"<type>": [ids]}')
    return [{"type": kind, "action": "changed", "id": i} for kind, ids in payload.items() for i in ids]


_PAYLOAD = b"payload="
_ESCAPE = re.compile(rb"%[0-9A-Fa-f]{2}")


def _payload_field(body: bytes) -> bytes:
    """The form field `payload`, percent-decoded. Centra sends just that one field, so the usual body is
    decoded in C: quoted-printable is percent-encoding with `=` for `%`. Anything else goes through urllib."""
    value = body[len(_PAYLOAD) :]
    if (
        body.startswith(_PAYLOAD)
        and not any(c in value for c in (b"&", b"=", b"\r", b"\n"))
        and value.count(b"%") == len(_ESCAPE.findall(value))
    ):
        return binascii.a2b_qp(value.replace(b"+", b" ").replace(b"%", b"="))
    form = urllib.parse.parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True, max_num_fields=20)
    return form["payload"][0].encode("utf-8")


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


def build_app(
    store: EventStore, secret: str, tolerance: float = DEFAULT_TOLERANCE, max_body: int = MAX_BODY
) -> Starlette:
    if not secret:
        raise ValueError("CENTRA_WEBHOOK_SECRET is empty: set it to the plugin's endpoint secret")

    async def receive(request: Request) -> JSONResponse:
        if request.method != "POST":
            return _error(405, "use POST", Allow="POST")
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != FORM:
            return _error(415, f"expected {FORM}")
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_body:
            return _error(413, f"body over {max_body} bytes")
        if declared and declared.isdigit():  # the usual case: read it in one go
            body = await request.body()
        else:
            body = b""
            async for chunk in request.stream():
                body += chunk
                if len(body) > max_body:
                    return _error(413, f"body over {max_body} bytes")
        try:
            signature = verify(secret, request.headers.get("x-centra-signature"), body, tolerance)
        except SignatureError as exc:
            log.warning("rejected a webhook from %s: %s", request.client.host if request.client else "?", exc)
            return _error(401, str(exc))
        try:
            events = events_of(body)
            stored = await store.append_async(signature.v1, signature.timestamp, events)
        except BadPayload as exc:
            log.warning("rejected a malformed webhook: %s", exc)
            return _error(400, str(exc))
        except Replay as exc:
            log.warning("rejected a replayed webhook (signed at %d)", signature.timestamp)
            return _error(409, str(exc))
        if log.isEnabledFor(logging.INFO):
            kinds = ", ".join(sorted({str(e.get("type")) for e in events}))
            log.info("stored %d events (%s) signed at %d", stored, kinds, signature.timestamp)
        return Response(b'{"stored":%d}' % stored, media_type="application/json")

    async def health(_request: Request) -> JSONResponse:
        return JSONResponse({"ok": True, "events": await run_in_threadpool(store.count)})

    return Starlette(
        routes=[
            Route("/webhooks/centra", receive, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
            Route("/health", health),
        ]
    )
