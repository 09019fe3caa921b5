"""The simulator: a local Centra Integration API over HTTP, with its clock, tokens, limits and faults.

``POST /graphql`` behaves as Centra documents (docs/centra-facts.md, the checklist); ``/admin/*`` is the simulator's own
control surface for tests: tokens, faults, the clock, webhook stats, the ground truth and the schema variant
(``/admin/schema``: serve "another Centra version", see variants.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import itertools
import json
import logging
import math
import re
import threading
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import orjson
from graphql import GraphQLError, execute, parse, specified_rules, validate
from graphql.execution.values import get_variable_values
from graphql.language import OperationDefinitionNode, OperationType
from graphql.validation import ValidationRule
from starlette.applications import Starlette
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from . import truth
from .catalog import Catalog
from .complexity import analyze
from .events import EventQueue, WebhookSender, changes_between
from .executor import FastExecutor
from .faults import Faults, internal_error
from .permissions import ALL_PERMISSIONS
from .ratelimit import RateLimiter
from .records import Records
from .schema import ServedSchema, default_schema, reference_schema, served_schema
from .timeline import DAY, Timeline
from .variants import Variant, normalize

log = logging.getLogger("centra_sim")
APP_VERSION = "v1.1.1-sim"


@dataclass(frozen=True)
class Token:
    value: str
    permissions: frozenset
    integration: str = "centra-assets"
    expires_at: float | None = None  # real (wall clock) epoch seconds


INTROSPECTION_DISABLED = "GraphQL introspection is not allowed, but the query contained __schema or __type"
_SINGLE_QUOTED = re.compile(r"'([^'\n]*)'")


def php_error(error: GraphQLError) -> dict:
    """A request error as graphql-php (which Centra runs on) words it: graphql-core's single-quoted names in
    double quotes (`Cannot query field "x" on type "Y".`), with locations and extensions.category "graphql"."""
    out = error.formatted
    out["message"] = _SINGLE_QUOTED.sub(r'"\1"', error.message)
    out["extensions"] = {**(out.get("extensions") or {}), "category": "graphql"}
    return out


class DisableIntrospection(ValidationRule):
    """graphql-php's DisableIntrospection rule: any __schema or __type field refuses the whole request."""

    def enter_field(self, node, *_args):
        if node.name.value in ("__schema", "__type"):
            self.report_error(GraphQLError(INTROSPECTION_DISABLED, node))


class Serving:
    """What one schema variant serves with: the schema, its executor and its parsed-document cache. Replaced
    whole when the variant changes, so a request in flight finishes on the schema it started with."""

    def __init__(self, variant: Variant, served: ServedSchema):
        self.variant, self.served = variant, served
        self.schema, self.resolvers = served.schema, served.resolvers
        self.executor = FastExecutor(served.schema, served.resolvers, served.type_names)
        self.app_version = variant.app_version(APP_VERSION)
        self.rules = specified_rules if variant.introspection else (*specified_rules, DisableIntrospection)
        self.documents: OrderedDict = OrderedDict()
        self.introspected: dict[tuple[str, str], dict] = {}  # introspection answers: they depend on the schema alone
        self._reference = None

    @property
    def reference_schema(self):
        """The schema wired for graphql-core's own execute (introspection), built on first use."""
        if self._reference is None:
            self._reference = reference_schema(self.schema, self.resolvers, self.served.type_names)
        return self._reference

    def document(self, query: str):
        """Parse and validate once per distinct query text (clients send the same few queries)."""
        cached = self.documents.get(query)
        if cached is None:
            try:
                document = parse(query)
                errors = validate(self.schema, document, self.rules)
            except GraphQLError as exc:
                document, errors = None, [exc]
            cached = (document, [php_error(e) for e in errors])
            self.documents[query] = cached
            if len(self.documents) > 256:
                self.documents.popitem(last=False)
        return cached


