"""centra-webhooks: receive Centra's signed webhooks and store them durably.

    CENTRA_WEBHOOK_SECRET=... centra-webhooks serve --host 127.0.0.1 --port 8787

One store: POST /webhooks/centra (and /webhooks/centra/<CENTRA_STORE>), secret CENTRA_WEBHOOK_SECRET.
Several (CENTRA_STORES_FILE): POST /webhooks/centra/<store>, each with the secret its `webhook_secret_env`
names. Events go to CENTRA_WEBHOOK_STORE (a postgresql:// URL) or to SQLite files in the state folder.
Serve it behind HTTPS (a reverse proxy terminating TLS on 443) for a real store: Centra posts to ports 80/443.
It bounds what a client may send by itself (header size, time to send a request, connections: server.py).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import uvicorn

from centra_assets.settings import settings_from_env

from . import server
from .app import build_app
from .signature import DEFAULT_TOLERANCE
from .store import SqliteEventStore, open_event_store


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="centra-webhooks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve POST /webhooks/centra[/<store>] and GET /health")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8787)
    serve.add_argument("--store", type=Path, default=None, help="one store only: a SQLite file to store events in")
    serve.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE, help="seconds a signature stays valid")
    serve.add_argument("--log-level", default="info")
    serve.add_argument(
        "--request-seconds",
        type=float,
        default=server.REQUEST_SECONDS,
        help="a request must arrive whole within this; slower connections are closed",
    )
    serve.add_argument(
        "--max-connections", type=int, default=server.MAX_CONNECTIONS, help="over this, requests get 503"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        settings = settings_from_env()
    except ValueError as exc:
        sys.exit(str(exc))
    endpoints = {}
    for store in settings.stores:
        secret = os.environ.get(store.webhook_secret_env, "")
        if not secret:
            sys.exit(f"Set {store.webhook_secret_env} to the endpoint secret of store {store.name!r}'s webhook plugin.")
        events = (
            SqliteEventStore(args.store)
            if args.store and not settings.multi_store
            else open_event_store(settings.webhook_events, store.name)
        )
        endpoints[store.name] = (events, secret)
    single = None if settings.multi_store else endpoints[settings.stores[0].name]
    app = build_app(*(single or (None, "")), tolerance=args.tolerance, stores=endpoints)
    for name, (events, _) in endpoints.items():
        print(f"centra-webhooks: {name}: POST http://{args.host}:{args.port}/webhooks/centra/{name} -> {events.path}")
    if single:
        print(f"centra-webhooks: POST http://{args.host}:{args.port}/webhooks/centra (the one store)", flush=True)
    uvicorn.Server(
        server.config(
            app, args.host, args.port, request_seconds=args.request_seconds, max_connections=args.max_connections
        )
    ).run()


if __name__ == "__main__":
    main()
