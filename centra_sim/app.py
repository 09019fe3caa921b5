"""The simulator over HTTP: a Starlette app for one ``Simulator`` (backend.py), with its faults.

``POST /graphql`` behaves as Centra documents (docs/centra-facts.md, the checklist); ``/admin/*`` is the simulator's own
control surface for tests: tokens, faults, the clock, webhook stats, the ground truth and the schema variant
(``/admin/schema``: serve "another Centra version", see api/variants.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import time

import orjson
from starlette.applications import Starlette
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from . import truth
from .backend import Simulator
from .faults import impossible_money, internal_error, serve_money
from .store.timeline import DAY


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
        if (not faults.hold_root or faults.hold_root in (out.get("data") or {})) and faults.draw("hold_rate"):
            await asyncio.sleep(faults.hold_seconds)
        if status == 200 and out.get("data") and faults.draw("internal_error_rate"):
            out = internal_error(out)
        if faults.money_literal and status == 200:
            body = serve_money(orjson.dumps(impossible_money(out)), faults.money_literal)
            return Response(body, status_code=status, headers=headers, media_type="application/json")
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
