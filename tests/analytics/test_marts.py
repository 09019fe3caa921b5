"""The marts, built by dbt through Dagster from a synced simulator warehouse, against figures computed
independently from the simulator's ground truth."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import subprocess
import sys
import urllib.parse
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import pytest

from centra_assets.analytics.project import DBT_DIR
from centra_assets.defs import build_definitions
from centra_assets.defs.analytics import dbt_resource

from ..ingestion.helpers import TZ, materialize, materialize_range, resource_for, settings_for, sim_day, today, truth

DAYS = 42  # synced: longer than the return window (35 days), so the oldest days are settled
BEFORE = 14  # days the simulator has before the synced range: their orders' returns come inside it
RETURN_WINDOW_DAYS = 35  # dbt var return_window_days
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
    """The simulator's last DAYS days synced (it has BEFORE more days of history), plus today's snapshots; then
    the dbt build."""
    from tests.conftest import serve

    centra, server = serve(seed=11, days=DAYS + BEFORE, orders_per_day=20)
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


def synced_truth(centra, entity: str, first: str | None, tz: str = TZ) -> list[dict]:
    """The ground truth created since the first synced day (all of it without one): what the sync holds."""
    if first is None:
        return truth(centra, entity)
    start = dt.datetime.fromisoformat(first).replace(tzinfo=ZoneInfo(tz)).isoformat()
    return centra.admin("ground-truth/" + entity + "?" + urllib.parse.urlencode({"from": start}))["rows"]


def cents(value: float) -> float:
    return float(Decimal(repr(value)).quantize(Decimal("0.01"), ROUND_HALF_UP))


def expected_daily(centra, tz: str = TZ, first: str | None = None) -> dict[tuple[str, int | None], dict]:
    """Per day (in the store's timezone) and market, from the ground truth alone, in the base currency: orders,
    units and net sales of the orders placed that day, with the returns and refunds of those orders (order-day
    view); and the returned units and refunds of the returns completed that day (market None where the order
    lies before the synced range, so nothing tells its market)."""
    orders = synced_truth(centra, "orders", first, tz)
    lines = defaultdict(list)
    for line in synced_truth(centra, "order_lines", first, tz):
        lines[line["order_number"]].append(line)
    returns = synced_truth(centra, "returns", first, tz)
    by_order = defaultdict(list)
    for r in returns:
        by_order[r["order_number"]].append(r)
    synced = {o["number"] for o in orders}
    keys = ("placed", "orders", "units", "order_day_returned_units", "order_day_net_base",
            "order_day_net_excl_tax_base", "net_before_refunds_base", "net_before_refunds_excl_tax_base",
            "returned_units", "refunds_base", "refunds_excl_tax_base", "pending_returns")  # fmt: skip
    out: dict = defaultdict(lambda: dict.fromkeys(keys, 0))
    for o in orders:
        cell = out[(local_day(o["created_at"], tz), o["market_id"])]
        sold = [(x["quantity"] - x["cancelled_quantity"], x["unit_price"]) for x in lines[o["number"]]]
        vat = max((x["tax_percent"] for x in lines[o["number"]]), default=0.0)
        gross = sum(round(q * price, 2) for q, price in sold)
        discount = 0.0 if o["status"] == "CANCELLED" else o["discount"]
        refunds = sum(r["refund"] for r in by_order[o["number"]] if r["return_status"] == "COMPLETED")
        rate = o["conversion_rate"]
        cell["placed"] += 1
        cell["orders"] += o["status"] != "CANCELLED"
        cell["units"] += sum(q for q, _ in sold)
        cell["order_day_returned_units"] += sum(r["quantity"] for r in by_order[o["number"]])
        cell["pending_returns"] += sum(r["return_status"] != "COMPLETED" for r in by_order[o["number"]])
        cell["order_day_net_base"] += cents(cents(gross - discount - refunds) * rate)
        cell["order_day_net_excl_tax_base"] += cents(cents((gross - discount - refunds) / (1 + vat / 100)) * rate)
        cell["net_before_refunds_base"] += cents(cents(gross - discount) * rate)
        cell["net_before_refunds_excl_tax_base"] += cents(cents((gross - discount) / (1 + vat / 100)) * rate)
        for r in by_order[o["number"]]:
            r["vat"] = vat
    for r in returns:
        if r["return_status"] != "COMPLETED":
            continue
        known = r["order_number"] in synced
        cell = out[(local_day(r["completed_at"], tz), r["market_id"] if known else None)]
        cell["returned_units"] += r["quantity"]
        cell["refunds_base"] += cents(r["refund"] * r["conversion_rate"])
        if known:
            cell["refunds_excl_tax_base"] += cents(cents(r["refund"] / (1 + r["vat"] / 100)) * r["conversion_rate"])
    for cell in out.values():
        cell["net_base"] = cell["net_before_refunds_base"] - cell["refunds_base"]
        cell["net_excl_tax_base"] = cell["net_before_refunds_excl_tax_base"] - cell["refunds_excl_tax_base"]
    return out


DAILY = (
    "SELECT sales_day, market_id, sum(orders), sum(units), sum(order_day_returned_units), "
    "sum(order_day_net_sales_base), sum(returned_units), sum(refunds_base), sum(net_sales_base), "
    "sum(order_day_net_sales_excl_tax_base), sum(net_sales_excl_tax_base) FROM daily_sales {} GROUP BY ALL"
)
DAILY_KEYS = ("orders", "units", "order_day_returned_units", "order_day_net_base", "returned_units", "refunds_base",
              "net_base", "order_day_net_excl_tax_base", "net_excl_tax_base")  # fmt: skip


def daily_sales(settings, where: str = "") -> dict[tuple[str, int | None], dict]:
    return {
        (row[0].isoformat(), row[1]): dict(zip(DAILY_KEYS, row[2:], strict=True))
        for row in query(settings, DAILY.format(where))
    }


def test_daily_sales_match_the_ground_truth(marts):
    """Orders, units and net sales by the day orders were placed, with those orders' returns (the order-day
    view)."""
    centra, settings = marts
    expected = {k: e for k, e in expected_daily(centra, first=settings.start_date).items() if e["placed"]}
    got = daily_sales(settings, "WHERE orders + cancelled_orders > 0")
    assert got.keys() == expected.keys()
    assert sum(e["order_day_returned_units"] for e in expected.values()) > 0  # returns are exercised
    for key, e in expected.items():
        g = got[key]
        assert [g[k] for k in ("orders", "units", "order_day_returned_units")] == [
            e[k] for k in ("orders", "units", "order_day_returned_units")
        ], key
        assert g["order_day_net_base"] == pytest.approx(e["order_day_net_base"], abs=0.011), key


def test_refunds_and_returned_units_count_on_the_day_the_return_completes(marts):
    """Every completed return books its units and refund on the day it completed, in the store's timezone, in its
    order's market; returns of orders placed before the synced range keep their rows with the market unknown."""
    centra, settings = marts
    expected = expected_daily(centra, first=settings.start_date)
    got = daily_sales(settings)
    assert got.keys() == expected.keys()
    unknown = [k for k, e in expected.items() if k[1] is None and e["returned_units"]]
    assert unknown, "returns of orders before the synced range are exercised"
    assert sum(e["returned_units"] for k, e in expected.items() if k[1] is not None) > 0
    for key, e in expected.items():
        g = got[key]
        assert g["returned_units"] == e["returned_units"], key
        assert g["refunds_base"] == pytest.approx(e["refunds_base"], abs=0.011), key
        assert g["net_base"] == pytest.approx(e["net_base"], abs=0.011), key
    # a return without its order: the market is said to be unknown, the store type comes from the return
    before = {r["id"]: r for r in synced_truth(centra, "returns", settings.start_date)}
    synced = {o["number"] for o in synced_truth(centra, "orders", settings.start_date)}
    rows = query(settings, "SELECT return_id, is_market_known, market_id, store_type, completed_day FROM fct_returns")
    assert {r[0] for r in rows} == before.keys()
    for return_id, known, market, store_type, completed in rows:
        r = before[return_id]
        assert known == (r["order_number"] in synced) and market == (r["market_id"] if known else None)
        assert store_type == r["store_type"]
        assert (completed and completed.isoformat()) == (r["completed_at"] and local_day(r["completed_at"]))


