"""The soak test (issue #27): days of a store's life in continuous operation, through the Dagster daemon as
production runs it, then the instance's own records and the warehouse against a full rebuild and the ground truth.

`dagster dev` (daemon, webserver, code server) loads the project's definitions (tests/soak/location.py: the sweep
ticks every minute), beside the webhook receiver and a simulator posting signed webhooks to it. Turned on as an
operator does: the webhook and event queue sensors; on by default: the sweep, the daily schedules (their crons set
to fire during the soak) and the marts' automation (`centra_marts_automation`). The store's first week (SYNCED days) is
synced and built first, as a new store's first hour does (bench/freshness.py); then the simulator's clock moves on a
half day at a time, SOAK_DAYS days from SOAK_START (fixed, whatever the day and hour the soak runs; the product's
clock is pinned to their end through CENTRA_CLOCK_OFFSET; only the daemon's ticks follow the machine's clock):
orders are placed, confirmed, shipped, cancelled and returned, returns complete and refund, purchase orders are
delivered, stock moves, old days' records included. Once everything
settled (no run in flight, and every sensor's latest tick, begun after the last run, found nothing to do), or
QUIET seconds without a run in flight or asked for (SETTLE seconds after the last change at most), Dagster is stopped
and the tests read:

0. the pipeline settled, and every sensor and schedule launched runs while records of every kind changed;
1. every run succeeded (no mart build failed);
2. the marts of the last build equal a full `dbt build` from scratch on the same raw data, table by table, and
   `daily_sales` (orders, net sales, refunds per day and market) equals the simulator's ground truth;
3. no refresh or sync run waited behind more than one build: for a run slot while the run cap was full, or for
   the warehouse's turn (each wait's cause from the run's own records; waits for the centra_api pool are
   reported, and are not a build's);
4. every raw partition's latest materialization says its own day, that day's window, and the rows its file holds.

`make test-soak` runs it (excluded from `make test`; `.ci/run` runs it after `make test-deploy`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import httpx
import pyarrow.parquet as pq
import pytest

from centra_assets.calendar import day_of, day_window
from centra_assets.cli import init_instance, stop_session
from centra_assets.defs.marts.dbt import dbt_vars
from centra_assets.defs.marts.project import DBT_DIR
from centra_assets.defs.realtime.locate import TAG
from centra_assets.entities import ALL, BY_NAME
from centra_assets.settings import CLOCK_OFFSET, settings_from_env
from centra_assets.warehouse import layout
from centra_sim.process import free_port
from centra_sim.testing.dagster_ui import graphql as _graphql
from centra_sim.testing.dagster_ui import loaded_location, start_sensor
from centra_sim.testing.dagster_ui import until as _until
from centra_sim.testing.simulator import TOKEN, serve

from ..helpers import BUILD_BOOKKEEPING
from ..marts.test_marts import daily_sales, expected_daily

pytestmark = [pytest.mark.slow, pytest.mark.soak]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("CENTRA_TEST_ARTIFACTS", ROOT / "test-artifacts"))
TZ = "Europe/Stockholm"
SECRET = "soak-webhook-secret-0123"
SEED = 7
HISTORY = 56  # days the simulator has before the soak: purchase orders placed weeks ago are delivered during it
# days synced (and built) before the soak begins: a week holds old orders confirmed, shipped and cancelled, and
# returns settling, during the soak. Purchase orders are delivered three to seven weeks after they are placed:
# those placed before the synced week are synced too (the start date's partition reaches 120 days back,
# entities/spec.py reach_before_start), and two are delivered during the soak. (Six weeks cost 12 of the soak's 23
# minutes under load, in the initial sync and every full build, and proved nothing more.)
SYNCED = 7
ORDERS_PER_DAY = 12
SOAK_DAYS = 3
# The soak's first instant, fixed: the simulator's data and what changes during the soak do not depend on the day or
# the hour the soak runs. At 02:00 in the store, the evening's orders of the day before are still unconfirmed: they
# are confirmed, shipped or cancelled during the soak, beside older orders shipping (a soak starting in the
# afternoon saw old orders ship, never confirmed). The product's clock is pinned to the soak's last instant (as the
# unpinned soak had it, ending at the machine's today), which must not be after the machine's clock: Dagster's
# daily partitions end at the machine's today.
SOAK_START = dt.datetime(2026, 12, 3, 2, 0, tzinfo=ZoneInfo(TZ))
STEP = 12 * 3600  # the simulator's clock moves on this much at a time ...
PAUSE = 30.0  # ... every this many real seconds
SWEEP_INTERVAL = 60  # seconds: the sweep ticks every minute in the soak (tests/soak/location.py), not every 15
# A pipeline that has not settled when no run was in flight or asked for QUIET seconds (every sensor ticks within a
# minute), or SETTLE seconds after the last change, is stopped, and says so. Waiting on while runs are in flight, not a
# fixed time, keeps a slow machine (its runs slower) from failing a pipeline that settles; the cap keeps a pipeline
# that never settles (builds asking for builds) from holding CI.
QUIET = 120
SETTLE = 600
SENSORS_TURNED_ON = ("centra_webhook_sensor", "centra_event_queue_sensor")
SENSORS = (*SENSORS_TURNED_ON, "centra_sweep_sensor", "centra_marts_automation")
LAUNCHERS = (  # every part of continuous operation must have launched runs
    *SENSORS,
    "centra_daily_events",
    "centra_daily_snapshots",
)
IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]
TICKS = """query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) {
  ... on Sensor { sensorState { ticks(limit: 2) { status timestamp } } } } }"""
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _crons(at: dt.datetime) -> tuple[dict[str, str], float]:
    """The daily schedules' crons, moved into the soak (real minutes from `at`): the event sync and the snapshots
    once each, for the real yesterday and today, which are the simulator's last days by then; and when the last of
    them is past. Once is what a day has (a second event sync cost a sync run of pool time, and the settling with
    it, for no part of continuous operation not already exercised)."""
    minute = lambda m: (at + dt.timedelta(minutes=m)).minute  # noqa: E731
    crons = {"CENTRA_EVENTS_CRON": f"{minute(2)} * * * *", "CENTRA_SNAPSHOT_CRON": f"{minute(3)} * * * *"}
    return crons, (at.replace(second=0) + dt.timedelta(minutes=4)).timestamp()


@dataclass
class Soak:
    centra: object
    settings: object
    instance: dg.DagsterInstance
    root: Path
    soak_start: float  # the simulator's clock when the soak began
    today: dt.date  # the store's today on the product's clock when Dagster was stopped
    before: dict  # the ground truth then
    stopped: float  # when Dagster was stopped
    interrupted: set[str]  # the runs still in flight then (test_the_pipeline_settled_after_the_last_change)
    figures: dict = field(default_factory=dict)

    def runs(self) -> list[dg.RunRecord]:
        return list(self.instance.get_run_records())


def _truth(centra, entity: str, since: str | None = None) -> list[dict]:
    query = "?" + urllib.parse.urlencode({"from": since}) if since else ""
    return centra.admin(f"ground-truth/{entity}{query}")["rows"]


def _changing(centra, first: str) -> dict[str, list]:
    """What the soak must see move: the synced orders', shipments', returns', purchase orders' and deliveries'
    states, and the stock. Purchase orders and their deliveries are synced from their reach before the start date
    (entities/spec.py reach_before_start, in the start date's partition): those placed weeks before the synced days
    are delivered during the soak."""

    def t(entity: str, reach: int = 0) -> list[dict]:
        since = dt.datetime.fromisoformat(first).replace(tzinfo=ZoneInfo(TZ)) - dt.timedelta(days=reach)
        return _truth(centra, entity, since.isoformat())

    reach = BY_NAME["purchase_orders"].reach_before_start
    return {
        "orders": {o["number"]: (o["status"], o["created_at"]) for o in t("orders")},
        "shipments": {s["id"]: s["is_shipped"] for s in t("shipments")},
        "returns": {r["id"]: (r["return_status"], r["refund"]) for r in t("returns")},
        "purchase_orders": {p["id"]: (p["status"], p["delivered_quantity"]) for p in t("purchase_orders", reach)},
        "deliveries": {d["id"]: d["status"] for d in t("purchase_order_deliveries", reach)},
        "stock": {(s["size_id"], s["warehouse_id"]): s["physical"] for s in _truth(centra, "stock")},
    }


def _initial_sync(env: dict, instance: dg.DagsterInstance, first: str, last: str, log) -> None:
    """A new store's first hour (as bench/freshness.py does): the event data of the synced days, today's snapshots,
    every mart; in this process, into the instance the daemon then uses, so the soak starts from a built warehouse."""
    import contextlib

    with mock.patch.dict(os.environ, env):  # the resources read their settings from the environment
        from centra_assets.definitions import centra_marts
        from centra_assets.defs import build_definitions

        defs = dg.Definitions.merge(build_definitions(settings_from_env(env)), dg.Definitions(jobs=[centra_marts]))
        range_tags = {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
        for job, tags in (("centra_events", range_tags), ("centra_snapshots", {}), ("centra_marts", {})):
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                result = defs.resolve_job_def(job).execute_in_process(
                    instance=instance, tags=tags, raise_on_error=False
                )
            assert result.success, f"the initial {job} run failed; see {log.name}"


def _settled(instance: dg.DagsterInstance, url: str, selector: dict, not_before: float) -> bool:
    """No run in flight, the schedules' last time passed, and every sensor's latest tick began after the last run
    that could give it work was asked for or ended, and asked for nothing: each has seen everything, and nothing
    is left to do. A mart build gives work to the automation only: it changes no raw data, and no sensor of raw
    data follows it (waiting for the sweep's next tick after the last build cost up to a sweep interval). The
    automation's tick that first sees a build's models updated holds every change pending (MartsBuildInFlight) and
    asks for nothing: its tick before must have begun after the last run too, so that the latest tick saw no update
    (soak4's run 2 was stopped on that holding tick, with fct_orders and daily_sales still waiting for a build)."""
    if time.time() < not_before or instance.get_run_records(dg.RunsFilter(statuses=IN_FLIGHT), limit=1):
        return False
    recent = instance.get_run_records(limit=20)
    moment = lambda r: max(r.create_timestamp.timestamp(), r.end_time or 0)  # noqa: E731
    last = max(map(moment, recent), default=0)
    last_raw = max((moment(r) for r in recent if _kind(r) != "build"), default=0)
    for sensor in SENSORS:
        state = _graphql(url, TICKS, {"s": {**selector, "sensorName": sensor}})["sensorOrError"]["sensorState"]
        n = 2 if sensor == "centra_marts_automation" else 1  # its latest tick, and the one before
        ticks, since = state["ticks"][:n], last if n == 2 else last_raw
        if len(ticks) < n or ticks[0]["status"] != "SKIPPED" or any(t["timestamp"] <= since for t in ticks):
            return False
    return True


def _last_activity(instance: dg.DagsterInstance) -> float:
    """When a run was last asked for or ended; now while one is in flight."""
    if instance.get_run_records(dg.RunsFilter(statuses=IN_FLIGHT), limit=1):
        return time.time()
    recent = instance.get_run_records(limit=20)
    return max((max(r.create_timestamp.timestamp(), r.end_time or 0) for r in recent), default=0)


@pytest.fixture(scope="module")
def soak(tmp_path_factory):
    root = tmp_path_factory.mktemp("soak")
    home, warehouse = root / "dagster", root / "warehouse"
    init_instance(home)  # the instance settings `make dev` uses: the run cap, the centra_api pool, no telemetry
    log = open(home / "soak.log", "a")  # noqa: SIM115 - closed below
    hook_port, ui_port = free_port(), free_port()
    soak_start = SOAK_START.timestamp()
    product_start = soak_start + SOAK_DAYS * 86400  # the product's clock: the soak's last instant, running on from it
    offset = product_start - time.time()
    assert offset <= 0, f"the machine's clock is before {SOAK_START} + {SOAK_DAYS} days: Dagster has no such days"
    receiver_env = {
        **os.environ,
        "CENTRA_WEBHOOK_SECRET": SECRET,
        "CENTRA_WAREHOUSE_DIR": str(warehouse),
        CLOCK_OFFSET: f"{offset:+.6f}",
    }
    receiver = subprocess.Popen(  # the webhook receiver, as `make dev` starts it
        [sys.executable, "-m", "centra_assets.webhooks.cli", "serve", "--port", str(hook_port)],
        env=receiver_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    started = time.monotonic()
    dagster, figures = None, {}
    try:
        centra, server = serve(
            seed=SEED,
            days=HISTORY,
            orders_per_day=ORDERS_PER_DAY,
            now=soak_start,
            timezone=TZ,
            webhook_url=f"http://127.0.0.1:{hook_port}/webhooks/centra",
            webhook_secret=SECRET,
        )
    except BaseException:
        stop_session(receiver)
        raise
    try:
        first_day = day_of(dt.datetime.fromtimestamp(soak_start, dt.UTC), ZoneInfo(TZ))
        first = (first_day - dt.timedelta(days=SYNCED)).isoformat()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("CENTRA_", "DAGSTER_"))},
            "CENTRA_API_URL": centra.graphql_url,
            "CENTRA_API_TOKEN": TOKEN,
            "CENTRA_TIMEZONE": TZ,
            "CENTRA_START_DATE": first,
            "CENTRA_WAREHOUSE_DIR": str(warehouse),
            "DAGSTER_HOME": str(home),
            "DAGSTER_DISABLE_TELEMETRY": "1",
            "DO_NOT_TRACK": "1",
            "SOAK_SWEEP_INTERVAL": str(SWEEP_INTERVAL),
            CLOCK_OFFSET: f"{offset:+.6f}",  # every process of the product reads the pinned clock
        }
        settings = settings_from_env(env)
        instance = dg.DagsterInstance.from_config(str(home))
        _until(lambda: httpx.get(f"http://127.0.0.1:{hook_port}/health", timeout=2).is_success, 60, "the receiver")
        before = _changing(centra, first)
        _initial_sync(env, instance, first, first_day.isoformat(), log)
        figures["initial sync (s)"] = round(time.monotonic() - started)

        # the daemon fires the schedules on the machine's clock: their crons are set from it (their days come from
        # the product's clock, raw/schedules.py)
        crons, schedules_done = _crons(dt.datetime.now(ZoneInfo(TZ)))
        env |= crons
        dagster = subprocess.Popen(  # what `make dev` runs (centra_assets/cli.py serve_dagster), on this location
            [sys.executable, "-m", "dagster", "dev", "-m", "tests.soak.location", "-h", "127.0.0.1"]
            + ["-p", str(ui_port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{ui_port}"
        location = loaded_location(url)
        selector = {"repositoryLocationName": location, "repositoryName": "__repository__"}
        for sensor in SENSORS_TURNED_ON:  # as an operator turns them on in the UI
            start_sensor(url, location, sensor)
        figures["Dagster ready (s)"] = round(time.monotonic() - started)

        steps = SOAK_DAYS * 86400 // STEP
        for _ in range(steps):
            time.sleep(PAUSE)
            centra.admin("clock", {"advance": STEP})  # announces every change since: webhooks and the event queue
        figures["soak (s)"] = round(time.monotonic() - started)
        _until(lambda: centra.admin("webhooks")["idle"], 120, "the simulator's webhooks to be delivered")
        deadline = time.time() + SETTLE
        while not (settled := _settled(instance, url, selector, schedules_done)):
            if time.time() > min(deadline, _last_activity(instance) + QUIET):
                break
            time.sleep(2)
        figures["settled"] = settled
        figures["settled (s)" if settled else "gave up settling (s)"] = round(time.monotonic() - started)
        in_flight = instance.get_run_records(dg.RunsFilter(statuses=IN_FLIGHT))
        figures["in flight when stopped"] = [
            f"{r.dagster_run.run_id} {_kind(r)} by {_launcher(r)}: {r.dagster_run.status.value}" for r in in_flight
        ]
        stopped = time.time()
    finally:
        if dagster is not None:
            stop_session(dagster)
        stop_session(receiver)
        log.close()
    figures["stopped (s)"] = round(time.monotonic() - started)
    interrupted = {r.dagster_run.run_id for r in in_flight}
    today = day_of(dt.datetime.fromtimestamp(stopped + offset, dt.UTC), ZoneInfo(TZ))
    result = Soak(centra, settings, instance, root, soak_start, today, before, stopped, interrupted, figures)
    yield result
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "soak.json").write_text(json.dumps(result.figures, indent=2, default=str))
    server.__exit__()
    centra.sim.stop()


# ---------------------------------------------------------------- what the instance recorded


def _kind(record: dg.RunRecord) -> str:
    run = record.dagster_run
    if TAG in run.tags:
        return "refresh"
    if run.job_name == "centra_marts" or any(k.path[0] == "analytics" for k in run.asset_selection or ()):
        return "build"
    return "sync"


def _launcher(record: dg.RunRecord) -> str:
    tags = record.dagster_run.tags
    return tags.get("dagster/sensor_name") or tags.get("dagster/schedule_name") or "in process"


def _why(instance: dg.DagsterInstance, run_id: str) -> tuple[list[str], list[str]]:
    """A failed run's failing dbt tests (from its errors and its failed asset checks), and its errors, in short."""
    tests, errors = set(), []
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            if not evaluation.passed:
                tests.add(evaluation.check_name)
        elif event.event_type in (
            dg.DagsterEventType.STEP_FAILURE,
            dg.DagsterEventType.STEP_UP_FOR_RETRY,
            dg.DagsterEventType.RUN_FAILURE,
        ):
            error = getattr(event.event_specific_data, "error", None)
            text = ANSI.sub("", "\n".join(filter(None, [entry.message, error and error.to_string()])))
            tests.update(re.findall(r"(?:Failure|Error) in test (\w+)", text))
            # dagster-dbt's summary of dbt's log ("Errors parsed from dbt logs:"), else the error's first line
            parsed = re.search(r"Errors parsed from dbt logs:\s*(.*?)\s*(?:Stack Trace:|$)", text, re.S)
            cause = " | ".join(line.strip() for line in parsed.group(1).splitlines() if line.strip()) if parsed else ""
            errors.append(f"{event.event_type.value}: {cause or text.strip().splitlines()[0][:300]}")
    return sorted(tests), errors


def test_the_soak_exercised_every_part_of_continuous_operation(soak):
    """Runs came from every sensor and schedule, and records of every kind changed after their day."""
    launched = {_launcher(r) for r in soak.runs()}
    assert set(LAUNCHERS) <= launched, f"no runs from {set(LAUNCHERS) - launched}"
    after = _changing(soak.centra, soak.settings.start_date)
    soak_day = day_of(dt.datetime.fromtimestamp(soak.soak_start, dt.UTC), ZoneInfo(TZ)).isoformat()
    old_orders = {n for n, (_, created) in soak.before["orders"].items() if created[:10] < soak_day}
    moved = {
        kind: sum(after[kind].get(k) != v for k, v in soak.before[kind].items() if kind != "orders" or k in old_orders)
        for kind in soak.before
    }
    moved["new deliveries"] = len(after["deliveries"].keys() - soak.before["deliveries"].keys())
    moved["new returns"] = len(after["returns"].keys() - soak.before["returns"].keys())
    soak.figures["records changed during the soak"] = moved
    # the simulator creates and completes a delivery at once: what changes after its day is its purchase order
    assert all(n for kind, n in moved.items() if kind != "deliveries"), moved
    # orders of days before the soak were confirmed (pending before it, confirmed or shipped after it), shipped and
    # cancelled during it
    changes = Counter()
    for number in old_orders:
        (was, _), (now, _) = soak.before["orders"][number], after["orders"][number]
        changes["confirmed"] += was == "PENDING" and now in ("CONFIRMED", "SHIPPED")
        changes["shipped"] += was != "SHIPPED" and now == "SHIPPED"
        changes["cancelled"] += was != "CANCELLED" and now == "CANCELLED"
    soak.figures["old orders changed during the soak"] = dict(changes)
    assert all(changes[kind] for kind in ("confirmed", "shipped", "cancelled")), dict(changes)


def test_the_pipeline_settled_after_the_last_change(soak):
    """After the simulator's last change every run asked for ended and nothing more was asked for (the runs still
    in flight were stopped with Dagster), and one build at most followed the raw data's last update: the marts
    converge in one build, not in builds asking for builds (the soak's run e9e7e916 was the fifth build after the
    last change, each of the models the one before had left behind: marts/conditions.py MartsBuildInFlight)."""
    records = soak.runs()
    landed = [
        e.timestamp
        for r in records
        if _kind(r) != "build"
        for e in _at(soak.instance, r.dagster_run.run_id, {dg.DagsterEventType.ASSET_MATERIALIZATION})
    ]
    after = sorted(
        f"{r.dagster_run.run_id} ({_launcher(r)})"
        for r in records
        if _kind(r) == "build" and r.create_timestamp.timestamp() > max(landed)
    )
    soak.figures["builds after the raw data's last update"] = after
    assert soak.figures["settled"], "runs in flight when the soak gave up settling:\n" + "\n".join(
        soak.figures["in flight when stopped"]
    )
    assert len(after) <= 1, after


def test_no_run_failed(soak):
    """Refreshes, syncs and every mart build succeeded (a build fails when a dbt test fails). A run still in flight
    when Dagster was stopped counts only if a dbt test had failed in it by then: that it did not finish is the
    pipeline not settling, which the test above reports."""
    records = soak.runs()
    kinds: dict[str, int] = {}
    for r in records:
        kinds[f"{_kind(r)} runs"] = kinds.get(f"{_kind(r)} runs", 0) + 1
    soak.figures |= kinds
    report = []
    for r in records:
        if r.dagster_run.status == dg.DagsterRunStatus.SUCCESS:
            continue
        tests, errors = _why(soak.instance, r.dagster_run.run_id)
        if r.dagster_run.run_id in soak.interrupted and not tests:
            continue
        report.append(
            {
                "run": r.dagster_run.run_id,
                "kind": _kind(r),
                "by": _launcher(r),
                "status": r.dagster_run.status.value,
                "failing dbt tests": tests,
                "errors": errors,
            }
        )
    soak.figures["failed runs"] = report
    assert not report, f"{len(report)} of {len(records)} runs did not succeed:\n" + json.dumps(report, indent=1)


# What a run records of its waits: queued -> starting (the run queue), a step blocked for a pool (Dagster's engine
# event) until it starts, the warehouse's turn and a raw partition's write turn (centra_assets/warehouse/turns.py, the
# holder's run named).
POOL_BLOCKED = re.compile(r"Step (?:still )?blocked by limit for pool (\S+)")
TURN_WAITED = re.compile(r"got the (?:(warehouse)'s turn|turn to (write) .*?) after waiting (\d+) s for (.*)")
HOLDER_RUN = re.compile(r" of run ([0-9a-f-]{36})")
RUN_ENDS = {dg.DagsterEventType.RUN_SUCCESS, dg.DagsterEventType.RUN_FAILURE, dg.DagsterEventType.RUN_CANCELED}
STEP_ENDS = {dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}
STARTED_RUN_POOL_SECONDS = 5  # Dagster's DAGSTER_OP_CONCURRENCY_KEYS_ALLOTTED_FOR_STARTED_RUN_SECONDS


def _at(instance: dg.DagsterInstance, run_id: str, types) -> list[dg.EventLogEntry]:
    return [r.event_log_entry for r in instance.get_records_for_run(run_id, of_type=set(types), limit=100_000).records]


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def waits(instance: dg.DagsterInstance, records: list[dg.RunRecord], stopped: float) -> list[dict]:
    """Each refresh or sync run's waits, each with its cause, from what the instance recorded:

    - in the run queue (enqueued -> starting, when the daemon takes it from the queue) while the runs in progress
      filled the run cap: behind the runs that held a slot then; else while the pool of its steps was full, its
      slots held or asked for by the steps of runs in progress, or counted for a run starting (Dagster keeps such
      a run queued, whatever its priority): behind those runs; else for the queue's next pass;
    - a step blocked for a pool (`Step blocked by limit for pool`) until it started: behind the other runs whose
      steps of that pool ran then;
    - the warehouse's turn ("got the warehouse's turn after waiting N s for <holder> of run <id>"), or a raw
      partition's write turn ("got the turn to write <data type> <days> after waiting ..."): behind that run.

    A run waited behind a build when a build held what it waited for: a run slot while the cap was full, or the
    warehouse's turn (no build step draws on the centra_api pool)."""
    kinds = {r.dagster_run.run_id: _kind(r) for r in records}
    cap = instance.run_coordinator.get_run_queue_config().max_concurrent_runs
    pool_limit = instance.get_concurrency_config().pool_config.default_pool_limit
    slots, pool_steps, pools_of = {}, {}, {}  # run -> (starting, ended); pool -> [(run, started, ended)]; run -> pools
    for r in records:
        run_id = r.dagster_run.run_id
        events = _at(instance, run_id, {dg.DagsterEventType.RUN_STARTING, dg.DagsterEventType.RUN_START, *RUN_ENDS})
        starting = next((e.timestamp for e in events if e.dagster_event_type == dg.DagsterEventType.RUN_STARTING), None)
        if starting is not None:  # the initial sync ran in process, before the daemon
            ended = next((e.timestamp for e in events if e.dagster_event_type in RUN_ENDS), stopped)
            slots[run_id] = (starting, ended)
        if kinds[run_id] == "build" or not r.dagster_run.execution_plan_snapshot_id:
            continue
        plan = instance.get_execution_plan_snapshot(r.dagster_run.execution_plan_snapshot_id)
        pool_of = {step.key: step.pool for step in plan.steps if step.pool}
        pools_of[run_id] = set(pool_of.values())
        if run_id in slots:  # a run starting counts one slot per step of the pool, until it has run a few seconds
            start = [e.timestamp for e in events if e.dagster_event_type == dg.DagsterEventType.RUN_START]
            started = start[0] if start else stopped
            for pool in pool_of.values():
                pool_steps.setdefault(pool, []).append((run_id, slots[run_id][0], started + STARTED_RUN_POOL_SECONDS))
        # a step counts on its pool from when it asked for a slot (blocked: pending) until it ended, as Dagster's run
        # queue counts a pool's slots (claimed and pending) before it takes a run that needs it
        begun = {}
        for e in _at(instance, run_id, {dg.DagsterEventType.ENGINE_EVENT, dg.DagsterEventType.STEP_START, *STEP_ENDS}):
            if e.step_key not in pool_of:
                continue
            if e.dagster_event_type == dg.DagsterEventType.ENGINE_EVENT:
                if POOL_BLOCKED.search(e.message or ""):
                    begun.setdefault(e.step_key, e.timestamp)
            elif e.dagster_event_type == dg.DagsterEventType.STEP_START:
                begun.setdefault(e.step_key, e.timestamp)
            elif e.step_key in begun:
                pool_steps.setdefault(pool_of[e.step_key], []).append((run_id, begun.pop(e.step_key), e.timestamp))
        for step, since in begun.items():
            pool_steps.setdefault(pool_of[step], []).append((run_id, since, stopped))

    out = []
    for r in records:
        run_id = r.dagster_run.run_id
        enqueued = _at(instance, run_id, {dg.DagsterEventType.RUN_ENQUEUED})
        if kinds[run_id] == "build" or not enqueued:  # (the initial sync ran in process, before the daemon)
            continue
        left = slots.get(run_id, (stopped, stopped))[0]  # a run still queued when Dagster stopped waited until then
        queued = (enqueued[0].timestamp, left)
        behind_builds, behind = set(), Counter()
        # the run queue: the stretches of the wait during which the other runs in progress filled the cap
        others = {o: span for o, span in slots.items() if o != run_id and _overlap(span, queued) > 0}
        pools = pools_of.get(run_id, ())
        steps = [(pool, *step) for pool in pools for step in pool_steps.get(pool, []) if step[0] != run_id]
        inside = [t for span in [*others.values(), *(step[2:] for step in steps)] for t in span]
        edges = sorted({*queued, *(t for t in inside if queued[0] < t < queued[1])})
        at_cap = 0.0
        for a, b in zip(edges, edges[1:], strict=False):
            holding = [o for o, span in others.items() if _overlap(span, (a, b)) == b - a]
            if len(holding) >= cap:
                at_cap += b - a
                behind.update({f"run slot: {kinds[o]}": b - a for o in holding})
                behind_builds |= {o for o in holding if kinds[o] == "build"}
                continue
            cause = "queued below the run cap (the queue's next pass)"
            for pool in pools:  # Dagster keeps a run queued while its first steps' pool is full
                held = [h for p, h, *span in steps if p == pool and _overlap(tuple(span), (a, b)) == b - a]
                if len(held) >= pool_limit:  # held, or asked for by steps waiting: a refresh's steps go first
                    behind.update({f"queued for the {pool} pool: {kinds[h]}": b - a for h in held})
                    break
            else:
                behind[cause] += b - a
        pool_wait, turn_wait = 0.0, 0.0
        blocked = {}
        for entry in instance.all_logs(run_id):
            event = entry.dagster_event
            if event and event.event_type == dg.DagsterEventType.ENGINE_EVENT and entry.step_key:
                if match := POOL_BLOCKED.search(entry.message or ""):
                    blocked.setdefault(entry.step_key, (match.group(1), entry.timestamp))
            elif event and event.event_type == dg.DagsterEventType.STEP_START and entry.step_key in blocked:
                pool, since = blocked.pop(entry.step_key)
                span = (since, entry.timestamp)
                pool_wait += span[1] - since
                for holder, a, b in pool_steps.get(pool, []):
                    if _overlap((a, b), span):
                        of = "its own steps" if holder == run_id else kinds[holder]
                        behind[f"{pool} pool: {of}"] += _overlap((a, b), span)
            elif match := TURN_WAITED.search(ANSI.sub("", entry.user_message or "")):
                turn, seconds, holder = match.group(1) or match.group(2), float(match.group(3)), match.group(4)
                holder = HOLDER_RUN.search(holder)
                turn_wait += seconds
                kind = kinds.get(holder.group(1), "other") if holder else "other"
                behind[f"{turn} turn: {kind}"] += seconds
                if kind == "build":
                    behind_builds.add(holder.group(1))
        ended = slots.get(run_id, (stopped, stopped))[1]
        out.append(
            {
                "run": run_id,
                "kind": kinds[run_id],
                "by": _launcher(r),
                "asked -> ended (s)": round(ended - r.create_timestamp.timestamp(), 1),
                "created -> queued (s)": round(queued[0] - r.create_timestamp.timestamp(), 1),
                "queued (s)": round(queued[1] - queued[0], 1),
                "queued at the run cap (s)": round(at_cap, 1),
                "waited for a pool (s)": round(pool_wait, 1),
                "waited for a turn (s)": round(turn_wait, 1),
                "behind (s)": {k: round(v, 1) for k, v in behind.items()},
                "builds": sorted(behind_builds),
            }
        )
    return out


def _percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p * (len(values) - 1)))]


