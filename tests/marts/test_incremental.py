"""Incremental mart builds: after old records change (returns completed and refunded, shipments, orders changed, days
after the orders were placed; a snapshot taken again) and only their raw partitions are refreshed, a build told what
changed (defs/marts/changes.py) recomputes only the days they touch, and every mart equals a full rebuild's, row for
row."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb

from centra_assets.defs import build_definitions
from centra_assets.defs.marts.changes import CHANGED_ENV, changed_partitions
from centra_assets.defs.marts.dbt import NO_UNIT_TESTS, dbt_manifest, dbt_resource, dbt_target_path, dbt_vars
from centra_assets.defs.marts.project import DBT_DIR

from ..helpers import BUILD_BOOKKEEPING, assets_of, raw_path, resource_for, settings_for, sim_day

DAYS = 16  # synced: returns come 3-25 days after an order ships, so recent returns belong to older synced orders
HOURS = 3600


def sync(settings, resource, instance, first: str, last: str, ops: set[str] | None = None) -> None:
    """The days' partitions of every event data type (or of `ops`), in one run, as a backfill's ranged run."""
    assets = [a for a in assets_of(settings, "event") if ops is None or a.op.name in ops]
    tags = {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
    assert dg.materialize(assets, resources={"centra": resource}, instance=instance, tags=tags).success


# the incremental models are upstream of these
ORDER_MARTS = ("daily_sales", "fct_order_lines", "fct_orders", "fct_allocations", "fct_payments", "dim_customers")
# the daily marts summed from product_performance_daily: rebuilt whole, they grew with the history (issue #27)
DAILY_SUMS = ("sales_by_attribute_daily", "sales_by_category_daily", "sales_by_canonical_category_daily")
MARTS = (*ORDER_MARTS, "product_performance_daily", *DAILY_SUMS, "discounts_by_voucher")
# A return window short enough that some of the synced days are settled and others not, and that the changes below
# move days between the two (a return created for an order of a settled day): product_performance_daily's expected
# returns read the settled history
RETURN_WINDOW_DAYS = 4


def short_window_vars(settings, duckdb_path: str) -> str:
    """dbt's --vars as the Dagster asset passes them (dbt.dbt_vars), with RETURN_WINDOW_DAYS."""
    return json.dumps({**json.loads(dbt_vars(settings, duckdb_path)), "return_window_days": RETURN_WINDOW_DAYS})


def build(settings, instance, marts=MARTS) -> dg.ExecuteInJobResult:
    """The order marts and every model they read, with their tests, through Dagster (which tells dbt what changed
    since the last build)."""
    (dbt_assets,) = [a for a in build_definitions(settings).assets if a.op.name == "centra_dbt"]
    selection = dg.AssetSelection.assets(*(dg.AssetKey(["analytics", m]) for m in marts)).upstream()
    return dg.materialize([dbt_assets], selection=selection, resources={"dbt": dbt_resource()}, instance=instance)


def tables(path: Path) -> list[str]:
    """The tables a build wrote (but its BUILD_BOOKKEEPING)."""
    with duckdb.connect(str(path), read_only=True) as con:
        return [
            n
            for (n,) in con.execute(
                "SELECT table_schema || '.' || table_name FROM information_schema.tables "
                f"WHERE table_type = 'BASE TABLE' AND table_name NOT IN {BUILD_BOOKKEEPING} ORDER BY 1"
            ).fetchall()
        ]


