"""``POST /webhooks/centra/<store>``: verify, store durably, then (and only then) answer 2xx. ``GET /health``.

Each Centra store posts to its own path with its own secret, and its events go to its own event store;
``POST /webhooks/centra`` serves the single store of a one-store deployment.

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
from starlette.responses import JSONResponse
from starlette.routing import Route

from .signature import DEFAULT_TOLERANCE, SignatureError, verify
from .store import EventStore, Replay

log = logging.getLogger("centra_assets.webhooks")
MAX_BODY = 1_000_000  # bytes; 100 events of Centra's shape are a few kB
FORM = "application/x-www-form-urlencoded"
FORM_BYTES = FORM.encode()


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


class _Reject(Exception):
    def __init__(self, status: int, message: str, *headers: tuple[bytes, bytes]):
        super().__init__(message)
        self.status, self.headers = status, list(headers)


class _Receiver:
    """`POST /webhooks/centra` as a plain ASGI app: Centra's deliveries are the hot path, so the endpoint reads
    the few headers it needs straight from the scope and answers with two messages, without request and
    response objects."""

    def __init__(self, store: EventStore, secret: str, tolerance: float, max_body: int):
        self.store, self.secret, self.tolerance, self.max_body = store, secret, tolerance, max_body

    async def __call__(self, scope, receive, send) -> None:
        try:
            status, body, headers = 200, await self._handle(scope, receive), []
        except _Reject as exc:
            status, body, headers = exc.status, orjson.dumps({"error": str(exc)}), exc.headers
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body)), *headers],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _handle(self, scope, receive) -> bytes:
        if scope["method"] != "POST":
            raise _Reject(405, "use POST", (b"allow", b"POST"))
        headers = dict(scope["headers"])  # names arrive lower-cased
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if content_type != FORM_BYTES:
            raise _Reject(415, f"expected {FORM}")
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_body:
            raise _Reject(413, f"body over {self.max_body} bytes")
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Reject(400, "the client went away before the body arrived")
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_body:
                raise _Reject(413, f"body over {self.max_body} bytes")
        signature_header = headers.get(b"x-centra-signature")
        try:
            signature = verify(
                self.secret, signature_header.decode("latin-1") if signature_header else None, body, self.tolerance
            )
        except SignatureError as exc:
            client = scope.get("client") or ("?",)
            log.warning("rejected a webhook from %s: %s", client[0], exc)
            raise _Reject(401, str(exc)) from None
        try:
            events = events_of(body)
            stored = await self.store.append_async(signature.v1, signature.timestamp, events)
        except BadPayload as exc:
            log.warning("rejected a malformed webhook: %s", exc)
            raise _Reject(400, str(exc)) from None
        except Replay as exc:
            log.warning("rejected a replayed webhook (signed at %d)", signature.timestamp)
            raise _Reject(409, str(exc)) from None
        if log.isEnabledFor(logging.INFO):
            kinds = ", ".join(sorted({str(e.get("type")) for e in events}))
            log.info("stored %d events (%s) signed at %d", stored, kinds, signature.timestamp)
        return b'{"stored":%d}' % stored


def build_app(
    store: EventStore | None,
    secret: str = "",
    tolerance: float = DEFAULT_TOLERANCE,
    max_body: int = MAX_BODY,
    stores: dict[str, tuple[EventStore, str]] | None = None,
) -> Starlette:
    """`store` and `secret` serve ``/webhooks/centra``; `stores` maps a store's name to its event store and
    secret, served at ``/webhooks/centra/<name>``."""
    endpoints = {f"/{name}": pair for name, pair in (stores or {}).items()}
    if store is not None:
        endpoints[""] = (store, secret)
    if not endpoints:
        raise ValueError("no webhook endpoint to serve")
    for path, (_, key) in endpoints.items():
        if not key:
            raise ValueError(
                f"the webhook secret for /webhooks/centra{path} is empty: set it to the plugin's endpoint secret"
            )

    async def health(_request: Request) -> JSONResponse:
        named = {}  # each event store once (a single store is served at two paths), under its store's name
        for path, (s, _) in endpoints.items():
            named.setdefault(id(s), (path.lstrip("/") or "default", s))
        counts = {name: await run_in_threadpool(s.count) for name, s in named.values()}
        return JSONResponse({"ok": True, "events": sum(counts.values()), "by_store": counts})

    return Starlette(
        routes=[
            # every method: 405 is ours
            *(
                Route(f"/webhooks/centra{path}", _Receiver(s, key, tolerance, max_body))
                for path, (s, key) in endpoints.items()
            ),
            Route("/health", health),
        ]
    )