def test_refresh_runs_never_waited_behind_more_than_one_build(soak):
    """Refresh runs and sync runs waited behind the build in progress at most: no run waited for a run slot or the
    warehouse's turn held by more than one build (`waits`: each wait's cause, from the runs' own records). How long
    refreshes took, and what they waited for, land in soak.json."""
    found = waits(soak.instance, soak.runs(), soak.stopped)
    refreshes = [w for w in found if w["kind"] == "refresh"]
    assert refreshes, "no refresh run"
    for kind in ("refresh", "sync"):
        of = [w for w in found if w["kind"] == kind]
        took = [w["asked -> ended (s)"] for w in of]
        soak.figures[f"{kind} runs: asked -> ended p50, p95, max (s)"] = [
            _percentile(took, 0.5),
            _percentile(took, 0.95),
            max(took, default=0),
        ]
        behind = Counter()
        for w in of:
            behind.update(w["behind (s)"])
        soak.figures[f"{kind} runs: waited behind, in all (s)"] = {k: round(v) for k, v in behind.most_common()}
        soak.figures[f"{kind} runs: longest waits"] = sorted(of, key=lambda w: -w["asked -> ended (s)"])[:3]
    worst = [w for w in found if len(w["builds"]) > 1]
    soak.figures["runs behind more than one build"] = worst
    assert not worst, f"{len(worst)} of {len(found)} runs waited behind several builds:\n" + json.dumps(
        worst[:10], indent=1
    )


