"""The marts, built by dbt through Dagster from a synced simulator warehouse, against figures computed
independently from the simulator's ground truth."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import subprocess
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import pytest

from centra_assets.analytics.project import DBT_DIR
from centra_assets.defs import build_definitions
from centra_assets.defs.analytics import dbt_resource

from ..ingestion.helpers import TZ, materialize, materialize_range, resource_for, settings_for, sim_day, today, truth

DAYS = 16  # returns come 3 to 25 days after shipping
MARTS = [
    "fct_orders",
    "fct_order_lines",
    "fct_shipments",
    "fct_returns",
    "return_rates",
    "daily_sales",
    "dim_customers",
    "customer_cohorts",
    "dim_products",
    "dim_product_prices",
    "fct_inventory_daily",
    "inventory_health",
    "fct_incoming_deliveries",
]


def build_marts(settings, raise_on_error: bool = True) -> dg.ExecuteInJobResult:
    (dbt_assets,) = [a for a in build_definitions(settings).assets if a.op.name == "centra_dbt"]
    return dg.materialize(
        [dbt_assets],
        resources={"dbt": dbt_resource()},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=raise_on_error,
    )


@pytest.fixture(scope="module")
def marts(tmp_path_factory):
    """Every day the simulator has, synced, plus today's snapshots; then the dbt build."""
    from tests.conftest import serve

    centra, server = serve(seed=11, days=DAYS, orders_per_day=30)
    settings = settings_for(tmp_path_factory.mktemp("marts"), start=sim_day(centra, DAYS))
    resource = resource_for(centra, settings)
    assert materialize_range(settings, resource, sim_day(centra, DAYS), sim_day(centra, 0)).success
    materialize(settings, resource, today(), "snapshot")
    assert build_marts(settings).success
    yield centra, settings
    server.__exit__()
    centra.sim.stop()


def query(settings, sql: str) -> list[tuple]:
    with duckdb.connect(str(settings.duckdb_file), read_only=True) as con:
        return con.execute(sql).fetchall()


def local_day(iso: str, tz: str = TZ) -> str:
    return dt.datetime.fromisoformat(iso).astimezone(ZoneInfo(tz)).date().isoformat()


def expected_daily(centra, tz: str = TZ) -> dict[tuple[str, int], dict]:
    """Net sales (base currency), units and returned units per day (in the store's timezone) and market, from
    the ground truth alone."""
    lines = defaultdict(list)
    for line in truth(centra, "order_lines"):
        lines[line["order_number"]].append(line)
    returns = defaultdict(list)
    for r in truth(centra, "returns"):
        returns[r["order_number"]].append(r)
    out: dict = defaultdict(lambda: {"orders": 0, "units": 0, "returned_units": 0, "net_base": 0.0})
    for o in truth(centra, "orders"):
        cell = out[(local_day(o["created_at"], tz), o["market_id"])]
        sold = [(x["quantity"] - x["cancelled_quantity"], x["unit_price"]) for x in lines[o["number"]]]
        gross = sum(round(q * price, 2) for q, price in sold)
        discount = 0.0 if o["status"] == "CANCELLED" else o["discount"]
        refunds = sum(r["refund"] for r in returns[o["number"]] if r["return_status"] == "COMPLETED")
        cell["orders"] += o["status"] != "CANCELLED"
        cell["units"] += sum(q for q, _ in sold)
        cell["returned_units"] += sum(r["quantity"] for r in returns[o["number"]])
        cell["net_base"] += round(round(gross - discount - refunds, 2) * o["conversion_rate"], 2)
    return out


def test_daily_sales_match_the_ground_truth(marts):
    centra, settings = marts
    expected = expected_daily(centra)
    got = {
        (day.isoformat(), market): {"orders": n, "units": u, "returned_units": r, "net_base": net}
        for day, market, n, u, r, net in query(
            settings,
            "SELECT order_day, market_id, sum(orders), sum(units), sum(returned_units), sum(net_sales_base) "
            "FROM daily_sales GROUP BY ALL",
        )
    }
    assert got.keys() == expected.keys()
    assert sum(e["returned_units"] for e in expected.values()) > 0  # returns are exercised
    for key, e in expected.items():
        g = got[key]
        assert (g["orders"], g["units"], g["returned_units"]) == (e["orders"], e["units"], e["returned_units"]), key
        assert g["net_base"] == pytest.approx(e["net_base"], abs=0.011), key


