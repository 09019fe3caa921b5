"""`make dev`: a live Centra simulator and `dagster dev` (UI and daemon) on 127.0.0.1, stopped together.

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

from centra_assets.simulator.process import SimulatorProcess

TOKEN = "dev-token"
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
    with SimulatorProcess(
        "--days", "30", "--orders-per-day", "300", "--timezone", TIMEZONE, "--live", token=TOKEN, quiet=False
    ) as sim:
        start = dt.datetime.now(ZoneInfo(TIMEZONE)).date() - dt.timedelta(days=30)
        env = {
            **os.environ,
            "CENTRA_API_URL": sim.graphql_url,
            "CENTRA_API_TOKEN": TOKEN,
            "CENTRA_TIMEZONE": TIMEZONE,
            "CENTRA_START_DATE": start.isoformat(),
        }
        print(f"Centra simulator (live) at {sim.graphql_url}; Dagster UI at http://127.0.0.1:{port}", flush=True)
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
