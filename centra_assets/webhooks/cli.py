"""centra-webhooks: receive Centra's signed webhooks and store them durably.

    CENTRA_WEBHOOK_SECRET=... centra-webhooks serve --host 127.0.0.1 --port 8787

Serve it behind HTTPS (a reverse proxy terminating TLS on 443) for a real store: Centra posts to ports 80/443.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import uvicorn

from .app import build_app
from .signature import DEFAULT_TOLERANCE
from .store import SqliteEventStore


def default_store() -> Path:
    return Path(os.environ.get("CENTRA_WAREHOUSE_DIR") or "warehouse") / ".state" / "webhooks.sqlite"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="centra-webhooks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve POST /webhooks/centra and GET /health")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8787)
    serve.add_argument("--store", type=Path, default=None, help="SQLite file (default: under CENTRA_WAREHOUSE_DIR)")
    serve.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE, help="seconds a signature stays valid")
    serve.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    secret = os.environ.get("CENTRA_WEBHOOK_SECRET", "")
    if not secret:
        sys.exit("Set CENTRA_WEBHOOK_SECRET to the endpoint secret configured in Centra's webhook plugin.")
    store = SqliteEventStore(args.store or default_store())
    app = build_app(store, secret, args.tolerance)
    print(f"centra-webhooks: storing in {store.path}; POST http://{args.host}:{args.port}/webhooks/centra", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
