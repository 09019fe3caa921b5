"""`make demo` as a person sees it: a line per data type, a summary, what to do next; the engine's log in a
file; its runs under the project's named jobs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from centra_assets.demo import HISTORY, TIMEZONE, store_days
from centra_assets.entities import ALL
from centra_sim.process import SimulatorProcess

# `make demo` end to end: a simulator, every Centra asset and the dbt build
pytestmark = pytest.mark.slow


def test_the_demo_prints_a_short_story_and_its_runs_have_names(tmp_path):
    home = tmp_path / "dagster_home"
    env = {**os.environ, "DAGSTER_HOME": str(home), "DAGSTER_DISABLE_TELEMETRY": "1"}
    env.pop("CENTRA_WAREHOUSE_DIR", None)
    done = subprocess.run(
        [sys.executable, "-m", "centra_assets.demo", "--days", "2", "--orders-per-day", "20"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    lines = out.splitlines()
    assert len(lines) <= 80, out
    assert "DEBUG" not in out and "Traceback" not in out
    for spec in ALL:  # a line per data type, with its rows and pages
        (line,) = [x for x in lines if x.split()[:1] == [spec.name]]
        assert "rows" in line and "pages" in line, line
        assert ("2/2 days" if spec.partition == "event" else "today") in line, line
    assert "warehouse/store=default/raw/<table>/" in out  # the folder the data is in
    assert "0.0%" not in out and "No return rate yet" in out  # no rate before the returns have come
    assert "make dev" in out and "read_only=True" in out and "engine log" in out
    log = (home / "demo.log").read_text()
    assert "DEBUG" in log and "dbt" in log  # the engine's log went to the file
    runs = dg.DagsterInstance.from_config(str(home)).get_runs()
    assert sorted(r.job_name for r in runs) == ["centra_events", "centra_marts", "centra_snapshots"]
    assert all(r.is_success for r in runs)

    # the queries of docs/operating.md run on the demo's warehouse, and money prints as money (no 1792865.6400000001)
    operating = (Path(__file__).resolve().parents[1] / "docs" / "operating.md").read_text()
    section = operating[operating.index("## Querying the warehouse") :]
    section = section[: section.index("\n## ")]
    code = "\n".join(re.findall(r"```python\n(.*?)```", section, re.S))
    queried = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert queried.returncode == 0, queried.stderr
    assert "sales_day" in queried.stdout and "orders" in queried.stdout
    assert not re.search(r"\d\.\d{3,}", queried.stdout), queried.stdout


def test_the_demo_syncs_the_days_up_to_the_simulators_today_whatever_the_machines_clock_says():
    """The days come from one reading of the simulator's clock once it is up: a demo started at 23:59:59, whose
    simulator came up after midnight, syncs up to the simulator's today (here a day the machine is not on)."""
    args = ("--days", str(HISTORY), "--orders-per-day", "2", "--timezone", TIMEZONE)
    with SimulatorProcess(*args, "--now", "2026-10-26T00:00:01+01:00", token="t") as sim:
        assert store_days(sim, 7) == ("2026-09-26", "2026-10-20", "2026-10-26")
