"""When the marts build. On a new store whose raw tables land one data type at a time, Dagster's own evaluation of
the automation conditions (what the daemon's `centra_marts_automation` sensor runs each tick) asks for no dbt model
before every raw table it reads is in the warehouse, and for every model once they all are."""

from __future__ import annotations

import dagster as dg

from centra_assets.defs import build_definitions
from centra_assets.defs.assets import sync_assets
from centra_assets.defs.partitions import key, snapshot_key
from centra_assets.warehouse import storage

from ..ingestion.helpers import raw_path, resource_for, settings_for, sim_day


def test_no_model_is_asked_for_until_every_raw_table_it_reads_has_landed(make_centra, tmp_path):
    centra = make_centra(days=2, orders_per_day=20)
    day = sim_day(centra, 0)
    settings = settings_for(tmp_path, start=day)  # a new store: one day of event data
    resource, instance = resource_for(centra, settings), dg.DagsterInstance.ephemeral()
    defs = build_definitions(settings)
    graph = defs.resolve_asset_graph()
    automated = {k for k in graph.get_all_asset_keys() if graph.get(k).automation_condition is not None}
    assert {dg.AssetKey(["analytics", "daily_sales"]), dg.AssetKey(["analytics", "stg_return_lines"])} <= automated

    def raw_tables(model: dg.AssetKey) -> set[str]:
        parents = graph.get(model).parent_keys
        return {p.path[1] for p in parents if p.path[0] == "centra"} | {
            t for p in parents if p.path[0] == "analytics" for t in raw_tables(p)
        }

    def in_warehouse(table: str) -> bool:  # what dbt's staging view reads: the table's Parquet files
        return bool(storage.glob(raw_path(settings, table)))

    # the daemon's ticks as raw data lands (returns last); each tick's requests are taken as built (the dbt build
    # itself is tested in test_marts.py) before the next data types land, as the sensor's run would
    events, snapshots = sync_assets(defs.assets, "event"), sync_assets(defs.assets, "snapshot")
    returns = [a for a in events if a.op.name == "centra_returns"]
    landing = [[a for a in events if a not in returns], snapshots, returns, []]
    store, cursor, asked = settings.stores[0], None, set()
    for batch in landing:
        result = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
        cursor = result.cursor
        requested = {k for k in automated if result.get_num_requested(k)}
        too_early = {m.to_user_string(): sorted(t for t in raw_tables(m) if not in_warehouse(t)) for m in requested}
        assert not {m: t for m, t in too_early.items() if t}, f"before {[a.op.name for a in batch]} landed"
        for model in requested:
            instance.report_runless_asset_event(dg.AssetMaterialization(model))
        asked |= requested
        if batch:
            snapshot = batch[0] in snapshots
            partition = snapshot_key(settings, store) if snapshot else key(settings, store, day)
            dg.materialize(batch, partition_key=partition, resources={"centra": resource}, instance=instance)
    assert asked == automated, sorted(k.to_user_string() for k in automated - asked)
