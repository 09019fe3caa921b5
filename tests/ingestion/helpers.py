"""Run the real Dagster assets against a simulator and read back what they wrote."""

from __future__ import annotations

import datetime as dt
import urllib.parse
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb

from centra_assets.defs import build_definitions
from centra_assets.defs.assets import sync_assets
from centra_assets.defs.resources import CentraResource
from centra_assets.defs.settings import Settings

TZ = "Europe/Stockholm"


def settings_for(tmp_path: Path, start: str = "2026-10-01") -> Settings:
    return Settings(warehouse_dir=str(tmp_path / "warehouse"), timezone=TZ, start_date=start)


def resource_for(centra, settings: Settings, token: str = "test-token-full", **kw) -> CentraResource:
    kw.setdefault("pacer_path", str(Path(settings.warehouse_dir) / ".state" / "budget.sqlite"))
    return CentraResource(api_url=centra.graphql_url, api_token=token, **kw)


def assets_of(settings: Settings, partition: str | None = None) -> list:
    """The Centra assets (not the dbt models), of one partition kind or all."""
    return sync_assets(build_definitions(settings).assets, partition)


def materialize(
    settings: Settings, resource: CentraResource, day: str, partition: str, run_config=None, raise_on_error: bool = True
):
    return dg.materialize(
        assets_of(settings, partition),
        partition_key=day,
        resources={"centra": resource},
        instance=dg.DagsterInstance.ephemeral(),
        run_config=run_config,
        raise_on_error=raise_on_error,
    )


def materialize_range(settings: Settings, resource: CentraResource, first: str, last: str, partition: str = "event"):
    """Several days in one run, as a backfill's ranged run does."""
    return dg.materialize(
        assets_of(settings, partition),
        resources={"centra": resource},
        instance=dg.DagsterInstance.ephemeral(),
        tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last},
    )


def rows(settings: Settings, table: str, day: str | None = None, columns: str = "*") -> list[tuple]:
    base = Path(settings.warehouse_dir) / "raw" / table
    path = base / f"date={day}" / "data.parquet" if day else base / "*" / "data.parquet"
    with duckdb.connect() as con:
        return con.execute(
            f"SELECT {columns} FROM read_parquet('{path}', hive_partitioning = false) ORDER BY ALL"
        ).fetchall()


def sim_day(centra, days_back: int) -> str:
    now = dt.datetime.fromtimestamp(centra.sim.clock.now(), ZoneInfo(TZ))
    return (now.date() - dt.timedelta(days=days_back)).isoformat()


def today() -> str:
    return dt.datetime.now(ZoneInfo(TZ)).date().isoformat()


def truth(centra, entity: str, day: str | None = None) -> list[dict]:
    query = ""
    if day:
        start = dt.datetime.fromisoformat(day).replace(tzinfo=ZoneInfo(TZ))
        window = {"from": start.isoformat(), "to": (start + dt.timedelta(days=1)).isoformat()}
        query = "?" + urllib.parse.urlencode(window)
    return centra.admin(f"ground-truth/{entity}{query}")["rows"]
