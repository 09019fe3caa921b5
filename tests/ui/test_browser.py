"""The Dagster UI, in a real browser: `dagster dev` (webserver and daemon) on 127.0.0.1 against the simulator,
driven through Debian's Chromium with Playwright. Screenshots land in test-artifacts/ (CENTRA_TEST_ARTIFACTS)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, sync_playwright

from centra_assets.simulator.process import free_port

from ..conftest import TOKEN, serve
from ..ingestion.helpers import TZ, rows, settings_for, truth

ROOT = Path(__file__).resolve().parents[2]
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
LOCATION = (
    "{ workspaceOrError { ... on Workspace { locationEntries { loadStatus locationOrLoadError { __typename } } } } }"
)
RUNS = "{ runsOrError { ... on Runs { results { runId status tags { key value } } } } }"


def _graphql(url: str, query: str) -> dict:
    return httpx.post(f"{url}/graphql", json={"query": query}, timeout=10).json()["data"]


def _wait(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if result := condition():
                return result
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def dagster_ui(tmp_path):
    assert Path(CHROMIUM).exists(), "Chromium is missing: `make test` installs it (apt-get install chromium)"
    centra, server = serve(days=10, orders_per_day=30)
    settings = settings_for(tmp_path, start="2026-11-01")
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "DAGSTER_DISABLE_TELEMETRY": "1",
        "CENTRA_API_URL": centra.graphql_url,
        "CENTRA_API_TOKEN": TOKEN,
        "CENTRA_WAREHOUSE_DIR": settings.warehouse_dir,
        "CENTRA_TIMEZONE": TZ,
        "CENTRA_START_DATE": settings.start_date,
    }
    port = free_port()
    log = open(tmp_path / "dagster-dev.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "dagster", "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: httpx.get(f"{url}/server_info", timeout=2).status_code == 200, 120, "the webserver")
        entries = _wait(
            lambda: (
                (e := _graphql(url, LOCATION)["workspaceOrError"]["locationEntries"])
                and all(x["loadStatus"] == "LOADED" for x in e)
                and e
            ),
            120,
            "the code location",
        )
        assert entries[0]["locationOrLoadError"]["__typename"] == "RepositoryLocation", tmp_path / "dagster-dev.log"
        yield url, centra, settings
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()
        server.__exit__()
        centra.sim.stop()


def _open(page: Page, url: str) -> None:
    page.goto(url, timeout=60_000)
    page.wait_for_load_state("networkidle", timeout=60_000)


def test_the_ui_shows_the_lineage_and_materializes_a_partition(dagster_ui):
    url, centra, settings = dagster_ui
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
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
        page.screenshot(path=str(ARTIFACTS / "lineage-daily-sales.png"))

        # one partition of the orders, launched from the asset page
        _open(page, f"{url}/assets/centra/orders")
        page.get_by_role("button", name="Materialize…").first.click()
        page.get_by_role("button", name="Confirm").click()  # the orders tables are one multi-asset
        # the partition box: its placeholder changes as soon as it holds a value, so find it by place
        partitions = (
            page.get_by_role("dialog").filter(has_text="Partition selection").locator("input:not([type=checkbox])")
        )
        partitions.fill("2026-11-17")
        partitions.press("Enter")
        page.screenshot(path=str(ARTIFACTS / "launch-one-partition.png"))
        page.get_by_role("button", name="Launch 1 run").click()

        run = _wait(
            lambda: [r for r in _graphql(url, RUNS)["runsOrError"]["results"] if r["status"] in ("SUCCESS", "FAILURE")],
            300,
            "the run to finish",
        )[0]
        assert run["status"] == "SUCCESS"
        assert {"key": "dagster/partition", "value": "2026-11-17"} in run["tags"]
        _open(page, f"{url}/runs/{run['runId']}")
        page.get_by_text("Success", exact=True).first.wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "run-succeeded.png"))
        browser.close()
    expected = sorted(o["number"] for o in truth(centra, "orders", "2026-11-17"))
    assert [n for (n,) in rows(settings, "orders", "2026-11-17", "order_number")] == expected