def test_an_incremental_build_after_old_records_change_equals_a_full_rebuild(make_centra, tmp_path, monkeypatch):
    # a third of the project is built: dbt runs only the tests whose every model it builds
    monkeypatch.setenv("DBT_INDIRECT_SELECTION", "cautious")
    monkeypatch.setattr("centra_assets.defs.marts.dbt.dbt_vars", short_window_vars)
    centra = make_centra(days=DAYS + 8, orders_per_day=8)
    days = [sim_day(centra, back) for back in range(DAYS, -1, -1)]
    settings = settings_for(tmp_path, start=days[0])
    resource, instance = resource_for(centra, settings), dg.DagsterInstance.ephemeral()
    sync(settings, resource, instance, days[0], days[-1])
    # the customers' snapshot, once: dim_customers (by customer) has rows whose orders change below
    customers = [a for a in assets_of(settings, "snapshot") if a.op.name == "centra_customers"]
    assert dg.materialize(customers, resources={"centra": resource}, instance=instance).success
    assert build(settings, instance).success  # the first build: every model whole
    settled_before = settled_days(settings.duckdb_file)

    # two days pass: returns come in for orders of days before, complete and are refunded; orders ship. Only the
    # partitions a sensor would refresh are synced again: the returns and shipments created lately (their orders'
    # partitions stay as they were), and one old day of orders
    centra.admin("clock", {"advance": 48 * HOURS})
    recent = [sim_day(centra, back) for back in range(3, -1, -1)]
    sync(settings, resource, instance, recent[0], recent[-1], {"centra_returns", "centra_shipments"})
    for day in (days[-5], recent[-1]):
        sync(settings, resource, instance, day, day, {"centra_orders"})
    # and the warehouses' first snapshot: every allocation, of any day, gains its warehouse's name
    warehouses = [a for a in assets_of(settings, "snapshot") if a.op.name == "centra_warehouses"]
    assert dg.materialize(warehouses, resources={"centra": resource}, instance=instance).success
    # The automation may first ask for what reads the orders (a refresh's steps are recorded one after the other, and
    # its tick came between): int_sales_booked, fct_returns, not int_returns. That build recomputes the returns' days
    # from the int_returns of the build before, so the next one, rebuilding int_returns, must be told them again (the
    # soak test: a return's completion stayed out of daily_sales). It is told the changes since the oldest last build
    # of the incremental models it selects and of every table they read (changes._last_build_began).
    (dbt_assets,) = [a for a in build_definitions(settings).assets if a.op.name == "centra_dbt"]
    graph = dg.Definitions(assets=[dbt_assets], resources={"dbt": dbt_resource()}).resolve_asset_graph()
    order_views = [k for k in graph.get_all_asset_keys() if k.path[-1].startswith("stg_order")]
    marts = dg.AssetSelection.assets(*(dg.AssetKey(["analytics", m]) for m in MARTS)).upstream()
    reading_orders = dg.AssetSelection.assets(*order_views).downstream() & marts
    assert dg.AssetKey(["analytics", "int_returns"]) not in reading_orders.resolve(graph)
    assert dg.materialize([dbt_assets], selection=reading_orders, resources={"dbt": dbt_resource()}, instance=instance)
    changed = changed_partitions(instance, settings)
    assert changed is not None and set(changed.get(settings.stores[0].name, {}).get("returns", [])) == set(recent)
    assert "warehouses" in changed[settings.stores[0].name]
    assert build(settings, instance).success  # incremental: the days the changes touch
    # what dbt ran for each model (its main statement): int_orders appended the days recomputed; fct_allocations,
    # which reads the warehouses' snapshot, was rebuilt whole in one CREATE TABLE AS, not by deleting every row and
    # appending them all again through a temporary copy (macros/incremental.sql should_full_refresh; make bench)
    assert main_statement(settings, "intermediate/int_orders").startswith("insert into")
    assert main_statement(settings, "marts/fct_allocations").startswith("create table")
    # the staging views were not created again, nor tested: a view reads the raw Parquet whenever it is queried, and
    # their definitions did not change (defs/marts/dbt.py kept_views), but the warehouses' view, whose raw table got
    # its first files (before them the staging macro stood an empty select in); each kept view is recorded as the
    # build's, `reused`, with its columns
    ran = dbt_ran(settings)
    on_views = {checked_model(u) for u in ran if checked_model(u).startswith("model.centra.stg_centra__")}
    assert "model.centra.int_orders" in ran and on_views == {"model.centra.stg_centra__warehouses"}, on_views
    for view in ("stg_orders", "stg_returns", "stg_warehouses"):
        metadata = instance.get_latest_materialization_event(dg.AssetKey(["analytics", view])).asset_materialization
        assert (metadata.metadata["status"].value == "reused") is (view != "stg_warehouses"), view
        assert metadata.metadata["dagster/column_schema"].value.columns, view

    full = full_rebuild(settings, tmp_path / "full", MARTS, short_window_vars)

    # the scenario reaches old days: returns in the refreshed partitions belong to orders placed days before them,
    # whose own partitions were not refreshed (from the raw files)
    with duckdb.connect() as con:
        old_orders = con.execute(
            f"SELECT count(DISTINCT o.date) FROM read_parquet('{raw_path(settings, 'returns')}') AS r "
            f"JOIN read_parquet('{raw_path(settings, 'orders')}') AS o USING (order_number) "
            "WHERE r.date >= ? AND o.date < ? AND o.date <> ?",
            [recent[0], recent[0], days[-5]],
        ).fetchone()[0]
    assert old_orders >= 2

    incremental, rebuilt = tables(settings.duckdb_file), tables(full)
    assert incremental == rebuilt and len(incremental) >= 10, (incremental, rebuilt)
    with duckdb.connect(str(full), read_only=True) as con:  # customers whose orders changed are compared
        assert con.execute("SELECT count(*) FROM dim_customers WHERE lifetime_orders > 0").fetchone()[0] > 0
        assert con.execute("SELECT count(*) FROM discounts_by_voucher").fetchone()[0] > 0
    assert_same_rows(settings.duckdb_file, full, incremental)
    # product_performance_daily: days of unsettled returns settled meanwhile (expected returns become booked), and
    # the build recomputed some of its days, not all; sales_by_attribute_daily fewer still (their sales changed)
    assert settled_days(full) - settled_before, settled_before
    with duckdb.connect(str(settings.duckdb_file), read_only=True) as con:
        sales, recomputed, every = con.execute(
            "SELECT count(*) FILTER (WHERE is_sales_changed), count(*), "
            "(SELECT count(DISTINCT order_day) FROM product_performance_daily) FROM intermediate.int_performance_days"
        ).fetchone()
    assert 0 < sales < recomputed < every, (sales, recomputed, every)
    # and the marts that were rebuilt whole read only the days recomputed (dbt's compiled SQL of that build): the daily
    # sums those of product_performance_daily, discounts_by_voucher its days' raw discounts, not the staging view
    sql = compiled(settings, (*DAILY_SUMS, "discounts_by_voucher"))
    every_day = [mart for mart in DAILY_SUMS if "int_performance_days" not in sql[mart]]
    every_day += ["discounts_by_voucher"] if "stg_centra__order_discounts" in sql["discounts_by_voucher"] else []
    assert not every_day, every_day
    # tables only appended to keep their column comments: the build did not write them again (macros/persist_docs.sql)
    commented = models_commented(settings)
    assert commented, "the build re-created some relations: they got their comments"
    assert not commented & set(sql), commented & set(sql)
    assert column_comments(settings.duckdb_file) == column_comments(full)


