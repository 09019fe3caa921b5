"""A 30-day backfill over every asset, with Centra's rate limits on, in the ranged runs a backfill launches (a
week per run), completes; running it again changes no row."""

from __future__ import annotations

import datetime as dt

import pytest

from centra_assets.defs.policy import PARTITIONS_PER_BACKFILL_RUN
from centra_assets.entities import ALL
from centra_assets.warehouse import files

from ..helpers import materialize, materialize_range, pin_clock, raw_path, resource_for, settings_for, sim_day, today

pytestmark = pytest.mark.usefixtures("backend")  # on a local disk, and on S3 with PostgreSQL

# On S3 and PostgreSQL: fewer days, still more than one ranged run (a whole week, then the one day left) and a re-run
# over S3; the span's length is proved on the local disk, where a day costs a third as much.
DAYS = {"local": 30, "s3-postgres": PARTITIONS_PER_BACKFILL_RUN + 1}


def _tables(settings) -> dict[str, list[tuple]]:
    """Every raw table's rows with their partition, without the load time (which a re-run renews)."""
    tables = [t.name for spec in ALL for t in spec.tables]
    with files.connect(settings.warehouse_url) as con:
        return {
            table: con.execute(
                f"SELECT * EXCLUDE (_loaded_at) FROM read_parquet('{raw_path(settings, table)}', "
                "hive_partitioning = true) ORDER BY ALL"
            ).fetchall()
            for table in tables
            if files.glob(raw_path(settings, table))
        }


def test_a_30_day_backfill_with_rate_limits_completes_and_rerunning_it_changes_nothing(
    backend, make_centra, tmp_path, monkeypatch
):
    span = DAYS[backend.name]
    centra = make_centra(days=span + 5, orders_per_day=10, rate_limits=True, plan="enterprise")
    pin_clock(monkeypatch, centra.sim.clock.now())  # the product's today is the simulator's
    first = dt.date.fromisoformat(sim_day(centra, span - 1))
    settings = settings_for(tmp_path, start=first.isoformat())
    resource = resource_for(centra, settings)

    def backfill() -> dict[str, list[tuple]]:
        for start in range(0, span, PARTITIONS_PER_BACKFILL_RUN):
            end = min(start + PARTITIONS_PER_BACKFILL_RUN, span) - 1
            days = (first + dt.timedelta(days=start)).isoformat(), (first + dt.timedelta(days=end)).isoformat()
            assert materialize_range(settings, resource, *days).success
        return _tables(settings)

    # the snapshots once (a second one taken after midnight would add a day's folder, a real change)
    assert materialize(settings, resource, today(), "snapshot").success
    once = backfill()
    assert len(files.glob(raw_path(settings, "orders"))) == span
    assert len(once["orders"]) > span * 5 and len(once) == sum(len(spec.tables) for spec in ALL)
    assert backfill() == once
