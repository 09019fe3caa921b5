"""`make dev`: the webhook receiver, a live Centra simulator posting signed webhooks to it, and `dagster dev`
(UI and daemon), all on 127.0.0.1 and stopped together. Turn on `centra_webhook_sensor` in the UI to see
webhooks become refresh runs.

The terminal stays quiet: the engine's log goes to $DAGSTER_HOME/dagster-dev.log, the simulator's and the
receiver's to $DAGSTER_HOME/dev-services.log. For a real store, `centra-assets dev` runs the same Dagster
(see docs/operating.md, "Pointing it at a real Centra store").
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

from centra_assets import calendar
from centra_assets.calendar import day_of
from centra_assets.cli import dagster_home, init_instance, port_taken, serve_dagster
from centra_sim.process import SimulatorProcess, free_port

TOKEN = "dev-token"
WEBHOOK_SECRET = "dev-webhook-secret"
TIMEZONE = "Europe/Stockholm"


def _stop_with_parent() -> None:
    """Ctrl-C, SIGTERM, SIGHUP, or the parent (make) going away all end in the same clean shutdown."""

    def stop(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, stop)  # also when started in the background, where SIGINT is ignored
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
    if taken := port_taken("127.0.0.1", port):  # before the receiver and the simulator start
        sys.exit(taken)
    warehouse = os.environ.get("CENTRA_WAREHOUSE_DIR", "warehouse")
    home = dagster_home()
    init_instance(home)
    services_log = open(home / "dev-services.log", "a")  # noqa: SIM115 - closed below
    hook_port = free_port()
    receiver = subprocess.Popen(
        [sys.executable, "-m", "centra_assets.webhooks.cli", "serve", "--port", str(hook_port)],
        env={**os.environ, "CENTRA_WEBHOOK_SECRET": WEBHOOK_SECRET, "CENTRA_WAREHOUSE_DIR": warehouse},
        stdout=services_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    started = calendar.now()  # the simulator starts on the product's clock (shifted by CENTRA_CLOCK_OFFSET, if set)
    try:
        with SimulatorProcess(
            "--now",
            started.isoformat(),
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
        ) as sim:
            start = day_of(started, ZoneInfo(TIMEZONE)) - dt.timedelta(days=30)
            env = {
                **os.environ,
                "CENTRA_API_URL": sim.graphql_url,
                "CENTRA_API_TOKEN": TOKEN,
                "CENTRA_TIMEZONE": TIMEZONE,
                "CENTRA_START_DATE": start.isoformat(),
                "CENTRA_WAREHOUSE_DIR": warehouse,
            }
            print(
                f"Centra simulator (live, 30 days of history) at {sim.graphql_url}, posting webhooks to the "
                f"receiver on 127.0.0.1:{hook_port} (their log: {home / 'dev-services.log'})",
                flush=True,
            )
            yesterday = day_of(started, ZoneInfo(TIMEZONE)) - dt.timedelta(days=1)
            print(  # as on a real store's first production day (docs/operating.md): the sweep holds until then
                f"History to load: Jobs → centra_events → Partitions → {start} to {yesterday} → Launch backfill. "
                "The sweep starts once it has landed. To see the simulator's webhooks refresh the warehouse as they "
                "arrive, turn on centra_webhook_sensor (Automation; off by default, as on a real store).",
                flush=True,
            )
            code = serve_dagster(port, env)
    except KeyboardInterrupt:
        code = 0
    finally:
        if receiver.poll() is None:
            receiver.terminate()
        receiver.wait(timeout=30)
        services_log.close()
        print("Stopped.", flush=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