@dataclass
class Context:
    sim: Simulator
    t: float
    token: Token

    @property
    def granted(self) -> frozenset:
        return self.token.permissions


class Clock:
    """Simulated time: frozen unless live; live time runs `scale` times faster than the wall clock."""

    def __init__(self, t0: float, scale: float, live: bool):
        self.scale, self.live = scale, live
        self._base, self._mono = t0, time.monotonic()
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._base + ((time.monotonic() - self._mono) * self.scale if self.live else 0.0)

    def jump(self, seconds: float) -> float:
        with self._lock:
            self._base += seconds
        return self.now()


class Simulator:
    def __init__(
        self,
        seed: int = 1,
        days: int = 30,
        orders_per_day: int = 200,
        now: float | None = None,
        timezone: str = "Europe/Stockholm",
        plan: str = "growth",
        time_scale: float = 1.0,
        live: bool = False,
        rate_limits: bool = True,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        faults: Faults | None = None,
        schema_variant: str | dict | None = None,
    ):
        self.tz = ZoneInfo(timezone)
        now = time.time() if now is None else now
        today = dt.datetime.fromtimestamp(now, self.tz).date()
        first = today - dt.timedelta(days=days)
        start = dt.datetime(first.year, first.month, first.day, tzinfo=self.tz).timestamp()
        self.config = {
            "seed": seed,
            "days": days,
            "orders_per_day": orders_per_day,
            "timezone": timezone,
            "plan": plan,
            "time_scale": time_scale,
            "live": live,
            "start": start,
        }
        self.catalog = Catalog(seed=seed, start=start)
        self.timeline = Timeline(self.catalog, orders_per_day, self.tz)
        self.records = Records(self.catalog, self.timeline)
        self.serving = self._serving_for(schema_variant)
        self.limiter = RateLimiter(plan, time_scale, rate_limits)
        self.faults = faults or Faults(seed=seed)
        self.events = EventQueue()
        self.webhooks = (
            WebhookSender(webhook_url, webhook_secret, self.tz, time_scale, self.faults) if webhook_url else None
        )
        self.clock = Clock(now, time_scale, live)
        self.tokens: dict[str, Token] = {}
        # what the simulator answered: tests assert on these (no retry storms, no 429s under pacing)
        self.stats: Counter[str] = Counter()
        self._published = now
        self._publish_lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    # -- clock and change feed ---------------------------------------------------------------------------
    def publish(self) -> int:
        """Announce every change up to now (event queue and webhooks); returns how many."""
        with self._publish_lock:
            now = self.clock.now()
            changes = changes_between(self, self._published, now)
            self._published = now
        self.events.publish(changes)
        if self.webhooks:
            self.webhooks.send(changes)
        return len(changes)

    def start_ticking(self, interval: float = 0.25) -> None:
        def run():
            while not self._stop.wait(interval):
                try:
                    self.publish()
                except Exception:  # keep the clock going; the error is logged
                    log.exception("publishing changes failed")

        self._ticker = threading.Thread(target=run, name="centra-sim-clock", daemon=True)
        self._ticker.start()

    def stop(self) -> None:
        self._stop.set()
        if self.webhooks:
            self.webhooks.stop()

    # -- tokens --------------------------------------------------------------------------------------------
    def add_token(
        self, value: str, permissions=None, integration: str = "centra-assets", expires_at: float | None = None
    ) -> Token:
        perms = ALL_PERMISSIONS if permissions in (None, "all") else frozenset(permissions)
        token = Token(value, perms, integration, expires_at)
        self.tokens[value] = token
        return token

    # -- schema variant --------------------------------------------------------------------------------------
    def _serving_for(self, spec) -> Serving:
        variant = normalize(spec, default_schema())  # ValueError for unknown names or presets
        return Serving(variant, served_schema(self.config["timezone"], variant))

    def set_schema_variant(self, spec) -> Variant:
        """Serve another schema variant from the next request on (None or {} = the default schema)."""
        self.serving = self._serving_for(spec)
        return self.serving.variant

    @property
    def schema(self):
        return self.serving.schema

    @property
    def resolvers(self):
        return self.serving.resolvers

    @property
    def executor(self):
        return self.serving.executor

    @property
    def reference_schema(self):
        return self.serving.reference_schema

    @property
    def app_version(self) -> str:
        return self.serving.app_version

    # -- GraphQL -------------------------------------------------------------------------------------------
    def graphql(self, token: Token, body: dict) -> tuple[int, dict, dict]:
        """Run one request; returns (HTTP status, JSON body, extra headers)."""
        query, variables = body.get("query"), body.get("variables") or {}
        if not isinstance(query, str) or not isinstance(variables, dict):
            return (
                400,
                {"errors": [{"message": "Request body must be JSON with a string 'query' and an object 'variables'"}]},
                {},
            )
        serving = self.serving
        envelope = functools.partial(self._envelope, app_version=serving.app_version)
        document, errors = serving.document(query)
        if errors:
            return 200, envelope({"errors": errors}, 0, set()), {}
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        name = body.get("operationName")
        operation = next((o for o in operations if name is None or (o.name and o.name.value == name)), None)
        if operation is None or (name is None and len(operations) > 1):
            return 200, envelope({"errors": [{"message": "Must provide a valid operationName."}]}, 0, set()), {}
        coerced = get_variable_values(serving.schema, operation.variable_definitions or [], variables)
        if isinstance(coerced, list):
            return 200, envelope({"errors": [php_error(e) for e in coerced]}, 0, set()), {}
        try:
            cost, used = analyze(serving.schema, document, operation, coerced, serving.served.permissions)
        except GraphQLError as exc:
            return 200, envelope({"errors": [exc.formatted]}, 0, set()), {}
        mutations = len(operation.selection_set.selections) if operation.operation == OperationType.MUTATION else 0
        wait = self.limiter.charge(cost, mutations)
        if wait > 0:
            self.stats["rate_limited"] += 1
            return self.too_many_requests(wait)
        self.stats["complexity"] += cost
        ctx = Context(self, self.clock.now(), token)
        roots = [s.name.value for s in operation.selection_set.selections if hasattr(s, "name")]
        if any(r.startswith("__") and r != "__typename" for r in roots):
            # pure introspection depends on the schema alone: answered from a cache, as a server with a cached
            # schema answers it (graphql-core's introspection of this schema takes ~0.3 s of CPU)
            cache_key = (query, json.dumps(coerced, sort_keys=True)) if all(r.startswith("__") for r in roots) else None
            out = serving.introspected.get(cache_key) if cache_key else None
            if out is None:
                result = execute(
                    serving.reference_schema,
                    document,
                    context_value=ctx,
                    variable_values=coerced,
                    operation_name=name,
                )
                out = {"data": result.data}
                if result.errors:
                    out["errors"] = [e.formatted for e in result.errors]
                elif cache_key:
                    serving.introspected[cache_key] = out
            out = dict(out)  # the envelope adds this request's extensions
        else:
            out = serving.executor.execute(document, operation, coerced, ctx)
        return 200, envelope(out, cost, used), {}

    @staticmethod
    def _envelope(out: dict, cost: int, used: set, app_version: str = APP_VERSION) -> dict:
        out["extensions"] = {"complexity": cost, "permissionsUsed": sorted(used), "appVersion": app_version}
        return out

    @staticmethod
    def too_many_requests(wait: float) -> tuple[int, dict, dict]:
        # Centra: 429 with Retry-After "pointing at a timestamp" when requests may resume. We send that
        # timestamp as Unix seconds (format UNCONFIRMED); the body shape is UNCONFIRMED too.
        resume = math.ceil(time.time() + min(wait, 3600.0))
        return (
            429,
            {
                "errors": [
                    {"message": "Too Many Requests: rate limit exceeded", "extensions": {"category": "rate-limit"}}
                ]
            },
            {"Retry-After": str(resume)},
        )

    def authenticate(self, request: Request) -> tuple[Token | None, str | None]:
        """Bearer header or the graphql-access cookie. Rejections are HTTP 401 (status UNCONFIRMED)."""
        header = request.headers.get("authorization", "")
        value = header[7:].strip() if header.lower().startswith("bearer ") else request.cookies.get("graphql-access")
        if not value:
            return None, "Missing access token: send 'Authorization: Bearer <token>'"
        token = self.tokens.get(value)
        if token is None:
            return None, "Invalid access token"
        if token.expires_at is not None and token.expires_at <= time.time():
            return None, "Access token has expired"
        return token, None