def dbt_ran(settings) -> set[str]:
    """The unique ids of the models and tests the last build through Dagster ran (its run_results.json)."""
    return {r["unique_id"] for r in json.loads((dbt_target_path(settings) / "run_results.json").read_text())["results"]}


def checked_model(unique_id: str) -> str:
    """A model's unique id, or the model a test is attached to."""
    return dbt_manifest()["nodes"][unique_id].get("attached_node") or unique_id


def models_commented(settings) -> set[str]:
    """The models whose column comments the last build through Dagster wrote, from the SQL in dbt's debug log
    (dagster-dbt has it written beside run_results.json, as JSON lines; dbt rolls it over to dbt.log.1 at 10 MB)."""
    target = dbt_target_path(settings)
    text = "".join((target / n).read_text() for n in ("dbt.log.1", "dbt.log") if (target / n).exists())
    events = [json.loads(line) for line in text.rsplit("Running with dbt=", 1)[-1].splitlines()[1:] if line]
    return {
        e["data"]["conn_name"].rsplit(".", 1)[-1]
        for e in events
        if "comment on column" in str(e["data"].get("sql", "")) and e["data"].get("conn_name")
    }


def column_comments(path: Path) -> list[tuple]:
    """Every comment on a relation or column of the file's tables and views (what an analyst's client shows)."""
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(
            "SELECT schema_name, table_name, column_name, comment FROM duckdb_columns() "
            "WHERE database_name = current_database() AND NOT list_contains(?, table_name) "
            "UNION ALL SELECT schema_name, table_name, NULL, comment FROM duckdb_tables() "
            "WHERE database_name = current_database() AND NOT list_contains(?, table_name) "
            "UNION ALL SELECT schema_name, view_name, NULL, comment FROM duckdb_views() "
            "WHERE database_name = current_database() AND NOT internal ORDER BY ALL",
            [list(BUILD_BOOKKEEPING), list(BUILD_BOOKKEEPING)],
        ).fetchall()


def compiled(settings, models) -> dict[str, str]:
    """The SQL the last build through Dagster ran for `models` (its run_results.json)."""
    results = json.loads((dbt_target_path(settings) / "run_results.json").read_text())["results"]
    found = {r["unique_id"].rsplit(".", 1)[-1]: r["compiled_code"] for r in results}
    return {m: found[m] for m in models}


def main_statement(settings, model: str) -> str:
    """The main statement the last build ran for `model` (dbt's run artifacts), its words single-spaced."""
    sql = (dbt_target_path(settings) / "run" / "centra" / "models" / f"{model}.sql").read_text()
    return " ".join(sql.split()).lower()


def settled_days(path: Path) -> set:
    """The order days of product_performance_daily's settled rows."""
    with duckdb.connect(str(path), read_only=True) as con:
        return {
            d
            for (d,) in con.execute(
                "SELECT DISTINCT order_day FROM product_performance_daily WHERE are_returns_settled"
            ).fetchall()
        }


