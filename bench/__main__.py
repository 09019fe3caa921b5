"""`make bench`: every benchmark suite; prints a table and writes bench/results.json.

Each figure comes with a baseline measured in the same run, and their ratio.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

from . import analytics, freshness, ingestion, realtime, runs, simulator, stores

SUITES = {
    "simulator-latency": simulator.page_latency,
    "simulator-size": simulator.startup_and_memory,
    "ingestion-throughput": ingestion.backfill_throughput,
    "ingestion-memory": ingestion.partition_memory,
    "ingestion-object-storage": ingestion.object_storage_throughput,
    "ingestion-schema": ingestion.schema_first_run,
    "run-steps": runs.step_start_method,
    "realtime-receiver": realtime.receiver_throughput,
    "realtime-sensor": realtime.sensor_and_latency,
    "realtime-sweep": realtime.sweep_runs_per_day,
    "stores": stores.many_stores,
    "analytics-daily-sales": analytics.daily_sales_build,
    "analytics-incremental": analytics.incremental_build,
    "freshness-daily-sales": freshness.webhook_to_daily_sales,
}


def main(argv: list[str]) -> None:
    chosen = argv or list(SUITES)
    out = Path(__file__).with_name("results.json")
    rows = []
    for name in chosen:
        print(f"running {name} ...", flush=True)
        rows += [{**row, "bench": name} for row in SUITES[name]()]
    # a run of some suites replaces their rows in the last results, and keeps the others (read when done: another
    # suite's run may have written them meanwhile)
    kept = (
        [r for r in json.loads(out.read_text())["results"] if r.get("bench") not in chosen]
        if argv and out.exists()
        else []
    )
    rows = sorted(kept + rows, key=lambda r: list(SUITES).index(r["bench"]) if r.get("bench") in SUITES else -1)
    width = max(len(r["metric"]) for r in rows)
    print(f"\n{'metric':<{width}}  {'value':>9}  {'baseline':>9}  {'ratio':>6}  target / note")
    for r in rows:
        print(
            f"{r['metric']:<{width}}  {r['value']:>9}  {r['baseline']:>9}  {r['ratio']:>6}  {r['target']}  {r['note']}"
        )
    out.write_text(
        json.dumps(
            {
                "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "machine": platform.platform(),
                "cpus": __import__("os").cpu_count(),
                "results": rows,
            },
            indent=2,
        )
    )
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