def test_stock_per_size_and_warehouse_matches_the_ground_truth(marts):
    centra, settings = marts
    expected = sorted(
        (s["size_id"], s["warehouse_id"], s["physical"], s["allocated"], s["free_to_allocate"], s["incoming"])
        for s in truth(centra, "stock")
    )
    got = query(
        settings,
        "SELECT size_id, warehouse_id, physical, allocated, free_to_allocate, incoming FROM fct_inventory_daily "
        f"WHERE stock_day = DATE '{today()}' ORDER BY ALL",
    )
    assert got == expected


def test_customers_new_and_repeat_match_the_ground_truth(marts):
    centra, settings = marts
    purchases = defaultdict(list)
    for o in truth(centra, "orders"):
        if o["customer_id"] is not None and o["status"] != "CANCELLED":
            purchases[o["customer_id"]].append((o["created_at"], o["number"]))
    first = {min(p)[1] for p in purchases.values()}
    got = dict(query(settings, "SELECT order_number, new_or_repeat FROM fct_orders WHERE new_or_repeat IS NOT NULL"))
    assert got == {n: "new" if n in first else "repeat" for p in purchases.values() for _, n in p}
    lifetime = dict(query(settings, "SELECT customer_id, lifetime_orders FROM dim_customers WHERE lifetime_orders > 0"))
    assert lifetime == {c: len(p) for c, p in purchases.items()}


def test_every_order_and_line_reaches_the_marts_once(marts):
    centra, settings = marts
    orders, lines = truth(centra, "orders"), truth(centra, "order_lines")
    assert query(settings, "SELECT count(*), count(DISTINCT order_number) FROM fct_orders") == [(len(orders),) * 2]
    assert query(settings, "SELECT count(*) FROM fct_order_lines") == [(len(lines),)]
    assert query(settings, "SELECT sum(sold_quantity) FROM fct_order_lines") == [
        (sum(x["quantity"] - x["cancelled_quantity"] for x in lines),)
    ]


def test_an_analyst_holding_the_warehouse_open_never_fails_a_build(marts):
    _, settings = marts
    path = str(settings.duckdb_file)
    with duckdb.connect(path, read_only=True) as analyst:
        writer = subprocess.run([sys.executable, "-c", f"import duckdb; duckdb.connect({path!r})"], capture_output=True)
        assert b"lock" in writer.stderr  # what a build writing into the published file would meet
        before = analyst.execute("SELECT count(*), round(sum(net_sales_base), 2) FROM fct_orders").fetchone()
        inode = os.stat(path).st_ino
        assert build_marts(settings).success
        assert analyst.execute("SELECT count(*), round(sum(net_sales_base), 2) FROM fct_orders").fetchone() == before
    assert os.stat(path).st_ino != inode  # published by rename: a new connection opens the new build
    assert query(settings, "SELECT count(*), round(sum(net_sales_base), 2) FROM fct_orders") == [before]
    assert sorted(p.name for p in settings.duckdb_file.parent.glob("*.duckdb*")) == ["centra.duckdb"]


def test_a_failed_build_leaves_the_last_good_warehouse(marts, tmp_path):
    _, settings = marts
    inode = os.stat(settings.duckdb_file).st_ino
    # the raw files gone: every model that reads them fails
    broken = dataclasses.replace(settings, warehouse_dir=str(tmp_path), duckdb_path=str(settings.duckdb_file))
    assert not build_marts(broken, raise_on_error=False).success
    assert os.stat(settings.duckdb_file).st_ino == inode
    assert query(settings, "SELECT count(*) FROM daily_sales")[0][0] > 0
    assert sorted(p.name for p in settings.duckdb_file.parent.glob("*.duckdb*")) == ["centra.duckdb"]


PG_TYPES = {"int64": "bigint", "double": "double precision", "bool": "boolean", "string": "text"}


