"""Run-step benchmark: a multiprocess Dagster run of the event job for one day, the project's executor
(steps forked from a forkserver that imported the code location once) against Dagster's `spawn` start method
(each step a fresh Python importing it again), alternated in the same run."""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from centra_assets.cli import init_instance
from centra_sim.process import SimulatorProcess

TOKEN = "bench-token"
TZ = "Europe/Stockholm"
JOB = "centra_events"  # one step per event entity
ROUNDS = 2


def _tree(root: int) -> list[int]:
    """`root` and every process under it, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def _pss_mb(pids: list[int]) -> float:
    """Proportional set size of the processes, in MB: pages shared after a fork count once in total."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
        except OSError:
            pass
    return total / 1024


def _run(env: dict, config: dict, day: str) -> tuple[float, float]:
    """One run of the job from the CLI (the run's steps are its children): seconds and peak PSS of the tree."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(config, f)
    command = [sys.executable, "-m", "dagster", "job", "execute", "-m", "centra_assets.definitions", "-j", JOB]
    command += ["-c", f.name, "--tags", json.dumps({"dagster/partition": day})]
    started = time.monotonic()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak, done = [0.0], threading.Event()

    def sample() -> None:
        while not done.wait(0.2):
            peak[0] = max(peak[0], _pss_mb(_tree(proc.pid)))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate(timeout=1800)
    seconds = time.monotonic() - started
    done.set()
    sampler.join()
    os.unlink(f.name)
    if proc.returncode != 0 or "RUN_SUCCESS" not in out:
        raise RuntimeError(f"the run failed:\n{out[-4000:]}")
    return seconds, peak[0]


def step_start_method() -> list[dict]:
    today = dt.datetime.now(ZoneInfo(TZ)).date()
    day = (today - dt.timedelta(days=1)).isoformat()
    methods = {
        "forkserver (project default)": {},
        "spawn (Dagster's default)": {"execution": {"config": {"multiprocess": {"start_method": {"spawn": {}}}}}},
    }
    with (
        tempfile.TemporaryDirectory() as tmp,
        SimulatorProcess("--days", "3", "--orders-per-day", "50", "--timezone", TZ, token=TOKEN) as sim,
    ):
        home = Path(tmp, "home")
        init_instance(home)
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "CENTRA_API_URL": sim.graphql_url,
            "CENTRA_API_TOKEN": TOKEN,
            "CENTRA_TIMEZONE": TZ,
            "CENTRA_START_DATE": (today - dt.timedelta(days=3)).isoformat(),
            "CENTRA_WAREHOUSE_DIR": str(Path(tmp, "warehouse")),
        }
        measured: dict[str, list[tuple[float, float]]] = {name: [] for name in methods}
        for _ in range(ROUNDS):  # alternated: the machine's load falls on both alike
            for name, config in methods.items():
                measured[name].append(_run(env, config, day))
    fork, spawn = (measured[name] for name in methods)
    seconds = [statistics.median(s for s, _ in runs) for runs in (fork, spawn)]
    memory = [statistics.median(m for _, m in runs) for runs in (fork, spawn)]
    note = f"job {JOB}, one day, {ROUNDS} runs each alternated; baseline: start_method spawn"
    return [
        {
            "metric": f"{JOB} run, multiprocess, wall (s)",
            "value": round(seconds[0], 1),
            "baseline": round(seconds[1], 1),
            "ratio": round(seconds[0] / seconds[1], 2),
            "target": "< 1",
            "note": note,
        },
        {
            "metric": f"{JOB} run, peak PSS of its processes (MB)",
            "value": round(memory[0]),
            "baseline": round(memory[1]),
            "ratio": round(memory[0] / memory[1], 2),
            "target": "< 1",
            "note": note,
        },
    ]


if __name__ == "__main__":
    for row in step_start_method():
        print(row)
