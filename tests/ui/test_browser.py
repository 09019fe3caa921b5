"""The real-store setup of docs/operating.md, then the Dagster UI in a real browser.

The fixture follows docs/operating.md's setup commands word for word (`centra-assets check`, `init`, `dev`) from a
clean directory, the simulator standing in for the store. The tests then read the instance settings in force,
drive the UI through Debian's Chromium with Playwright (lineage, a partition launched from the asset page, a
backfill of every raw asset, a group mixing event data and snapshots), and stop `centra-assets dev` as Ctrl-C
does. Screenshots land in docs/ (those docs/operating.md shows) and test-artifacts/ (CENTRA_TEST_ARTIFACTS).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import dagster as dg
import httpx
import pytest
from playwright.sync_api import Page, sync_playwright

from centra_assets.cli import stop_session
from centra_assets.defs.policy import MARTS_AUTOMATION_INTERVAL
from centra_assets.entities import ALL, BY_NAME
from centra_assets.settings import Settings
from centra_sim.process import free_port
from centra_sim.testing.dagster_ui import graphql, until
from centra_sim.testing.simulator import TOKEN, serve

from ..helpers import TZ, rows, truth

# Dagster's UI, a simulator and Chromium
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("CENTRA_TEST_ARTIFACTS", ROOT / "test-artifacts"))
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
START = "2026-11-10"  # the first partition (docs/operating.md's example says 2025-01-01; a shorter range is quicker)
SYNCED = ["2026-11-16", "2026-11-17"]  # the days the backfill syncs (the simulator's clock is 2026-11-18)
LOCATION = (
    "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus "
    "locationOrLoadError { __typename } } } } }"
)
RUNS = "{ runsOrError { ... on Runs { results { runId status tags { key value } } } } }"
INSTANCE = "{ instance { info runQueueConfig { maxConcurrentRuns } poolConfig { defaultPoolLimit } } }"
BACKFILL = """mutation($selection: [AssetKeyInput!], $partitions: [String!]) {
  launchPartitionBackfill(backfillParams: {assetSelection: $selection, partitionNames: $partitions}) {
    __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }"""
BACKFILL_STATUS = (
    "query($id: String!) { partitionBackfillOrError(backfillId: $id) { ... on PartitionBackfill { status } } }"
)
SENSOR = """query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) {
  ... on Sensor { jobOriginId sensorState { selectorId status } } } }"""
TICKS = """query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) {
  ... on Sensor { sensorState { ticks(limit: 5) { status skipReason } } } } }"""
STOP_SENSOR = """mutation($o: String!, $s: String!) { stopSensor(jobOriginId: $o, jobSelectorId: $s) {
  __typename ... on PythonError { message } } }"""
LAUNCH_RUN = """mutation($p: ExecutionParams!) { launchRun(executionParams: $p) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }"""
RUN_STATUS = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"
PARTITIONS = """{ assetNodes(group: null) { assetKey { path } isPartitioned
  assetPartitionStatuses { ... on TimePartitionStatuses { ranges { status startKey endKey } } }
  assetMaterializations(limit: 1) { partition } } }"""


def _graphql(url: str, query: str, variables: dict | None = None, timeout: float = 30) -> dict:
    return graphql(url, query, variables, timeout)


def _wait(condition, seconds: float, what: str):
    return until(condition, seconds, what)


def documented_setup() -> list[str]:
    """The real-store setup commands of docs/operating.md: the bash block that runs `centra-assets init`."""
    operating = (ROOT / "docs" / "operating.md").read_text()
    (block,) = [b for b in re.findall(r"```bash\n(.*?)```", operating, re.S) if "centra-assets init" in b]
    return [line.strip() for line in block.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def dagster_ui(tmp_path_factory):
    assert Path(CHROMIUM).exists(), "Chromium is missing: `make test` installs it (apt-get install chromium)"
    clean = tmp_path_factory.mktemp("clean")  # nothing in it: the setup makes what it needs
    centra, server = serve(days=10, orders_per_day=30)
    commands = [
        line.replace("https://<store>.centra.com/graphql", centra.graphql_url)
        .replace("<the token>", TOKEN)
        .replace("CENTRA_START_DATE=2025-01-01", f"CENTRA_START_DATE={START}")
        .replace("/srv/centra", str(clean / "srv"))
        .replace("uv run ", f"{ROOT}/.venv/bin/")
        for line in documented_setup()
    ]
    assert commands[-1].endswith("centra-assets dev"), commands
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CENTRA_", "DAGSTER_"))}
    env |= {"DAGSTER_PORT": str(port)}  # the one thing docs/operating.md does not say: a free port for the UI
    setup = subprocess.run(
        ["bash", "-ec", "\n".join(commands[:-1])], cwd=clean, env=env, capture_output=True, text=True, timeout=300
    )
    assert setup.returncode == 0, setup.stdout + setup.stderr
    terminal = open(clean / "terminal.txt", "w")  # noqa: SIM115 - closed below
    dev = subprocess.Popen(
        ["bash", "-ec", "\n".join([*(c for c in commands if c.startswith("export ")), "exec " + commands[-1]])],
        cwd=clean,
        env=env,
        stdout=terminal,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    home = clean / "srv" / "dagster"
    settings = Settings(warehouse_dir=str(clean / "srv" / "warehouse"), timezone=TZ, start_date=START)
    try:
        _wait(lambda: httpx.get(f"{url}/server_info", timeout=2).status_code == 200, 180, "the webserver")
        entries = _wait(
            lambda: (
                (e := _graphql(url, LOCATION)["workspaceOrError"]["locationEntries"])
                and all(x["loadStatus"] == "LOADED" for x in e)
                and e
            ),
            180,
            "the code location",
        )
        assert entries[0]["locationOrLoadError"]["__typename"] == "RepositoryLocation", home / "dagster-dev.log"
        # `centra-assets dev` polls the webserver once a second before it says where the UI is: this fixture, polling
        # faster, can see the UI first
        _wait(lambda: "Dagster UI at" in (clean / "terminal.txt").read_text(), 30, "dev's message")
        yield {
            "url": url,
            "centra": centra,
            "settings": settings,
            "home": home,
            "setup": setup.stdout,
            "dev": dev,
            "terminal": clean / "terminal.txt",
            "location": entries[0]["name"],
        }
    finally:
        stop_session(dev)
        terminal.close()
        server.__exit__()
        centra.sim.stop()


def test_the_documented_real_store_setup_puts_the_instance_settings_in_force(dagster_ui):
    assert "All read permissions present" in dagster_ui["setup"]  # centra-assets check against the "store"
    home = dagster_ui["home"]
    # what the running webserver uses
    instance = _graphql(dagster_ui["url"], INSTANCE)["instance"]
    assert instance["runQueueConfig"]["maxConcurrentRuns"] == 4
    assert instance["poolConfig"]["defaultPoolLimit"] == 2  # the centra_api pool's limit
    assert str(home) in instance["info"]
    # and the instance DAGSTER_HOME names, as any Dagster process there loads it
    loaded = dg.DagsterInstance.from_config(str(home))
    concurrency = loaded.get_concurrency_config()
    assert concurrency.pool_config.default_pool_limit == 2
    assert concurrency.run_queue_config.max_concurrent_runs == 4
    assert type(loaded.run_coordinator).__name__ == "QueuedRunCoordinator"
    assert type(loaded.run_storage).__name__ == "SqliteRunStorage"  # run history kept, in DAGSTER_HOME
    assert loaded.root_directory == str(home) and (home / "history" / "runs.db").exists()
    assert not loaded.telemetry_enabled
    terminal = dagster_ui["terminal"].read_text()
    assert f"Dagster UI at {dagster_ui['url']}" in terminal and len(terminal.splitlines()) <= 5, terminal

    # The first production day as written: the sweep is on, and its first tick comes seconds after Dagster starts,
    # before anyone could hold it; it launches nothing the operator did not ask for before the backfill.
    url = dagster_ui["url"]
    sweep = {"repositoryLocationName": dagster_ui["location"], "repositoryName": "__repository__"}
    selector = {**sweep, "sensorName": "centra_sweep_sensor"}
    first = _wait(lambda: _ended(_graphql(url, TICKS, {"s": selector})), 120, "the sweep's first tick to end")
    assert first["status"] == "SKIPPED" and "waits for its history to land" in first["skipReason"], first
    runs = _graphql(url, RUNS)["runsOrError"]["results"]
    unasked = [r for r in runs if _tag(r, "dagster/schedule_name") is None]
    assert unasked == [], unasked  # (a daily schedule may come due while the test runs: it is documented)


def _ended(answer: dict) -> dict | None:
    """The sensor's first tick once it has ended: a tick is listed from its start (STARTED), and on a busy machine
    the first read can come before its end (a flaky failure: `[{'status': 'STARTED', 'skipReason': None}]`)."""
    ticks = answer["sensorOrError"]["sensorState"]["ticks"]  # newest first
    return ticks[-1] if ticks and ticks[-1]["status"] != "STARTED" else None


def _open(page: Page, url: str) -> None:
    page.goto(url, timeout=60_000)
    page.wait_for_load_state("networkidle", timeout=60_000)


def _stop_for_good(url: str, selector: dict) -> None:
    """Stops a sensor, and again until it stays stopped through more than a tick: the sensor daemon writes the state
    it read as its iteration began back with the tick, so a stop landing meanwhile was lost (the marts' automation
    then built the marts beside the backfill, a minute of the machine's two cores)."""

    def stopped() -> bool:
        sensor = _graphql(url, SENSOR, {"s": selector})["sensorOrError"]
        if sensor["sensorState"]["status"] == "RUNNING":
            result = _graphql(url, STOP_SENSOR, {"o": sensor["jobOriginId"], "s": sensor["sensorState"]["selectorId"]})
            assert result["stopSensor"]["__typename"] == "StopSensorMutationResult", result
        time.sleep(2 * MARTS_AUTOMATION_INTERVAL)  # a tick that began before the stop has written its state by now
        return _graphql(url, SENSOR, {"s": selector})["sensorOrError"]["sensorState"]["status"] == "STOPPED"

    _wait(stopped, 120, f"{selector['sensorName']} to stay stopped")


def _tag(run: dict, key: str) -> str | None:
    return next((t["value"] for t in run["tags"] if t["key"] == key), None)


def _runs_done(url: str, n: int) -> list[dict]:
    done = [r for r in _graphql(url, RUNS)["runsOrError"]["results"] if r["status"] in ("SUCCESS", "FAILURE")]
    return done if len(done) >= n else []


def test_the_ui_shows_the_lineage_a_synced_store_and_its_checks(dagster_ui):
    url, centra, settings = dagster_ui["url"], dagster_ui["centra"], dagster_ui["settings"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # the marts' automation would build the models after every raw run of the backfill; this test builds them
    # once, after it (the job centra_marts), so the machine's two cores go to the runs under test
    repository = {"repositoryLocationName": dagster_ui["location"], "repositoryName": "__repository__"}
    _stop_for_good(url, {**repository, "sensorName": "centra_marts_automation"})
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        # Dagster's one-time newsletter prompt opens a second after a page loads, over whatever is open then;
        # its Skip button records this in the browser, so record it before any page loads
        page.add_init_script("window.localStorage.setItem('communityNux', JSON.stringify('1'))")

        # lineage: a mart, the dbt models under it, and the Centra assets they read
        _open(page, f"{url}/assets/analytics/daily_sales?view=lineage&lineageScope=upstream&lineageDepth=4")
        for name in ("daily_sales", "int_orders", "stg_orders", "orders", "order_lines"):
            page.get_by_text(name, exact=True).first.wait_for(timeout=60_000)
        page.screenshot(path=str(DOCS / "ui-lineage.png"))

        # one partition of the orders, launched from the asset page
        _open(page, f"{url}/assets/centra/orders")
        # (the orders' op can be subset since its checks became optional, raw/assets.py: no dialog asks to confirm
        # the whole multi-asset; the run still syncs every table of the data type)
        page.get_by_role("button", name="Materialize…").first.click()
        # the partition box: its placeholder changes as soon as it holds a value, so find it by place
        partitions = (
            page.get_by_role("dialog").filter(has_text="Partition selection").locator("input:not([type=checkbox])")
        )
        partitions.fill("2026-11-17")
        partitions.press("Enter")
        page.screenshot(path=str(ARTIFACTS / "launch-one-partition.png"))
        page.get_by_role("button", name="Launch 1 run").click()
        (run,) = _wait(lambda: _runs_done(url, 1), 300, "the run to finish")
        assert run["status"] == "SUCCESS"
        assert {"key": "dagster/partition", "value": "2026-11-17"} in run["tags"]
        expected = sorted(o["number"] for o in truth(centra, "orders", "2026-11-17"))
        assert [n for (n,) in rows(settings, "orders", "2026-11-17", "order_number")] == expected

        # a backfill of every raw asset (groups that mix event data and snapshots) over two days completes
        raw = [{"path": ["centra", t.name]} for spec in ALL for t in spec.tables]
        launched = _graphql(url, BACKFILL, {"selection": raw, "partitions": SYNCED})["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched
        backfill = launched["backfillId"]
        status = _wait(
            lambda: (
                (s := _graphql(url, BACKFILL_STATUS, {"id": backfill})["partitionBackfillOrError"]["status"])
                not in ("REQUESTED",)
                and s
            ),
            1200,
            "the backfill to finish",
        )
        assert status == "COMPLETED_SUCCESS", status
        automatic = [r for r in _graphql(url, RUNS)["runsOrError"]["results"] if _tag(r, "centra/marts_build")]
        assert automatic == [], automatic  # the marts' automation stayed stopped
        _open(page, f"{url}/runs/b/{backfill}")
        page.get_by_text("100% completed", exact=True).first.wait_for(timeout=60_000)
        page.screenshot(path=str(DOCS / "ui-backfill.png"))

        # no raw asset of the synced range reads Missing: event days materialized, snapshots taken
        nodes = {tuple(n["assetKey"]["path"]): n for n in _graphql(url, PARTITIONS)["assetNodes"]}
        for spec in ALL:
            for t in spec.tables:
                node = nodes[("centra", t.name)]
                if spec.partition == "snapshot":
                    assert not node["isPartitioned"] and node["assetMaterializations"], t.name
                    continue
                done = [r for r in node["assetPartitionStatuses"]["ranges"] if r["status"] == "MATERIALIZED"]
                assert any(r["startKey"] <= SYNCED[0] and SYNCED[-1] <= r["endKey"] for r in done), (t.name, done)
        _open(page, f"{url}/assets/centra/customers")  # a snapshot: materialized, nothing missing
        page.get_by_text("Latest materialization", exact=False).first.wait_for(timeout=60_000)
        assert "Missing" not in page.inner_text("body")
        page.screenshot(path=str(DOCS / "ui-raw-asset.png"))

        # one day's page shows that day's own row count and window (not the run's)
        day = SYNCED[0]
        _open(page, f"{url}/assets/centra/orders?view=partitions&partition={day}")
        page.get_by_text("dagster/row_count", exact=True).first.wait_for(timeout=60_000)
        body = page.inner_text("body")
        orders = len(truth(centra, "orders", day))  # the simulator's own orders of that day
        assert re.search(rf"dagster/row_count\s+{orders}\s", body), body
        assert f"{day}T00:00:00+01:00 .. {day}T23:59:59+01:00" in body
        page.screenshot(path=str(DOCS / "ui-partition.png"))

        # a check says what it checks
        _open(page, f"{url}/assets/centra/orders?view=checks")
        key = ", ".join(BY_NAME["orders"].tables[0].key)
        page.get_by_text("key_is_unique", exact=True).first.click()
        page.get_by_text(f"{key} is unique", exact=False).first.wait_for(timeout=60_000)
        assert "No description provided" not in page.inner_text("body")
        page.screenshot(path=str(ARTIFACTS / "orders-checks.png"))

        # a mart, built from what the backfill synced
        params = {"selector": {**repository, "jobName": "centra_marts"}, "runConfigData": {}}
        # the webserver starts the run's process before it answers: seconds on an idle machine, more on a loaded one
        launched = _graphql(url, LAUNCH_RUN, {"p": params}, timeout=120)["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        run_id = launched["run"]["runId"]
        status = _wait(
            lambda: (
                (s := _graphql(url, RUN_STATUS, {"id": run_id})["runOrError"]["status"]) in ("SUCCESS", "FAILURE") and s
            ),
            600,
            "the dbt build",
        )
        assert status == "SUCCESS" and _latest_materialization(url, ["analytics", "daily_sales"])
        _open(page, f"{url}/assets/analytics/daily_sales")
        page.get_by_text("Latest materialization", exact=False).first.wait_for(timeout=60_000)
        page.screenshot(path=str(DOCS / "ui-mart.png"))
        browser.close()


def _latest_materialization(url: str, path: list[str]) -> bool:
    query = (
        "query($k: AssetKeyInput!) { assetOrError(assetKey: $k) { ... on Asset { "
        "assetMaterializations(limit: 1) { runId } } } }"
    )
    return bool(_graphql(url, query, {"k": {"path": path}})["assetOrError"]["assetMaterializations"])


def test_ctrl_c_stops_dev_without_a_traceback(dagster_ui):
    """Ctrl-C (SIGINT to `centra-assets dev`) with a run waiting in the queue: a clean stop, no traceback."""
    url, dev = dagster_ui["url"], dagster_ui["dev"]
    orders = [{"path": ["centra", t.name]} for t in BY_NAME["orders"].tables]  # one multi-asset, whole
    queued = _graphql(url, BACKFILL, {"selection": orders, "partitions": ["2026-11-12"]})["launchPartitionBackfill"]
    assert queued["__typename"] == "LaunchBackfillSuccess", queued
    before = {r["runId"] for r in _runs_done(url, 0)}
    _wait(
        lambda: [r for r in _graphql(url, RUNS)["runsOrError"]["results"] if r["runId"] not in before],
        180,
        "the backfill's run to be queued",
    )
    os.kill(dev.pid, signal.SIGINT)
    assert dev.wait(timeout=120) == 0
    terminal = dagster_ui["terminal"].read_text()
    assert "Traceback" not in terminal and "Stopping Dagster" in terminal, terminal