def load_raw_into_postgres(settings, url: str) -> None:
    """What a Parquet loader does for a warehouse that cannot read Parquet itself: every raw table, as it is
    (the spec's columns, `_store`, `_source`, `_loaded_at` and the partition's `date`), into schema `centra`."""
    import psycopg

    from centra_assets.entities import ALL
    from centra_assets.warehouse import storage

    with psycopg.connect(url, autocommit=True) as pg, duckdb.connect() as con:
        pg.execute("CREATE SCHEMA centra")
        for table in (t for spec in ALL for t in spec.tables):
            fields = [
                (f.name, "timestamptz" if str(f.type).startswith("timestamp") else PG_TYPES[str(f.type)])
                for f in table.schema
            ]
            columns = ", ".join(f'"{n}" {t}' for n, t in fields) + ", date date"
            pg.execute(f"CREATE TABLE centra.{table.name} ({columns})")
            files = storage.join(settings.warehouse_url, "store=*", "raw", table.name, "date=*", "data.parquet")
            if not storage.glob(files):
                continue
            names = [n for n, _ in fields] + ["date"]
            rows = con.execute(
                f"SELECT {', '.join(names)} FROM read_parquet('{files}', hive_partitioning = true)"
            ).fetchall()
            with pg.cursor().copy(f"COPY centra.{table.name} FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)


def test_the_marts_are_portable_sql_and_build_the_same_on_postgresql(marts, postgres_server, tmp_path):
    """dbt's other targets: the raw tables loaded into PostgreSQL, `dbt build --target postgres` (every model,
    test and unit test), and the marts equal the DuckDB build's."""
    import psycopg

    _, settings = marts
    url = postgres_server.new_database()
    load_raw_into_postgres(settings, url)
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(DBT_DIR),
        "DBT_POSTGRES_HOST": "127.0.0.1",
        "DBT_POSTGRES_PORT": str(postgres_server.port),
        "DBT_POSTGRES_DATABASE": url.rsplit("/", 1)[1],
    }
    stores = json.dumps({"store_timezones": {s.name: s.timezone for s in settings.stores}})
    build = subprocess.run(
        [
            str(Path(sys.executable).with_name("dbt")),
            "build",
            "--target",
            "postgres",
            "--vars",
            stores,
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
        ],
        cwd=DBT_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stdout[-5000:]
    assert " ERROR=0 " in build.stdout and " WARN=0 " in build.stdout

    daily = (
        "SELECT store, order_day, market_id, store_type, orders, cancelled_orders, units, returned_units, "
        "net_sales_base, average_order_value_base, return_rate FROM {}daily_sales"
    )

    def rounded(rows):  # the same figures, whichever engine computed them
        return sorted(tuple(float(v) if isinstance(v, Decimal) else v for v in r) for r in rows)

    with psycopg.connect(url) as pg:
        on_postgres = rounded(pg.execute(daily.format("analytics.")).fetchall())
        counts = {m: pg.execute(f"SELECT count(*) FROM analytics.{m}").fetchone()[0] for m in MARTS}
    on_duckdb = rounded(query(settings, daily.format("")))
    assert len(on_postgres) == len(on_duckdb) > 0
    for pg_row, duck_row in zip(on_postgres, on_duckdb, strict=True):
        assert pg_row[:4] == duck_row[:4]
        # money and rates may differ in the last cent: PostgreSQL rounds exact decimals, DuckDB rounds doubles
        assert pg_row[4:] == pytest.approx(duck_row[4:], abs=0.011), pg_row
    assert counts == {m: query(settings, f"SELECT count(*) FROM {m}")[0][0] for m in MARTS}


def test_marts_refresh_themselves_when_the_raw_data_they_read_changes(tmp_path):
    defs = build_definitions(settings_for(tmp_path))
    instance = dg.DagsterInstance.ephemeral()
    analytics = [k for k in defs.resolve_asset_graph().get_all_asset_keys() if k.path[0] == "analytics"]

    def requested(cursor=None):
        result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
        return {k.path[-1] for k in analytics if result.get_num_requested(k)}, result.cursor

    first, cursor = requested()
    for key in analytics:  # as if the first build had run
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key))
    quiet, cursor = requested(cursor)
    assert quiet == set()
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=["centra", "orders"], partition="2026-11-18"))
    after_orders, cursor = requested(cursor)
    assert {"stg_centra__orders", "fct_orders", "fct_order_lines", "daily_sales", "dim_customers"} <= after_orders
    assert not {"dim_products", "fct_inventory_daily", "stg_centra__inventory"} & after_orders
    assert requested(cursor)[0] == set()  # handled: not asked for again
