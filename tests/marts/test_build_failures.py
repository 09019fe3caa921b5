"""Automatic builds of a part of the project: a test runs when the model it checks is built (never because it reads
a model the build selects), and a build that fails says which test failed and on which rows, in the run's error
and on the check, without being tried again."""

from __future__ import annotations

import threading

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc

from centra_assets.cli import INSTANCE_DEFAULTS
from centra_assets.defs import build_definitions
from centra_assets.defs.marts.dbt import dbt_resource
from centra_assets.defs.raw.partitions import key
from centra_assets.entities import BY_NAME
from centra_assets.warehouse import layout, turns
from centra_assets.warehouse.parquet import PartitionWriter, read_partition

from ..helpers import assets_of, new_instance, resource_for, settings_for, sim_day

ORDERS = BY_NAME["orders"]
FCT_ORDERS = dg.AssetKey(["analytics", "fct_orders"])
GROSS_CHECK = dg.AssetCheckKey(FCT_ORDERS, "assert_order_gross_equals_its_lines")
NOT_NULL_CHECK = dg.AssetCheckKey(FCT_ORDERS, "not_null")  # every column of fct_orders that is never null, one test


def orders_synced(make_centra, tmp_path):
    """A new warehouse holding one day of orders, and its dbt assets (no model built yet)."""
    centra = make_centra(days=1, orders_per_day=15)
    day = sim_day(centra, 0)
    settings = settings_for(tmp_path, start=day)
    sync = [a for a in assets_of(settings, "event") if a.op.name == "centra_orders"]
    resources = {"centra": resource_for(centra, settings)}
    partition = key(settings, settings.stores[0], day)
    assert dg.materialize(sync, partition_key=partition, resources=resources, instance=new_instance()).success
    (dbt_assets,) = [a for a in build_definitions(settings).assets if a.op.name == "centra_dbt"]
    return settings, day, dbt_assets


def build(dbt_assets, selection, instance: dg.DagsterInstance | None = None) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [dbt_assets],
        selection=selection,
        resources={"dbt": dbt_resource()},
        instance=instance or dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def test_a_build_of_staging_alone_runs_no_test_of_a_mart_it_does_not_build(make_centra, tmp_path, monkeypatch):
    """What the automation asks for when the orders have landed and the marts' other inputs have not: the orders'
    staging view. `assert_order_gross_equals_its_lines`, the check of fct_orders, reads the
    staging view too, and dbt's eager selection ran it: "Table with name fct_orders does not exist"."""
    settings, _, dbt_assets = orders_synced(make_centra, tmp_path)
    # a refresh holds the warehouse's turn as the build starts: the build's run says it waits, for whom, and how long
    instance = dg.DagsterInstance.ephemeral(settings={"python_logs": INSTANCE_DEFAULTS["python_logs"]})
    holding, release = threading.Event(), threading.Event()

    def refresh_publishing() -> None:
        with turns.turn_lock(settings).held("a refresh in a test"):
            holding.set()
            release.wait(60)

    holder = threading.Thread(target=refresh_publishing)
    holder.start()
    holding.wait(10)
    monkeypatch.setattr(turns, "WAIT_NOTICE_AFTER", 1.0)
    threading.Timer(12, release.set).start()  # the build's run takes a few seconds to reach the turn
    try:
        result = build(dbt_assets, dg.AssetSelection.assets(dg.AssetKey(["analytics", "stg_orders"])), instance)
    finally:
        release.set()
        holder.join()
    failures = [e.message for e in result.all_events if e.is_failure]
    assert result.success, failures
    logged = [e.message for e in instance.all_logs(result.run_id)]
    assert any("waiting for the warehouse's turn (held by a refresh in a test, pid" in m for m in logged), logged
    assert any("got the warehouse's turn after waiting" in m for m in logged)
    assert {e.asset_key for e in result.get_asset_materialization_events()} == {
        dg.AssetKey(["analytics", "stg_orders"])
    }
    # no check ran: the view has none of its own (one row per key by construction), and none of a model it does not
    # build (dbt's eager selection ran fct_orders')
    assert not result.get_asset_check_evaluations(), result.get_asset_check_evaluations()


def test_a_failing_test_names_itself_and_its_rows_and_is_not_tried_again(make_centra, tmp_path):
    """An order whose items subtotal disagrees with its lines, and another without a currency: the build fails on
    the first attempt (a test fails the same way twice), its error names each test, the model it checks and the
    order; the checks' evaluations carry the failing rows (the null in one of the several columns fct_orders'
    `not_null` test checks); nothing is published."""
    settings, day, dbt_assets = orders_synced(make_centra, tmp_path)
    root = layout.store_root(settings.warehouse_dir, settings.stores[0])
    orders = read_partition(root, "orders", day)
    wrong, nulled = pc.max(orders["order_number"]).as_py(), pc.min(orders["order_number"]).as_py()
    i = orders.schema.get_field_index("items_subtotal")
    subtotal = pc.if_else(pc.equal(orders["order_number"], wrong), pc.add(orders["items_subtotal"], 1000.0), orders[i])
    orders = orders.set_column(i, orders.schema.field(i), subtotal)
    c = orders.schema.get_field_index("currency")
    currency = pc.if_else(pc.equal(orders["order_number"], nulled), pa.scalar(None, pa.string()), orders[c])
    orders = orders.set_column(c, orders.schema.field(c), currency)
    table = ORDERS.tables[0]
    writer = PartitionWriter(root, table.name, day, table.schema, table.key)
    writer.write_arrow(orders.select(table.schema.names))
    writer.commit()

    # the order marts and what they read; fct_orders' test against the markets' staging view (not selected, never
    # built) is left out, not failed
    lines = dg.AssetKey(["analytics", "fct_order_lines"])
    models = dg.AssetSelection.assets(FCT_ORDERS, lines).upstream() & dg.AssetSelection.key_prefixes("analytics")
    result = build(dbt_assets, models)
    assert not result.success
    assert not settings.duckdb_file.exists()  # not published
    (failure,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    error = failure.step_failure_data.user_failure_data.description
    assert "assert_order_gross_equals_its_lines (check of fct_orders)" in error and str(wrong) in error, error
    assert "- not_null (check of fct_orders): 1 failing rows" in error, error
    assert "does not exist" not in error, error
    assert not [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_RESTARTED]
    (evaluation,) = [e for e in result.get_asset_check_evaluations() if e.asset_check_key == GROSS_CHECK]
    assert not evaluation.passed
    rows = evaluation.metadata["failing_rows"].value
    assert [r["order_number"] for r in rows] == [wrong], rows
    (nulls,) = [e for e in result.get_asset_check_evaluations() if e.asset_check_key == NOT_NULL_CHECK]
    assert not nulls.passed
    rows = nulls.metadata["failing_rows"].value
    assert [(r["order_number"], r["currency"]) for r in rows] == [(nulled, None)], rows
    assert isinstance(pa.scalar(rows[0]["gross_sales"]).as_py(), float)
