"""`make dev`: the webhook receiver, a live Centra simulator posting signed webhooks to it, and `dagster dev`
(UI and daemon), all on 127.0.0.1 and stopped together. Turn on `centra_webhook_sensor` in the UI to see
webhooks become refresh runs.

Point it at a real store instead by exporting CENTRA_API_URL and CENTRA_API_TOKEN and running
`uv run dagster dev -w workspace.yaml` yourself.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from zoneinfo import ZoneInfo

from centra_assets.simulator.process import SimulatorProcess, free_port

TOKEN = "dev-token"
WEBHOOK_SECRET = "dev-webhook-secret"
TIMEZONE = "Europe/Stockholm"


def _stop_with_parent() -> None:
    """SIGTERM, SIGHUP, or the parent (make) going away all end in the same clean shutdown."""

    def stop(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, daemon=True).start()


def main() -> None:
    _stop_with_parent()
    port = os.environ.get("DAGSTER_PORT", "3000")
    warehouse = os.environ.get("CENTRA_WAREHOUSE_DIR", "warehouse")
    hook_port = free_port()
    receiver = subprocess.Popen(
        [sys.executable, "-m", "centra_assets.webhooks.cli", "serve", "--port", str(hook_port)],
        env={**os.environ, "CENTRA_WEBHOOK_SECRET": WEBHOOK_SECRET, "CENTRA_WAREHOUSE_DIR": warehouse},
    )
    try:
        with SimulatorProcess(
            "--days",
            "30",
            "--orders-per-day",
            "300",
            "--timezone",
            TIMEZONE,
            "--live",
            "--webhook-url",
            f"http://127.0.0.1:{hook_port}/webhooks/centra",
            "--webhook-secret",
            WEBHOOK_SECRET,
            token=TOKEN,
            quiet=False,
        ) as sim:
            start = dt.datetime.now(ZoneInfo(TIMEZONE)).date() - dt.timedelta(days=30)
            env = {
                **os.environ,
                "CENTRA_API_URL": sim.graphql_url,
                "CENTRA_API_TOKEN": TOKEN,
                "CENTRA_TIMEZONE": TIMEZONE,
                "CENTRA_START_DATE": start.isoformat(),
                "CENTRA_WAREHOUSE_DIR": warehouse,
            }
            print(
                f"Centra simulator (live) at {sim.graphql_url}, webhooks to 127.0.0.1:{hook_port}; "
                f"Dagster UI at http://127.0.0.1:{port}",
                flush=True,
            )
            _run_dagster(port, env)
    finally:
        receiver.terminate()
        receiver.wait(timeout=30)


def _run_dagster(port: str, env: dict) -> None:
    # its own process group, so stopping it stops the webserver and daemon it starts
    dagster = subprocess.Popen(
        [sys.executable, "-m", "dagster", "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", port],
        env=env,
        start_new_session=True,
    )
    try:
        dagster.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if dagster.poll() is None:
            os.killpg(dagster.pid, signal.SIGTERM)
            try:
                dagster.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(dagster.pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
