"""Freshness of the marts: from a signed webhook to the changed order in `daily_sales`, as `make dev` runs it.

The project's own Dagster (`dagster dev`: webserver and daemon) with the webhook sensor on, the receiver, and a
simulator posting signed webhooks to it. Every `every` seconds the simulator's clock moves on until a new order is
placed; Centra's webhook reaches the receiver (its time of receipt is the start), the webhook sensor asks for a
refresh run, the order lands in Parquet (the baseline: what the raw layer alone takes), and the marts' automation
asks for a dbt build that publishes a warehouse whose `daily_sales` counts the order. Changes overlap, as in a
store: a sensor tick or a dbt build serves every change that came before it.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from unittest import mock
from zoneinfo import ZoneInfo

import duckdb
import httpx

from centra_assets.warehouse import layout
from centra_sim.testing.dagster_ui import loaded_location, start_sensor, until

from . import analytics

TOKEN = "bench-token"
SECRET = "bench-webhook-secret-0123"
TIMEZONE = "Europe/Stockholm"
TARGET = 60.0  # s at p95 (half at p50), on a million orders: the raw refresh, then one dbt build of what changed
WEBHOOK_SENSOR, AUTOMATION = "centra_webhook_sensor", "centra_marts_automation"
TAIL = 300  # s to wait after the last change
IN_FLIGHT = ("QUEUED", "NOT_STARTED", "STARTING", "STARTED")


def _until(condition, seconds: float, what: str, every: float = 1.0):
    return until(condition, seconds, what, every, passing=(httpx.TransportError, duckdb.Error))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


class Warehouse:
    """What an analyst sees: the raw orders in Parquet and `daily_sales` in the published DuckDB file."""

    def __init__(self, settings):
        from centra_assets.warehouse import layout

        self.orders = layout.partition_path(
            layout.store_root(settings.warehouse_dir, settings.stores[0]), "orders", "*"
        )
        self.duckdb_file = str(settings.duckdb_file)

    def in_parquet(self, numbers: list[int]) -> bool:
        with duckdb.connect() as con:
            found = con.execute(
                f"SELECT count(DISTINCT order_number) FROM read_parquet('{self.orders}') "
                "WHERE order_number IN (SELECT unnest(?))",
                [numbers],
            ).fetchone()[0]
        return found == len(numbers)

    def orders_in_daily_sales(self) -> int:
        with duckdb.connect(self.duckdb_file, read_only=True) as con:  # published by rename: never half-written
            return int(con.execute("SELECT sum(orders + cancelled_orders) FROM daily_sales").fetchone()[0])


def _sync_everything(defs, instance, first: str, last: str, log) -> None:
    """What a new store's first hour does (`make demo`'s jobs): the event data of the days, today's snapshots, every
    mart. In this process, into the instance the daemon uses, so its automation starts from a built warehouse."""
    import contextlib

    range_tags = {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
    for job, tags in (("centra_events", range_tags), ("centra_snapshots", {}), ("centra_marts", {})):
        with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            result = defs.resolve_job_def(job).execute_in_process(instance=instance, tags=tags, raise_on_error=False)
        if not result.success:
            raise RuntimeError(f"{job} failed; see {log.name}")


def webhook_to_daily_sales(samples: int = 20, every: float = 15.0, copies: int = analytics.COPIES) -> list[dict]:
    """p50 and p95 of webhook -> order counted in `daily_sales`, against webhook -> order in Parquet (same changes,
    same run), on a warehouse holding `copies` x 34,000 orders of history before the simulator's days (copied as
    bench/analytics.py does: the marts' build after a change must not grow with the history)."""
    import dagster as dg

    from centra_assets.cli import init_instance, stop_session
    from centra_assets.defs.policy import WEBHOOK_SENSOR_INTERVAL
    from centra_assets.defs.realtime.webhooks import event_store
    from centra_assets.settings import settings_from_env
    from centra_sim.process import SimulatorProcess, free_port

    with tempfile.TemporaryDirectory() as tmp:
        home, warehouse = Path(tmp) / "dagster", Path(tmp) / "warehouse"
        init_instance(home)
        log = open(home / "bench.log", "a")  # noqa: SIM115 - closed below
        hook_port, ui_port = free_port(), free_port()
        receiver = subprocess.Popen(
            [sys.executable, "-m", "centra_assets.webhooks.cli", "serve", "--port", str(hook_port)],
            env={**os.environ, "CENTRA_WEBHOOK_SECRET": SECRET, "CENTRA_WAREHOUSE_DIR": str(warehouse)},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        dagster = None
        try:
            with SimulatorProcess(
                "--days",
                "3",
                "--orders-per-day",
                "300",
                "--timezone",
                TIMEZONE,
                "--webhook-url",
                f"http://127.0.0.1:{hook_port}/webhooks/centra",
                "--webhook-secret",
                SECRET,
                token=TOKEN,
            ) as sim:
                now = httpx.get(f"{sim.url}/admin/clock").json()["epoch"]
                today = dt.datetime.fromtimestamp(now, ZoneInfo(TIMEZONE)).date()
                first = (today - dt.timedelta(days=1)).isoformat()
                env = {
                    **os.environ,
                    "CENTRA_API_URL": sim.graphql_url,
                    "CENTRA_API_TOKEN": TOKEN,
                    "CENTRA_TIMEZONE": TIMEZONE,
                    "CENTRA_START_DATE": first,
                    "CENTRA_WAREHOUSE_DIR": str(warehouse),
                    "DAGSTER_HOME": str(home),
                }
                settings = settings_from_env(env)
                instance = dg.DagsterInstance.from_config(str(home))
                raw = Path(layout.raw_root(layout.store_root(str(warehouse), settings.stores[0])))
                history = analytics.history(raw, Path(tmp) / "history", copies) if copies else 0
                synced = time.monotonic()
                with mock.patch.dict(os.environ, env):  # the resources read their settings from the environment
                    from centra_assets.definitions import defs  # the code location `make dev` loads

                    _sync_everything(defs, instance, first, today.isoformat(), log)
                synced = time.monotonic() - synced
                seen = Warehouse(settings)

                dagster = subprocess.Popen(  # what `make dev` runs (centra_assets/cli.py serve_dagster)
                    [sys.executable, "-m", "dagster", "dev", "-m", "centra_assets.definitions"]
                    + ["-h", "127.0.0.1", "-p", str(ui_port)],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
                url = f"http://127.0.0.1:{ui_port}"
                start_sensor(url, loaded_location(url), WEBHOOK_SENSOR)

                # the sweep's first tick (on by default) refreshes the last day, and the marts follow: start from a
                # quiet store, so the figures are the webhooks' own
                automation = defs.get_sensor_def(AUTOMATION).minimum_interval_seconds
                in_flight = dg.RunsFilter(statuses=[dg.DagsterRunStatus(s) for s in IN_FLIGHT])
                idle = {"since": None}

                def quiet() -> bool:  # no run for longer than the automation's interval
                    if instance.get_run_records(in_flight, limit=1):
                        idle["since"] = None
                        return False
                    idle["since"] = idle["since"] or time.monotonic()
                    return time.monotonic() - idle["since"] > automation + 10

                _until(quiet, 600, "the first sweep and its dbt build to finish", every=2)
                measured_from = time.time()

                base = seen.orders_in_daily_sales()
                store = event_store(settings, settings.stores[0])
                receipts = Receipts(store)
                last_number = max(o["number"] for o in _truth(sim.url, "orders", None))
                steps: list[dict] = []  # numbers, expected count, webhook received, in Parquet, in daily_sales
                next_step, deadline = time.monotonic(), None
                while len(steps) < samples or any("daily_sales" not in s for s in steps):
                    if len(steps) < samples and time.monotonic() >= next_step:
                        numbers = _place_orders(sim.url, last_number)
                        last_number = max(numbers)
                        received = _until(lambda ns=numbers: receipts.of(ns), 60, "the webhooks", every=0.1)
                        expected = (steps[-1]["expected"] if steps else base) + len(numbers)
                        steps.append({"numbers": numbers, "expected": expected, "webhook": received})
                        next_step += every
                        if len(steps) == samples:
                            deadline = time.monotonic() + TAIL
                    if deadline and time.monotonic() > deadline:
                        break  # those still waiting are reported as such
                    _observe(steps, seen)
                    time.sleep(0.25)
                store.close()
                runs = _runs(instance, measured_from, steps)
        finally:
            if dagster is not None:
                stop_session(dagster)
            stop_session(receiver)
            log.close()

    arrived = [s for s in steps if "daily_sales" in s]
    late = f"; {len(steps) - len(arrived)} of {len(steps)} not in daily_sales {TAIL} s after the last" * (
        len(arrived) < len(steps)
    )
    to_parquet = [s["parquet"] - s["webhook"] for s in steps if "parquet" in s]
    to_marts = [s.get("daily_sales", math.inf) - s["webhook"] for s in steps]  # one never counted: not fast
    p95, p50 = _percentile(to_marts, 0.95), statistics.median(to_marts)
    base95, base50 = _percentile(to_parquet, 0.95), statistics.median(to_parquet)
    return [
        {
            "suite": "freshness",
            "metric": f"webhook to the order in daily_sales, {base:,} orders, p95 (s)",
            "value": round(p95, 1),
            "baseline": round(base95, 1),
            "ratio": round(p95 / base95, 2),
            "target": f"value <= {TARGET:.0f} s",
            "note": f"baseline: webhook to the order in Parquet (p95); {len(steps)} new orders, one every {every:.0f} "
            f"s; dagster dev (daemon), webhook sensor every {WEBHOOK_SENSOR_INTERVAL} s, marts' automation every "
            f"{automation} s; {runs}{late}",
        },
        {
            "suite": "freshness",
            "metric": f"webhook to the order in daily_sales, {base:,} orders, p50 (s)",
            "value": round(p50, 1),
            "baseline": round(base50, 1),
            "ratio": round(p50 / base50, 2),
            "target": f"value <= {TARGET / 2:.0f} s",
            "note": f"baseline: webhook to the order in Parquet (p50); {history:,} orders of history copied before the "
            f"simulator's days; first sync of 2 days and the marts took {synced:.0f} s",
        },
    ]


def _truth(sim_url: str, entity: str, since: float | None) -> list[dict]:
    params = {"from": dt.datetime.fromtimestamp(since, dt.UTC).isoformat()} if since else {}
    return httpx.get(f"{sim_url}/admin/ground-truth/{entity}", params=params, timeout=120).json()["rows"]


def _place_orders(sim_url: str, after: int) -> list[int]:
    """Moves the simulator's clock on, 5 minutes at a time, until at least one order is placed; its numbers."""
    for _ in range(100):
        before = httpx.get(f"{sim_url}/admin/clock").json()["epoch"]
        httpx.post(f"{sim_url}/admin/clock", json={"advance": 300}, timeout=60)
        numbers = sorted(o["number"] for o in _truth(sim_url, "orders", before - 1) if o["number"] > after)
        if numbers:
            return numbers
    raise RuntimeError("no order placed in 500 simulated minutes")


class Receipts:
    """When the receiver stored the webhooks announcing each order (its own clock, read from its event store)."""

    def __init__(self, store):
        self.store, self.cursor, self.at = store, 0, {}

    def of(self, numbers: list[int]) -> float | None:
        """When the last of the orders' webhooks was stored (None: not all yet)."""
        for event in self.store.read_after(self.cursor, 10_000):
            self.cursor = event.id
            if event.type == "order" and event.object_id is not None:
                self.at.setdefault(event.object_id, event.received_at)
        return max(self.at[n] for n in numbers) if all(n in self.at for n in numbers) else None


def _observe(steps: list[dict], seen: Warehouse) -> None:
    """Stamps each change with when its orders were first seen in Parquet and counted in daily_sales."""
    now = time.time()
    for step in steps:
        if "parquet" not in step and seen.in_parquet(step["numbers"]):
            step["parquet"] = now
    waiting = [s for s in steps if "daily_sales" not in s]
    if waiting:
        try:
            counted = seen.orders_in_daily_sales()
        except duckdb.Error:  # being replaced right now: look again next time
            return
        for step in waiting:
            if counted >= step["expected"]:
                step["daily_sales"] = now
                step.setdefault("parquet", now)


def _runs(instance, since: float, steps: list[dict]) -> str:
    """What the daemon ran while measuring: refresh runs and dbt builds, with their mean time from asked to done; and
    where each change's time went (means over the changes, in s): webhook -> its refresh run asked (the sensor),
    queued (asked -> started), waiting for the `centra_api` pool inside the run, started -> in Parquet; then in
    Parquet -> the dbt build that counted it asked (the automation), that build queued, running."""
    import dagster as dg

    records = instance.get_run_records(dg.RunsFilter(created_after=dt.datetime.fromtimestamp(since, dt.UTC)))
    refresh = [r for r in records if "centra/refresh" in r.dagster_run.tags]
    builds = sorted((r for r in records if r not in refresh and r.end_time), key=lambda r: r.end_time)

    def mean(rs) -> str:
        spans = [r.end_time - r.create_timestamp.timestamp() for r in rs if r.end_time]
        return f"{statistics.mean(spans):.0f} s" if spans else "-"

    def started(r) -> float:
        return r.start_time or r.create_timestamp.timestamp()

    def pool_wait(r) -> float:  # seconds the run's steps waited for a slot of the pool
        blocked, start = {}, {}
        for entry in instance.all_logs(r.dagster_run.run_id):
            event = entry.dagster_event
            if event is None or not event.step_key:
                continue
            if event.event_type == dg.DagsterEventType.ENGINE_EVENT and "blocked by limit" in (entry.message or ""):
                blocked.setdefault(event.step_key, entry.timestamp)
            elif event.event_type == dg.DagsterEventType.STEP_START:
                start[event.step_key] = entry.timestamp
        return sum(start.get(k, t) - t for k, t in blocked.items())

    def build_parts(r) -> dict[str, float]:
        """Where a build's time went: run started -> its step started, step -> first model's event (dbt and the
        tables' metadata), recording the events, step done -> run done."""
        at: dict[str, float] = {}
        for entry in instance.all_logs(r.dagster_run.run_id):
            kind = entry.dagster_event and entry.dagster_event.event_type
            if kind == dg.DagsterEventType.STEP_START:
                at.setdefault("step", entry.timestamp)
            elif kind == dg.DagsterEventType.ASSET_MATERIALIZATION:
                at.setdefault("events", entry.timestamp)
            elif kind == dg.DagsterEventType.STEP_SUCCESS:
                at["done"] = entry.timestamp
        if len(at) < 3:
            return {}
        return {
            "build: to step": at["step"] - started(r),
            "build: dbt": at["events"] - at["step"],
            "build: events": at["done"] - at["events"],
            "build: to end": r.end_time - at["done"],
        }

    def keys(r) -> set[int]:
        ops = r.dagster_run.run_config.get("ops", {})
        return {int(k) for k in ops.get("centra_orders", {}).get("config", {}).get("refresh_keys", [])}

    stages: dict[str, list[float]] = {}
    for step in (s for s in steps if "daily_sales" in s and "parquet" in s):
        # the first refresh of its orders (an order announced again, by its shipment's webhook, is refreshed again)
        run = min(
            (r for r in refresh if set(step["numbers"]) <= keys(r) and r.end_time),
            key=lambda r: r.create_timestamp,
            default=None,
        )
        # the build that published it: it ends (its run) a little after daily_sales shows it
        build = next((r for r in builds if r.end_time >= step["daily_sales"] - 1), None)
        if run is None or build is None:
            continue
        asked = run.create_timestamp.timestamp()
        for name, value in (
            ("sensor", asked - step["webhook"]),
            ("queued", started(run) - asked),
            ("pool", pool_wait(run)),
            ("run", step["parquet"] - started(run) - pool_wait(run)),
            ("to build", build.create_timestamp.timestamp() - step["parquet"]),
            ("build queued", started(build) - build.create_timestamp.timestamp()),
            ("build", build.end_time - started(build)),
            *build_parts(build).items(),
        ):
            stages.setdefault(name, []).append(value)
    where = ", ".join(f"{name} {statistics.mean(values):.0f}" for name, values in stages.items())
    failed = [r for r in records if r.dagster_run.status == dg.DagsterRunStatus.FAILURE]

    def cause(entry) -> str:
        error = getattr(entry.dagster_event.event_specific_data, "error", None)
        return ((error.message if error else None) or entry.message or "").strip().replace("\n", " ")[:160]

    why = Counter(  # what the failed runs' steps (or the run itself) said
        f"{'refresh' if r in refresh else 'build'}: {entry.dagster_event.step_key or 'run'}: {cause(entry)}"
        for r in failed
        for entry in instance.all_logs(
            r.dagster_run.run_id,
            of_type={
                dg.DagsterEventType.STEP_UP_FOR_RETRY,
                dg.DagsterEventType.STEP_FAILURE,
                dg.DagsterEventType.RUN_FAILURE,
            },
        )
        if "max_retries" not in cause(entry)  # a retried step's own error is in the attempt before
    )
    causes = f" ({'; '.join(f'{n}x {w}' for w, n in why.items())})" if why else ""
    return (
        f"{len(refresh)} refresh runs (mean {mean(refresh)} asked to done), {len(builds)} dbt builds "
        f"(mean {mean(builds)}), {len(failed)} failed{causes}; stages (mean s): {where}; {_ticks(instance, since)}"
    )


def _ticks(instance, since: float) -> str:
    """How the sensor daemon served each sensor while measuring: its ticks, their mean and longest evaluation, and the
    mean and longest gap from one tick's start to the next (its interval, plus whatever held the daemon's loop)."""
    from dagster._core.scheduler.instigation import InstigatorType

    out = []
    for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR):
        found = instance.get_ticks(state.instigator_origin_id, state.selector_id, after=since)
        ticks = sorted((t for t in found if t.end_timestamp), key=lambda t: t.timestamp)
        if not ticks:
            continue
        took = [t.end_timestamp - t.timestamp for t in ticks]
        gaps = [b.timestamp - a.timestamp for a, b in zip(ticks, ticks[1:], strict=False)] or [0.0]
        out.append(
            f"{state.instigator_name.removeprefix('centra_')} {len(ticks)} ticks, took {statistics.mean(took):.1f}/"
            f"{max(took):.1f}, apart {statistics.mean(gaps):.0f}/{max(gaps):.0f}"
        )
    return "sensor ticks (mean/max s): " + ("; ".join(out) or "none")