def test_net_sales_excluding_tax_match_the_ground_truth(marts):
    """Net sales without the VAT inside D2C prices (wholesale and US prices carry none), per order and per day, in
    the base currency."""
    centra, settings = marts
    expected = expected_daily(centra, first=settings.start_date)
    got = daily_sales(settings)
    assert any(e["order_day_net_excl_tax_base"] < e["order_day_net_base"] - 1 for e in expected.values())
    for key, e in expected.items():
        g = got[key]
        assert g["order_day_net_excl_tax_base"] == pytest.approx(e["order_day_net_excl_tax_base"], abs=0.011), key
        if key[1] is None:  # the tax of a return whose order is not synced is not known
            assert g["net_excl_tax_base"] is None, key
        else:
            assert g["net_excl_tax_base"] == pytest.approx(e["net_excl_tax_base"], abs=0.011), key
    (base,) = {b for (b,) in query(settings, "SELECT DISTINCT base_currency FROM daily_sales")}
    assert base == "SEK"  # the simulator's base currency: the one its orders convert at rate 1


def test_return_rates_per_product_count_settled_d2c_units(marts):
    """Units returned over units sold per product, variant and size, on D2C orders of days whose returns are
    settled: older than the return window, and no return of them pending."""
    centra, settings = marts
    first = settings.start_date
    orders = {o["number"]: o for o in synced_truth(centra, "orders", first)}
    pending = defaultdict(int)
    for r in synced_truth(centra, "returns", first):
        if r["order_number"] in orders and r["return_status"] != "COMPLETED":
            o = orders[r["order_number"]]
            pending[(local_day(o["created_at"]), o["market_id"])] += 1
    as_of = max(dt.date.fromisoformat(local_day(o["created_at"])) for o in orders.values())
    last_settled = (as_of - dt.timedelta(days=RETURN_WINDOW_DAYS)).isoformat()
    sizes = centra.sim.catalog.size_by_id
    sold, returned = defaultdict(int), defaultdict(int)
    for line in synced_truth(centra, "order_lines", first):
        o = orders[line["order_number"]]
        cell = (local_day(o["created_at"]), o["market_id"])
        if o["store_type"] == "DIRECT_TO_CONSUMER" and cell[0] <= last_settled and not pending[cell]:
            product = sizes[line["size_id"]]["product"]["id"]
            sold[product] += line["quantity"] - line["cancelled_quantity"]
            returned[product] += line["returned_quantity"]
    assert sum(returned.values()) > 0, "settled returns are exercised"
    got = dict(query(settings, "SELECT DISTINCT product_id, product_return_rate FROM return_rates"))
    expected = {p: round(returned[p] / sold[p], 4) if sold[p] else None for p in got}
    assert got.keys() == expected.keys() and any(expected.values())
    for product, rate in expected.items():
        assert got[product] == (rate if rate is None else pytest.approx(rate, abs=1e-6)), product
    totals = query(settings, "SELECT sum(settled_d2c_units_sold), sum(settled_d2c_units_returned) FROM return_rates")
    assert totals == [(sum(sold.values()), sum(returned.values()))]


