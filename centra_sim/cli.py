"""centra-sim: a local Centra Integration API.

centra-sim serve --port 8765 --seed 1 --days 30 --orders-per-day 200 --token sim-token
centra-sim serve --schema-variant sparse --hide Order.userIP --rename OrderTotals.lineValues=itemsSubtotal
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import time

import uvicorn

from .api.schema import default_schema, served_schema
from .api.variants import PRESETS, normalize
from .app import build_app
from .backend import Simulator
from .faults import Faults
from .ratelimit import PLANS

FAULT_FLAGS = {
    "latency_ms": float,
    "error_rate": float,
    "rate_limit_rate": float,
    "reset_rate": float,
    "slow_rate": float,
    "slow_seconds": float,
    "hold_rate": float,
    "hold_seconds": float,
    "hold_root": str,
    "html_error_rate": float,
    "webhook_drop_rate": float,
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="centra-sim", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="serve POST /graphql (and /admin/*) on HOST:PORT")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8765)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--days", type=int, default=30, help="days of history before today")
    s.add_argument("--orders-per-day", type=int, default=200)
    s.add_argument("--now", help="freeze 'now' at this ISO time (default: the wall clock at start)")
    s.add_argument("--timezone", default="Europe/Stockholm", help="the store's timezone")
    s.add_argument(
        "--token", action="append", default=[], help="a token with every read permission (and Event:write); repeatable"
    )
    s.add_argument("--tokens-file", help="JSON list of {token, permissions, integrationName, expiresIn}")
    s.add_argument("--plan", choices=sorted(PLANS), default="growth", help="Centra rate-limit plan")
    s.add_argument("--no-rate-limits", action="store_true")
    s.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="compress rate-limit windows, the live clock and webhook retry delays by this factor",
    )
    s.add_argument("--live", action="store_true", help="the clock advances: orders arrive and move on")
    s.add_argument("--webhook-url", help="POST Centra webhooks (Integration API type) here")
    s.add_argument("--webhook-secret", help="endpoint secret that signs the webhooks")
    for name, kind in FAULT_FLAGS.items():
        s.add_argument(f"--{name.replace('_', '-')}", type=kind, default=None, help=f"fault: {name}")
    s.add_argument(
        "--schema-variant", choices=sorted(PRESETS), help="serve a preset schema variant (another Centra version)"
    )
    s.add_argument(
        "--hide", action="append", default=[], metavar="TYPE[.FIELD]", help="leave out of the schema; repeatable"
    )
    s.add_argument(
        "--rename",
        action="append",
        default=[],
        metavar="TYPE[.FIELD]=NEWNAME",
        help="serve a type or output field under another name; repeatable",
    )
    s.add_argument("--no-introspection", action="store_true", help="refuse __schema and __type, as graphql-php can")
    s.add_argument("--log-level", default="warning")
    return p


def schema_variant(args: argparse.Namespace) -> dict | None:
    """The --schema-variant/--hide/--rename/--no-introspection flags as a Simulator(schema_variant=...) value."""
    rename = {}
    for item in args.rename:
        name, sep, new = item.partition("=")
        if not sep or not name or not new:
            raise ValueError(f"--rename takes TYPE.FIELD=NEWNAME, not {item!r}")
        rename[name] = new
    spec = {"preset": args.schema_variant, "hide": args.hide, "rename": rename}
    if args.no_introspection:
        spec["introspection"] = False
    return spec if args.schema_variant or args.hide or rename or args.no_introspection else None


def main(argv: list[str] | None = None) -> None:
    p = parser()
    args = p.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    import datetime as dt

    faults = Faults(seed=args.seed)
    faults.update({k: getattr(args, k) for k in FAULT_FLAGS if getattr(args, k) is not None})
    started = time.perf_counter()
    sim = Simulator(
        seed=args.seed,
        days=args.days,
        orders_per_day=args.orders_per_day,
        now=dt.datetime.fromisoformat(args.now).timestamp() if args.now else None,
        timezone=args.timezone,
        plan=args.plan,
        time_scale=args.time_scale,
        live=args.live,
        rate_limits=not args.no_rate_limits,
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
        faults=faults,
        schema_variant=_checked(p, schema_variant, args),
    )
    for token in args.token:
        sim.add_token(token)
    if args.tokens_file:
        with open(args.tokens_file) as f:
            for spec in json.load(f):
                expires = time.time() + spec["expiresIn"] if spec.get("expiresIn") is not None else None
                sim.add_token(
                    spec["token"], spec.get("permissions"), spec.get("integrationName", "centra-assets"), expires
                )
    if args.live:
        sim.start_ticking()
    # Records are plain acyclic dicts made by the million: move the catalogue out of the collector's way
    # and collect young objects less often, which removes 100+ ms pauses from page responses.
    gc.freeze()
    gc.set_threshold(50_000, 20, 50)
    print(
        f"centra-sim: ready in {time.perf_counter() - started:.2f}s on http://{args.host}:{args.port}/graphql "
        f"(seed {args.seed}, {args.days} days x {args.orders_per_day} orders/day, plan {args.plan}, "
        f"appVersion {sim.app_version})",
        flush=True,
    )
    try:
        uvicorn.run(build_app(sim), host=args.host, port=args.port, log_level=args.log_level, access_log=False)
    finally:
        sim.stop()


def _checked(p: argparse.ArgumentParser, fn, args):
    try:
        spec = fn(args)
        served_schema(args.timezone, normalize(spec, default_schema()))  # builds (and caches) it, or refuses
        return spec
    except ValueError as exc:
        p.error(str(exc))


if __name__ == "__main__":
    main()
