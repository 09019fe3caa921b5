"""A 30-day backfill over every asset, with Centra's rate limits on, in the ranged runs a backfill launches (a
week per run), completes; running it again changes no row."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from centra_assets.defs.assets import PARTITIONS_PER_BACKFILL_RUN

from .helpers import materialize, materialize_range, resource_for, settings_for, sim_day, today

DAYS = 30


def _tables(settings) -> dict[str, list[tuple]]:
    """Every raw table's rows with their partition, without the load time (which a re-run renews)."""
    raw = Path(settings.warehouse_dir) / "raw"
    with duckdb.connect() as con:
        return {
            table.name: con.execute(
                f"SELECT * EXCLUDE (_loaded_at) FROM read_parquet('{table}/date=*/data.parquet', "
                "hive_partitioning = true) ORDER BY ALL"
            ).fetchall()
            for table in sorted(raw.iterdir())
        }


def test_a_30_day_backfill_with_rate_limits_completes_and_rerunning_it_changes_nothing(make_centra, tmp_path):
    centra = make_centra(days=DAYS + 5, orders_per_day=10, rate_limits=True, plan="enterprise")
    first = dt.date.fromisoformat(sim_day(centra, DAYS - 1))
    settings = settings_for(tmp_path, start=first.isoformat())
    resource = resource_for(centra, settings)

    def backfill() -> dict[str, list[tuple]]:
        for start in range(0, DAYS, PARTITIONS_PER_BACKFILL_RUN):
            end = min(start + PARTITIONS_PER_BACKFILL_RUN, DAYS) - 1
            days = (first + dt.timedelta(days=start)).isoformat(), (first + dt.timedelta(days=end)).isoformat()
            assert materialize_range(settings, resource, *days).success
        assert materialize(settings, resource, today(), "snapshot").success
        return _tables(settings)

    once = backfill()
    assert len(list((Path(settings.warehouse_dir) / "raw" / "orders").iterdir())) == DAYS
    assert len(once["orders"]) > DAYS * 5 and len(once) == 36
    assert backfill() == once
