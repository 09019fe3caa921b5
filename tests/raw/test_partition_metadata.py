"""A run over several days records each day on its own: every partition's materialization carries that day's
row count (`dagster/row_count`), window and cost, not the run's, so each day keeps a row-count history."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from centra_assets.calendar import day_window

from ..helpers import TZ, assets_of, resource_for, settings_for, sim_day, truth


def test_a_ranged_run_records_each_day_with_its_own_rows_and_window(make_centra, tmp_path):
    from zoneinfo import ZoneInfo

    centra = make_centra(days=10, orders_per_day=20)
    first, last = sim_day(centra, 4), sim_day(centra, 2)
    settings = settings_for(tmp_path, start=first)
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        assets_of(settings, "event"),
        resources={"centra": resource_for(centra, settings)},
        instance=instance,
        tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last},
    )
    assert result.success
    days = [(dt.date.fromisoformat(first) + dt.timedelta(days=i)).isoformat() for i in range(3)]
    counts = set()
    for day in days:
        (record,) = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(["centra", "orders"]), asset_partitions=[day]), limit=1
        ).records
        metadata = record.asset_materialization.metadata
        orders = truth(centra, "orders", day)  # the simulator's own orders of the day
        assert metadata["dagster/row_count"].value == len(orders)
        start, end = day_window(dt.date.fromisoformat(day), ZoneInfo(TZ))
        assert metadata["window"].value == f"{start} .. {end}"
        assert metadata["day"].value == day and metadata["pages"].value >= 1
        lines = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(["centra", "order_lines"]), asset_partitions=[day]), limit=1
        ).records[0]
        assert lines.asset_materialization.metadata["dagster/row_count"].value == sum(o["line_count"] for o in orders)
        counts.add(metadata["dagster/row_count"].value)
    assert len(counts) > 1  # the days differ, so no day carries another's (or the run's) total