def full_rebuild(settings, path: Path, marts, marts_vars=dbt_vars) -> Path:
    """A full rebuild of `marts` and what they read from the same raw data, by dbt alone (told nothing), into a
    DuckDB file of its own: `path`.duckdb, made anew (an earlier rebuild's file is removed first: its incremental
    models would otherwise only be updated). Rebuilds into the same `path` pass dbt the same --vars and target path,
    so dbt re-uses its parse of the project instead of parsing it all again (seconds each on a busy machine)."""
    env = {**os.environ, "DBT_PROFILES_DIR": str(DBT_DIR), "DO_NOT_TRACK": "1"}
    env.pop(CHANGED_ENV, None)
    full = path.with_suffix(".duckdb")
    full.unlink(missing_ok=True)
    full.with_suffix(".duckdb.wal").unlink(missing_ok=True)
    subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), "run", "--quiet", "--select", *(f"+{m}" for m in marts)]
        + ["--vars", marts_vars(settings, str(full)), "--target-path", str(path.with_suffix(".target"))],
        cwd=DBT_DIR,
        env=env,
        check=True,
    )
    return full


def assert_same_rows(built: Path, full: Path, names) -> None:
    """Every table of `names` holds the same rows in both files: EXCEPT ALL both ways, duplicates counted."""
    with duckdb.connect() as con:
        con.execute(f"ATTACH '{built}' AS i (READ_ONLY)")
        con.execute(f"ATTACH '{full}' AS f (READ_ONLY)")
        for name in names:
            only_incremental = con.execute(f"SELECT * FROM i.{name} EXCEPT ALL SELECT * FROM f.{name}").fetchall()
            only_full = con.execute(f"SELECT * FROM f.{name} EXCEPT ALL SELECT * FROM i.{name}").fetchall()
            assert not only_incremental and not only_full, (name, only_incremental[:3], only_full[:3])