def test_refunds_and_returned_units_agree_across_marts(marts):
    _, settings = marts
    (daily,) = query(
        settings,
        "SELECT sum(returned_units), round(sum(refunds_base), 2), sum(order_day_returned_units) FROM daily_sales",
    )
    (returns,) = query(
        settings,
        "SELECT sum(units) FILTER (WHERE is_completed), round(sum(refund_base) FILTER (WHERE is_completed), 2), "
        "sum(units) FILTER (WHERE is_order_synced) FROM fct_returns",
    )
    (rates,) = query(settings, "SELECT sum(units_returned) FROM return_rates")
    assert daily[0] == returns[0] > 0
    assert daily[1] == pytest.approx(returns[1], abs=0.011)
    assert daily[2] == returns[2] == rates[0] > 0


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
    for o in synced_truth(centra, "orders", settings.start_date):
        if o["customer_id"] is not None and o["status"] != "CANCELLED":
            purchases[o["customer_id"]].append((o["created_at"], o["number"]))
    first = {min(p)[1] for p in purchases.values()}
    got = dict(query(settings, "SELECT order_number, new_or_repeat FROM fct_orders WHERE new_or_repeat IS NOT NULL"))
    assert got == {n: "new" if n in first else "repeat" for p in purchases.values() for _, n in p}
    lifetime = dict(query(settings, "SELECT customer_id, lifetime_orders FROM dim_customers WHERE lifetime_orders > 0"))
    assert lifetime == {c: len(p) for c, p in purchases.items()}


def test_every_order_and_line_reaches_the_marts_once(marts):
    centra, settings = marts
    orders = synced_truth(centra, "orders", settings.start_date)
    lines = synced_truth(centra, "order_lines", settings.start_date)
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
        "SELECT store, sales_day, market_id, store_type, orders, cancelled_orders, units, returned_units, "
        "order_day_returned_units, refunds_base, net_sales_base, net_sales_excl_tax_base, order_day_net_sales_base, "
        "average_order_value_base, order_day_return_rate FROM {}daily_sales"
    )

    def rounded(rows):  # the same figures, whichever engine computed them
        rows = [tuple(float(v) if isinstance(v, Decimal) else v for v in r) for r in rows]
        return sorted(rows, key=lambda r: tuple((v is None, v if v is not None else 0) for v in r[:4]))

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
