"""`make demo`: the main job on the local Centra simulator, end to end.

Starts the simulator, materializes every Centra asset with Dagster (the last 7 days of event data in one
run, today's snapshots in another) into ./warehouse, builds the dbt marts into warehouse/centra.duckdb,
prints rows per table and a few figures from the marts, and stops the simulator. Runs are recorded in
DAGSTER_HOME, so `make dev` shows them in the UI afterwards.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import dagster as dg
import duckdb

from centra_assets.defs import build_definitions
from centra_assets.defs.analytics import dbt_resource
from centra_assets.defs.assets import sync_assets
from centra_assets.defs.resources import CentraResource
from centra_assets.settings import Settings
from centra_assets.simulator.process import SimulatorProcess

TOKEN = "demo-token"
TIMEZONE = "Europe/Stockholm"
DAYS = 7


def main() -> None:
    warehouse = os.environ.get("CENTRA_WAREHOUSE_DIR", "warehouse")
    settings = Settings(warehouse_dir=warehouse, timezone=TIMEZONE, start_date=_days_ago(30))
    defs = build_definitions(settings)
    event, snapshot = sync_assets(defs.assets, "event"), sync_assets(defs.assets, "snapshot")
    marts = [a for a in defs.assets if a not in sync_assets(defs.assets)]
    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    started = time.monotonic()
    with SimulatorProcess(
        "--days", "30", "--orders-per-day", "300", "--timezone", TIMEZONE, token=TOKEN, quiet=False
    ) as sim:
        centra = CentraResource(
            api_url=sim.graphql_url,
            api_token=TOKEN,
            pacer_path=str(settings.local_state / "centra-rate-budget.sqlite"),
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
    print(f"\nBuilding the dbt models into {settings.duckdb_file} ...", flush=True)
    if not dg.materialize(marts, resources={"dbt": dbt_resource()}, instance=instance).success:
        raise SystemExit("the dbt build failed; see the log above")
    report(warehouse, settings, time.monotonic() - started)


def _days_ago(n: int) -> str:
    from zoneinfo import ZoneInfo

    return (dt.datetime.now(ZoneInfo(TIMEZONE)).date() - dt.timedelta(days=n)).isoformat()


def report(warehouse: str, settings: Settings, seconds: float) -> None:
    raw = Path(settings.store_root(settings.stores[0])) / "raw"
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
    marts = duckdb.connect(str(settings.duckdb_file), read_only=True)
    print(f"\nFrom the marts in {settings.duckdb_file} (base currency SEK, at each order's own rate):")
    print(f"  {'day':<12}{'orders':>8}{'units':>8}{'net sales':>14}{'AOV':>9}{'returned*':>13}{'new customers':>15}")
    for day, orders, units, net, aov, rate, new in marts.execute("""
        SELECT d.sales_day, sum(d.orders), sum(d.units), sum(d.net_sales_base),
               sum(d.gross_sales_base - d.discounts_base) / nullif(sum(d.orders), 0),
               sum(d.order_day_returned_units) / nullif(sum(d.units), 0), any_value(n.new)
        FROM daily_sales AS d
        LEFT JOIN (SELECT order_day, count(*) FILTER (WHERE new_or_repeat = 'new') AS new FROM fct_orders GROUP BY 1)
            AS n ON n.order_day = d.sales_day
        GROUP BY d.sales_day ORDER BY d.sales_day""").fetchall():
        print(f"  {day!s:<12}{orders:>8}{units:>8}{net:>14,.0f}{aov or 0:>9,.0f}{rate or 0:>13.1%}{new or 0:>15}")
    print("  * share of the day's units returned so far; refunds count on the day a return completes")
    print("\n  Net sales by market, all days:")
    for market, store_type, net in marts.execute(
        "SELECT market_name, store_type, sum(net_sales_base) FROM daily_sales GROUP BY ALL ORDER BY 3 DESC LIMIT 5"
    ).fetchall():
        print(f"    {market or '(market unknown)':<24}{store_type or '':<20}{net:>14,.0f}")
    sizes, low, cover = marts.execute(
        "SELECT count(*), count(*) FILTER (WHERE days_of_cover < 14), median(days_of_cover) FROM inventory_health"
    ).fetchone()
    print(f"\n  Stock: {sizes:,} sizes x warehouses; {low:,} under 14 days of cover; median {cover or 0:.0f} days")
    marts.close()
    print(
        "\nThe simulator has stopped. Query the warehouse yourself (read-only never blocks a build):\n"
        f"  uv run python -c \"import duckdb; print(duckdb.connect('{settings.duckdb_file}', read_only=True)"
        ".sql('SELECT * FROM daily_sales ORDER BY sales_day DESC LIMIT 10'))\""
    )


if __name__ == "__main__":
    main()