# ---------------------------------------------------------------- HTTP


class _ResetResponse(Response):
    """Starts a response and cuts the connection mid-body, as a reset or a dying proxy does."""

    async def __call__(self, scope, receive, send):
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"data": {"ord', "more_body": True})
        raise ConnectionResetError("fault injection: connection reset")


def _json(body: dict, status: int = 200, headers: dict | None = None) -> Response:
    return Response(
        orjson.dumps(body),
        status_code=status,
        headers=headers,
        media_type="application/json",
    )


def build_app(sim: Simulator) -> Starlette:
    faults = sim.faults

    async def graphql_endpoint(request: Request) -> Response:
        if request.method != "POST":
            return _json({"errors": [{"message": "Use POST"}]}, 405, {"Allow": "POST"})
        sim.stats["requests"] += 1
        token, problem = sim.authenticate(request)
        if token is None:
            sim.stats["unauthenticated"] += 1
            return _json({"errors": [{"message": problem, "extensions": {"category": "authentication"}}]}, 401)
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        if faults.draw("rate_limit_rate"):
            status, body, headers = sim.too_many_requests(0.5)
            return _json(body, status, headers)
        if faults.draw("error_rate"):
            return _json({"errors": [{"message": "Service Unavailable"}]}, 503)
        if faults.draw("html_error_rate"):
            return HTMLResponse("<html><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>", 502)
        if faults.draw("reset_rate"):
            return _ResetResponse()
        if faults.draw("slow_rate"):
            await asyncio.sleep(faults.slow_seconds)
        try:
            body = json.loads(await request.body())
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except ValueError:
            return _json({"errors": [{"message": "Request body is not valid JSON"}]}, 400)
        status, out, headers = await run_in_threadpool(sim.graphql, token, body)
        if status == 200 and out.get("data") and faults.draw("internal_error_rate"):
            out = internal_error(out)
        return _json(out, status, headers)

    async def admin_tokens(request: Request) -> Response:
        spec = await request.json()
        expires = spec.get("expiresAt")
        if spec.get("expiresIn") is not None:
            expires = time.time() + float(spec["expiresIn"])
        token = sim.add_token(
            spec["token"], spec.get("permissions"), spec.get("integrationName", "centra-assets"), expires
        )
        return JSONResponse({"token": "***", "permissions": sorted(token.permissions), "expiresAt": expires})

    async def admin_revoke(request: Request) -> Response:
        sim.tokens.pop((await request.json())["token"], None)
        return JSONResponse({"revoked": True})

    async def admin_faults(request: Request) -> Response:
        if request.method == "POST":
            try:
                faults.update(await request.json())
            except ValueError as exc:
                return JSONResponse({"error": str(exc)}, 400)
        return JSONResponse(faults.as_dict())

    async def admin_clock(request: Request) -> Response:
        if request.method == "POST":
            spec = await request.json()
            if "advance" in spec:
                sim.clock.jump(float(spec["advance"]))
            elif "to" in spec:
                sim.clock.jump(dt.datetime.fromisoformat(spec["to"]).timestamp() - sim.clock.now())
        published = await run_in_threadpool(sim.publish) if request.method == "POST" else 0
        now = sim.clock.now()
        return JSONResponse(
            {
                "now": dt.datetime.fromtimestamp(now, sim.tz).isoformat(),
                "epoch": now,
                "published": published,
                "start": sim.config["start"],
            }
        )

    async def admin_webhooks(_request: Request) -> Response:
        hooks = sim.webhooks
        return JSONResponse(
            {
                "enabled": hooks is not None,
                "idle": hooks.idle() if hooks else True,
                "stats": hooks.stats if hooks else {},
                "dropped": hooks.dropped if hooks else [],
            }
        )

    async def admin_truth(request: Request) -> Response:
        entity = request.path_params["entity"]
        t = sim.clock.now()
        start, end = request.query_params.get("from"), request.query_params.get("to")
        lo = dt.datetime.fromisoformat(start).timestamp() if start else sim.config["start"] - 400 * DAY
        hi = dt.datetime.fromisoformat(end).timestamp() if end else t + 1
        if entity not in truth.EXPORTS:
            return JSONResponse({"error": f"unknown entity {entity!r}", "entities": sorted(truth.EXPORTS)}, 404)

        def chunks():  # a thousand rows at a time: a million orders never sit in memory at once
            yield b'{"entity":' + orjson.dumps(entity) + b',"asOf":' + orjson.dumps(t) + b',"rows":['
            rows = truth.EXPORTS[entity](sim, t, lo, hi)
            first = next(rows, None)
            if first is not None:
                yield orjson.dumps(first)
            while batch := list(itertools.islice(rows, 1000)):
                yield b"".join(b"," + orjson.dumps(row) for row in batch)
            yield b"]}"

        return StreamingResponse(iterate_in_threadpool(chunks()), media_type="application/json")

    async def admin_info(_request: Request) -> Response:
        return JSONResponse(
            {
                **sim.config,
                "now": sim.clock.now(),
                "appVersion": sim.app_version,
                "stats": sim.stats,
                "faults_fired": sim.faults.fired,
            }
        )

    async def admin_schema(request: Request) -> Response:
        """GET: the variant served and its appVersion. POST {"preset": name} or {"hide": [...], "rename": {...},
        "introspection": bool}: serve that variant from the next request on ({} = the default schema)."""
        if request.method == "POST":
            try:
                spec = await request.json()
                await run_in_threadpool(sim.set_schema_variant, spec or None)
            except ValueError as exc:
                return JSONResponse({"error": str(exc)}, 400)
        return JSONResponse({"variant": sim.serving.variant.as_dict(), "appVersion": sim.app_version})

    routes = [
        Route("/graphql", graphql_endpoint, methods=["GET", "POST", "PUT", "DELETE"]),
        Route("/admin/info", admin_info),
        Route("/admin/tokens", admin_tokens, methods=["POST"]),
        Route("/admin/tokens/revoke", admin_revoke, methods=["POST"]),
        Route("/admin/faults", admin_faults, methods=["GET", "POST"]),
        Route("/admin/clock", admin_clock, methods=["GET", "POST"]),
        Route("/admin/webhooks", admin_webhooks),
        Route("/admin/schema", admin_schema, methods=["GET", "POST"]),
        Route("/admin/ground-truth/{entity}", admin_truth),
    ]
    return Starlette(routes=routes)


class BackgroundServer:
    """Serve an ASGI app on 127.0.0.1 from a thread (tests, demo, bench): ``with BackgroundServer(app) as url``."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0):
        import uvicorn

        self._server = uvicorn.Server(
            uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="off")
        )
        self._thread = threading.Thread(target=self._server.run, name="centra-sim-http", daemon=True)
        self.url = ""

    def __enter__(self) -> str:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the HTTP server did not start")
            time.sleep(0.01)
        host, port = self._server.servers[0].sockets[0].getsockname()[:2]
        self.url = f"http://{host}:{port}"
        return self.url

    def __exit__(self, *exc) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
