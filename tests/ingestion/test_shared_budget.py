"""Two backfill runs in separate processes share one rate budget and never make Centra say 429."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .helpers import sim_day

SCALE = 1.0  # Centra's real windows: each run alone fits in one 10 s window, the two together do not


def test_two_concurrent_backfills_stay_inside_the_rate_budget(make_centra, tmp_path):
    centra = make_centra(orders_per_day=400, rate_limits=True, plan="growth", time_scale=SCALE)
    runs = {"a": [sim_day(centra, n) for n in (4, 3)], "b": [sim_day(centra, n) for n in (2, 1)]}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.ingestion.run_sync",
                centra.graphql_url,
                "test-token-full",
                str(tmp_path),
                str(SCALE),
                *days,
            ],
            cwd=Path(__file__).resolve().parents[2],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for days in runs.values()
    ]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], "\n".join(o[-3000:] for o in outputs)
    assert centra.sim.stats["rate_limited"] == 0  # Centra never had to refuse a request
    # ...although together they asked for more than a window allows: the shared pacer made them wait
    window = {(b["type"], b["intervalSeconds"]): b["quota"] for b in centra.sim.limiter.snapshot()}
    assert centra.sim.stats["complexity"] > window[("QUERY_COMPLEXITY", "TEN_SECONDS")]