def test_payments_by_day_and_builds_of_part_of_the_project_equal_a_full_rebuild(make_centra, tmp_path, monkeypatch):
    """fct_payments, built by day: a refund entry is in both the order's payment history and its return's (the
    simulator, like Centra, lists it in both), and belongs to the order. Two builds: one where only a return's day
    changed (for an order with a refund entry in both histories), one where an order's day changed whose return
    shares its day with the return of another such order, whose own day is not recomputed (the soak test stored
    that entry twice: order 1235, payment 12354). After each, fct_payments equals a full rebuild, row for row.

    Then two automatic builds of part of the project, as the soak test saw them (a model held back while a sync
    ran, a refresh recorded table by table): one of int_changed_days alone, then one of the incremental models
    without it, which recomputed the days the first was told of, not those of its own changes. A build that does
    not build int_changed_days (or int_orders_recomputed) rebuilds the models reading it whole, and every mart
    equals a full rebuild. (One warehouse for both: each sync and full build costs a minute on a busy machine.)"""
    monkeypatch.setenv("DBT_INDIRECT_SELECTION", "cautious")
    centra = make_centra(days=DAYS + 8, orders_per_day=24)  # returns of orders of different days on one day
    days = [sim_day(centra, back) for back in range(DAYS, -1, -1)]
    settings = settings_for(tmp_path, start=days[0])
    resource, instance = resource_for(centra, settings), dg.DagsterInstance.ephemeral()
    sync(settings, resource, instance, days[0], days[-1])
    assert build(settings, instance, ORDER_MARTS).success  # the first build: every model whole

    def read(table: str) -> str:
        return f"read_parquet('{raw_path(settings, table)}', hive_partitioning = true)"

    # orders with a refund entry in both histories, the day each was placed and the days of their returns
    with duckdb.connect() as con:
        both = con.execute(
            f"""SELECT DISTINCT o.order_number, CAST(o.date AS VARCHAR), CAST(r.date AS VARCHAR)
            FROM {read("order_payments")} AS p JOIN {read("orders")} AS o USING (order_number)
            JOIN {read("returns")} AS r USING (order_number)
            JOIN {read("return_refunds")} AS rr ON rr.return_id = r.return_id AND rr.payment_id = p.payment_id
            WHERE p.entry_type = 'REFUND' ORDER BY 1"""
        ).fetchall()
        returns = con.execute(
            f"""SELECT DISTINCT r.order_number, CAST(o.date AS VARCHAR), CAST(r.date AS VARCHAR)
            FROM {read("returns")} AS r JOIN {read("orders")} AS o USING (order_number)"""
        ).fetchall()
    assert both, "no order with a refund entry in both histories"

    # only a return's day changes
    _, _, return_day = both[0]
    sync(settings, resource, instance, return_day, return_day, {"centra_returns"})
    assert build(settings, instance, ORDER_MARTS).success
    assert_same_rows(
        settings.duckdb_file, full_rebuild(settings, tmp_path / "full", ["fct_payments"]), ["main.fct_payments"]
    )

    # an order's day changes; one of its returns shares its day with the return of an order of both histories
    # placed on another day (not recomputed)
    (order_day, shared) = next(
        (day, returned)
        for number, day, returned in returns
        for other, other_day, other_returned in both
        if other != number and other_returned == returned and other_day != day
    )
    sync(settings, resource, instance, order_day, order_day, {"centra_orders"})
    assert build(settings, instance, ORDER_MARTS).success, f"orders of {order_day} changed, their returns of {shared}"
    assert_same_rows(
        settings.duckdb_file, full_rebuild(settings, tmp_path / "full", ["fct_payments"]), ["main.fct_payments"]
    )

    # a build of int_changed_days alone (the days of this change), then one of the marts without it
    (dbt_assets,) = [a for a in build_definitions(settings).assets if a.op.name == "centra_dbt"]
    changed_days = dg.AssetKey(["analytics", "int_changed_days"])
    recomputed = dg.AssetKey(["analytics", "int_orders_recomputed"])

    def build_only(selection: dg.AssetSelection) -> None:
        result = dg.materialize([dbt_assets], selection=selection, resources={"dbt": dbt_resource()}, instance=instance)
        assert result.success

    sync(settings, resource, instance, days[1], days[1], {"centra_orders"})
    build_only(dg.AssetSelection.assets(changed_days).upstream())
    centra.admin("clock", {"advance": 24 * HOURS})  # a day of new orders lands
    sync(settings, resource, instance, days[-1], sim_day(centra, 0), {"centra_orders"})
    marts = dg.AssetSelection.assets(*(dg.AssetKey(["analytics", m]) for m in ORDER_MARTS)).upstream()
    build_only(marts - dg.AssetSelection.assets(changed_days, recomputed))
    full = full_rebuild(settings, tmp_path / "full", ORDER_MARTS)
    assert_same_rows(settings.duckdb_file, full, tables(full))

    # In a build by day, fct_payments' tests check only the orders it recomputed (macro centra_test_keys), and still
    # see a duplicate the incremental step makes. In a copy of the warehouse, an order entry of an order of each of
    # two days is planted again as a kept entry of a return no build recomputes (return_id -1): the build of one day
    # appends its order's entry anew beside the planted one (a duplicate it made), and leaves the other day's alone
    # (a full build's test sees both).
    recomputed, kept = days[2], days[3]
    copy = settings.duckdb_file.with_name(f".{settings.duckdb_file.name}.building")  # as the Dagster asset builds
    shutil.copyfile(settings.duckdb_file, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute(
            """INSERT INTO fct_payments SELECT * REPLACE (-1 AS return_id) FROM (
                SELECT p.* FROM fct_payments AS p JOIN intermediate.int_orders AS o USING (store, order_number)
                WHERE p.return_id IS NULL AND o.order_day IN (?, ?)
                QUALIFY row_number() OVER (PARTITION BY o.order_day ORDER BY p.order_number, p.payment_id) = 1)""",
            [recomputed, kept],
        )
        assert con.execute("SELECT count(*) FROM fct_payments WHERE return_id = -1").fetchone()[0] == 2
    assert dbt_unique_failures(settings, copy, {settings.stores[0].name: {"order_payments": [recomputed]}}) == 1


def dbt_unique_failures(settings, database: Path, changed: dict) -> int:
    """The failing keys of fct_payments' unique test in a build of fct_payments into `database` told `changed` (with
    the Dagster asset's --vars and target path, so dbt re-uses its parse)."""
    env = {**os.environ, "DBT_PROFILES_DIR": str(DBT_DIR), "DO_NOT_TRACK": "1", CHANGED_ENV: json.dumps(changed)}
    target = dbt_target_path(settings)
    subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), "build", "--quiet", "--select", "int_changed_days fct_payments"]
        + [*NO_UNIT_TESTS, "--vars", dbt_vars(settings, str(database)), "--target-path", str(target)],
        cwd=DBT_DIR,
        env=env,
        check=False,  # the test fails the build
    )
    results = json.loads((target / "run_results.json").read_text())["results"]
    (unique,) = [r for r in results if r["unique_id"].startswith("test.centra.unique_fct_payments")]
    return unique["failures"]
