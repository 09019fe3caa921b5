"""`make demo`: the main job on the local Centra simulator, end to end.

Starts the simulator, materializes every Centra asset with Dagster (the last 7 days of event data in one
run, today's snapshots in another) into ./warehouse, prints rows per table and a few KPIs read back from
the Parquet with DuckDB, and stops the simulator. Runs are recorded in DAGSTER_HOME, so `make dev`
shows them in the UI afterwards.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import dagster as dg
import duckdb

from centra_assets.defs import build_definitions
from centra_assets.defs.resources import CentraResource
from centra_assets.defs.settings import Settings
from centra_assets.entities import BY_NAME
from centra_assets.simulator.process import SimulatorProcess

TOKEN = "demo-token"
TIMEZONE = "Europe/Stockholm"
DAYS = 7


def main() -> None:
    warehouse = os.environ.get("CENTRA_WAREHOUSE_DIR", "warehouse")
    settings = Settings(warehouse_dir=warehouse, timezone=TIMEZONE, start_date=_days_ago(30))
    defs = build_definitions(settings)
    event = [a for a in defs.assets if BY_NAME[a.op.name.removeprefix("centra_")].partition == "event"]
    snapshot = [a for a in defs.assets if a not in event]
    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    started = time.monotonic()
    with SimulatorProcess(
        "--days", "30", "--orders-per-day", "300", "--timezone", TIMEZONE, token=TOKEN, quiet=False
    ) as sim:
        centra = CentraResource(
            api_url=sim.graphql_url,
            api_token=TOKEN,
            pacer_path=str(Path(warehouse) / ".state" / "centra-rate-budget.sqlite"),
        )
        first, last = _days_ago(DAYS - 1), _days_ago(0)
        print(
            f"\nMaterializing {len(event)} event data types for {first} .. {last} "
            f"and {len(snapshot)} snapshots for {last} into {warehouse}/raw ...",
            flush=True,
        )
        for assets, tags in (
            (event, {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}),
            (snapshot, {"dagster/asset_partition_range_start": last, "dagster/asset_partition_range_end": last}),
        ):
            result = dg.materialize(assets, tags=tags, resources={"centra": centra}, instance=instance)
            if not result.success:
                raise SystemExit("a materialization failed; see the log above")
    report(warehouse, time.monotonic() - started)


def _days_ago(n: int) -> str:
    from zoneinfo import ZoneInfo

    return (dt.datetime.now(ZoneInfo(TIMEZONE)).date() - dt.timedelta(days=n)).isoformat()


def report(warehouse: str, seconds: float) -> None:
    raw = Path(warehouse) / "raw"
    con = duckdb.connect()
    print(f"\nDone in {seconds:.0f} s. Rows per table in {raw}:")
    counts = {
        p.name: con.execute(f"SELECT count(*) FROM '{p}/*/*.parquet'").fetchone()[0]
        for p in sorted(raw.iterdir())
        if p.is_dir()
    }
    cells = [f"{table:<30}{n:>8,}" for table, n in counts.items()]
    for i in range(0, len(cells), 3):
        print("  " + "    ".join(cells[i : i + 3]))
    print("\nSales by day (store timezone; net of cancellations, in SEK at each order's own rate):")
    print(f"  {'day':<12}{'orders':>8}{'units':>8}{'net sales SEK':>16}{'AOV SEK':>10}{'returns':>9}")
    for day, orders, units, sek, returns in con.execute(f"""
        WITH o AS (SELECT * FROM read_parquet('{raw}/orders/*/*.parquet', hive_partitioning = true)),
             r AS (SELECT date, count(*) AS n FROM read_parquet('{raw}/returns/*/*.parquet',
                   hive_partitioning = true) GROUP BY date)
        SELECT o.date, count(*), sum(quantity) FILTER (WHERE status <> 'CANCELLED'),
               sum(grand_total * conversion_rate) FILTER (WHERE status <> 'CANCELLED'), any_value(r.n)
        FROM o LEFT JOIN r USING (date) GROUP BY o.date ORDER BY o.date""").fetchall():
        aov = sek / orders if orders else 0
        print(f"  {str(day):<12}{orders:>8}{units or 0:>8}{sek or 0:>16,.0f}{aov:>10,.0f}{returns or 0:>9}")
    physical, allocated, fta, incoming = con.execute(
        f"SELECT sum(physical), sum(allocated), sum(free_to_allocate), sum(incoming) FROM '{raw}/inventory/*/*.parquet'"
    ).fetchone()
    print(
        f"\nStock today: physical {physical:,}, allocated {allocated:,}, free to allocate {fta:,}, "
        f"incoming {incoming:,}"
    )
    print(
        "\nThe simulator has stopped. Query the warehouse yourself:\n"
        f'  uv run python -c "import duckdb; print(duckdb.sql(\\"SELECT status, count(*) FROM '
        f"'{raw}/orders/*/*.parquet' GROUP BY 1\\\"))\""
    )


if __name__ == "__main__":
    main()