def test_every_raw_partitions_latest_metadata_is_true(soak):
    """Each raw table's latest materialization, per day partition: that day, that day's window (the start date's
    reaches back as far as its data type's declared reach: entities/spec.py reach_before_start), the rows of the
    day's Parquet file (none where there is no file); a snapshot's: the day it was taken and its file's rows."""
    settings, instance = soak.settings, soak.instance
    root = layout.store_root(settings.warehouse_dir, settings.stores[0])
    tz = ZoneInfo(TZ)
    first, last = dt.date.fromisoformat(settings.start_date), soak.today + dt.timedelta(days=1)
    days = [(first + dt.timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    wrong, checked, untrue = [], 0, Counter()
    runs = {r.dagster_run.run_id: r for r in soak.runs()}

    def rows_in(table: str, day: str) -> int | None:
        path = Path(layout.partition_path(root, table, day))
        return pq.ParquetFile(path).metadata.num_rows if path.exists() else None

    for spec in ALL:
        for table in spec.tables:
            key = dg.AssetKey(["centra", table.name])
            if spec.partition == "event":
                latest = {}
                for day in days:
                    found = instance.fetch_materializations(
                        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[day]), limit=1
                    ).records
                    if found:
                        latest[day] = found[0]
                    elif rows_in(table.name, day) is not None:
                        wrong.append(f"{table.name} {day}: a file, but no materialization")
                        untrue["no materialization"] += 1
                for day, record in latest.items():
                    start, end = day_window(dt.date.fromisoformat(day), tz)
                    if day == settings.start_date and spec.reach_before_start:  # it holds the reach before it too
                        start = day_window(first - dt.timedelta(days=spec.reach_before_start), tz)[0]
                    rows = rows_in(table.name, day) or 0
                    expected = {"day": day, "window": f"{start} .. {end}", "dagster/row_count": rows}
                    checked += 1
                    got = {k: getattr(record.asset_materialization.metadata.get(k), "value", None) for k in expected}
                    if got != expected:
                        wrong.append(f"{table.name} {day} (run {record.run_id}): {got} != {expected}")
                        untrue.update(
                            f"{k} (by {_kind(runs[record.run_id])} runs)" for k in expected if got[k] != expected[k]
                        )
            else:
                (record,) = instance.fetch_materializations(key, limit=1).records
                metadata = record.asset_materialization.metadata
                day = metadata["day"].value
                expected = {
                    "window": f"snapshot taken on {day}",
                    "dagster/row_count": rows_in(table.name, day) or 0,
                }
                checked += 1
                got = {k: getattr(metadata.get(k), "value", None) for k in expected}
                if got != expected:
                    wrong.append(f"{table.name} snapshot (run {record.run_id}): {got} != {expected}")
                    untrue.update(f"snapshot {k}" for k in expected if got[k] != expected[k])
    soak.figures["raw partitions checked"] = checked
    soak.figures["raw partitions with untrue metadata"] = len(wrong)
    soak.figures["untrue metadata, by field"] = dict(untrue)
    assert checked > 50
    assert not wrong, f"{len(wrong)} of {checked} latest materializations are untrue ({dict(untrue)}):\n" + "\n".join(
        wrong[:40]
    )


# ---------------------------------------------------------------- the marts


@pytest.fixture(scope="module")
def rebuilt(soak) -> Path:
    """Every dbt model and test built from scratch into a DuckDB file of its own, on the raw data the soak left."""
    started = time.monotonic()
    path = soak.root / "rebuilt.duckdb"
    build = subprocess.run(
        [
            str(Path(sys.executable).with_name("dbt")),
            "build",
            "--vars",
            dbt_vars(soak.settings, str(path)),
            "--target-path",
            str(soak.root / "dbt-target"),
        ],
        cwd=DBT_DIR,
        env={**os.environ, "DBT_PROFILES_DIR": str(DBT_DIR), "DO_NOT_TRACK": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, ANSI.sub("", build.stdout[-4000:])
    soak.figures["full rebuild (s)"] = round(time.monotonic() - started)
    return path


# What an incremental build recomputed (the days its changed partitions touch): a record of the last build, not a
# mart, so by design not what a full rebuild holds
def test_the_last_build_equals_a_full_rebuild(soak, rebuilt):
    """Every table of the published warehouse holds exactly the rows of the full rebuild, and the other way round."""
    with duckdb.connect() as con:
        con.execute(f"ATTACH '{soak.settings.duckdb_file}' AS live (READ_ONLY)")
        con.execute(f"ATTACH '{rebuilt}' AS rebuilt (READ_ONLY)")

        def tables(db: str) -> set[tuple[str, str]]:
            return set(
                con.execute(
                    "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ?", [db]
                ).fetchall()
            )

        assert tables("live") == tables("rebuilt") and len(tables("rebuilt")) > 20
        differ = {}
        for schema, table in sorted(tables("rebuilt")):
            if table in BUILD_BOOKKEEPING:
                continue
            a, b = f'live."{schema}"."{table}"', f'rebuilt."{schema}"."{table}"'
            only_live = con.execute(f"SELECT count(*) FROM (FROM {a} EXCEPT ALL FROM {b})").fetchone()[0]
            only_full = con.execute(f"SELECT count(*) FROM (FROM {b} EXCEPT ALL FROM {a})").fetchone()[0]
            if only_live or only_full:
                differ[table] = {"rows only in the live warehouse": only_live, "rows only in the rebuild": only_full}
    soak.figures["marts differing from a full rebuild"] = differ
    assert not differ, json.dumps(differ, indent=1)


def test_daily_sales_equal_the_ground_truth(soak):
    """Orders, net sales and refunds per day and market in the published `daily_sales`, against the simulator."""
    expected = expected_daily(soak.centra, TZ, soak.settings.start_date)
    got = daily_sales(soak.settings)
    wrong = []
    for key in sorted(expected.keys() | got.keys(), key=str):
        e, g = expected.get(key), got.get(key)
        if e is None or g is None:
            wrong.append(f"{key}: {'only in the warehouse' if e is None else 'missing from the warehouse'}")
            continue
        if g["orders"] != e["orders"]:
            wrong.append(f"{key}: orders {g['orders']} != {e['orders']}")
        for figure in ("order_day_net_base", "refunds_base", "net_base"):
            if abs((g[figure] or 0) - e[figure]) > 0.011:
                wrong.append(f"{key}: {figure} {g[figure]} != {e[figure]:.2f}")
    assert sum(e["orders"] for e in expected.values()) > 0 and sum(e["refunds_base"] for e in expected.values()) > 0
    assert not wrong, "\n".join(wrong[:40])
