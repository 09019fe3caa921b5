"""Run the real Dagster assets against a simulator and read back what they wrote.

The raw, real-time and marts suites run twice (the `backend` fixture): on one machine (a local warehouse
folder, SQLite, an ephemeral Dagster instance) and beyond it (the warehouse on an S3-compatible server, the
webhook events and Dagster's runs in PostgreSQL). `settings_for` and `instance` give the current one's.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import time
import urllib.parse
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from centra_assets import calendar
from centra_assets.defs import build_definitions
from centra_assets.defs.raw.assets import build_sync_assets, sync_assets
from centra_assets.defs.raw.partitions import key, snapshot_key
from centra_assets.defs.resources import CentraResource
from centra_assets.settings import CLOCK_OFFSET, Settings
from centra_assets.warehouse import files, layout

TZ = "Europe/Stockholm"
# The simulator's seed for the tests that compare the warehouse with a whole simulated store (test_assets_match_centra,
# test_day_boundaries): fixed, so a failure repeats; set CENTRA_TEST_SEED to try another store.
SEED = int(os.environ.get("CENTRA_TEST_SEED", "7"))


class Local:
    name = "local"

    def settings(self, path: Path, start: str) -> Settings:
        return Settings(warehouse_dir=str(path / "warehouse"), timezone=TZ, start_date=start)

    def instance(self) -> dg.DagsterInstance:
        return dg.DagsterInstance.ephemeral()


# Connections a pooled test instance may open beyond the one it keeps (a run's threads: the event watcher, step logs)
DAGSTER_PG_OVERFLOW = 10


class Distributed(Local):
    """The warehouse on S3 (moto's server), webhook events and Dagster's storage in PostgreSQL: a fresh bucket
    prefix and fresh databases for every warehouse and every instance."""

    name = "s3-postgres"

    def __init__(self, s3, postgres, stack: contextlib.ExitStack):
        self.s3, self.postgres, self.stack = s3, postgres, stack
        self.pooled: list[dg.DagsterInstance] = []
        stack.callback(lambda: [_close_idle_connections(i) for i in self.pooled])
        self.template = postgres.new_database()
        with dg.instance_for_test(overrides=self._storage(self.template)):
            pass  # creates Dagster's schema once; each instance starts from a copy of it
        self.template = self.template.rsplit("/", 1)[1]

    @staticmethod
    def _storage(url: str) -> dict:
        return {"storage": {"postgres": {"postgres_url": url}}}

    def settings(self, path: Path, start: str) -> Settings:
        path.mkdir(parents=True, exist_ok=True)
        return Settings(
            warehouse_dir=self.s3.url(uuid.uuid4().hex[:12]),
            timezone=TZ,
            start_date=start,
            state_dir=str(path / "state"),
            duckdb_path=str(path / "centra.duckdb"),
            webhook_store=self.postgres.new_database(),
        )

    def instance(self) -> dg.DagsterInstance:
        """A Dagster instance on a fresh PostgreSQL database, its storages holding their connections open as
        Dagster's webserver does (`optimize_for_webserver`). By default every storage call opens a new PostgreSQL
        connection (dagster-postgres' NullPool, so that idle instances hold none): a run of two trivial steps made
        ~50, and the S3/PostgreSQL webhook test, 5x its local twin, spent most of its time connecting (9,624
        connections). The SQL and what is stored are the same; only the connections are reused."""
        url = self.postgres.new_database(template=self.template)
        instance = self.stack.enter_context(dg.instance_for_test(overrides=self._storage(url)))
        instance.optimize_for_webserver(statement_timeout=0, pool_recycle=3600, max_overflow=DAGSTER_PG_OVERFLOW)
        # The instances live until the module ends (a test may read one after its run): the idle connections of
        # those made before are closed now (an engine reconnects if used again), so that a module making hundreds of
        # instances stays far below the server's max_connections.
        for earlier in self.pooled:
            _close_idle_connections(earlier)
        self.pooled.append(instance)
        return instance


def _close_idle_connections(instance: dg.DagsterInstance) -> None:
    for storage in (instance.run_storage, instance.event_log_storage, instance.schedule_storage):
        storage._engine.dispose()  # noqa: SLF001 (dagster-postgres keeps no public handle on its pool)


BACKEND: Local = Local()
# A test of a module that runs on both backends, run on the local one only (where the S3/PostgreSQL run, 3-5x slower,
# would prove nothing more: each such test says why)
LOCAL_ONLY = pytest.mark.parametrize("backend", ["local"], indirect=True)


def settings_for(tmp_path: Path, start: str = "2026-10-01") -> Settings:
    return BACKEND.settings(tmp_path, start)


def new_instance() -> dg.DagsterInstance:
    return BACKEND.instance()


def resource_for(centra, settings: Settings, token: str = "test-token-full", **kw) -> CentraResource:
    kw.setdefault("pacer_path", str(settings.local_state / "budget.sqlite"))
    return CentraResource(api_url=centra.graphql_url, api_token=token, **kw)


def assets_of(settings: Settings, partition: str | None = None) -> list:
    """The Centra assets (not the dbt models), of one partition kind or all: the very ones build_definitions
    makes (build_sync_assets), without building the dbt assets, sensors and schedules beside them each time (the
    helpers ask for them before every run: a third of a second of CPU each, minutes over `make test`)."""
    return sync_assets(build_sync_assets(settings), partition)


@functools.lru_cache(maxsize=8)
def definitions(settings: Settings) -> dg.Definitions:
    """`settings`' definitions, built once per settings as the code location's are (the daemon ticks the same
    sensors again and again): tests that tick a sensor many times do not build them all again every tick."""
    return build_definitions(settings)


def materialize(
    settings: Settings, resource: CentraResource, day: str, partition: str, run_config=None, raise_on_error: bool = True
):
    """One day of event data, or (partition "snapshot", day today) today's snapshots, which have no day partition."""
    store = settings.stores[0]
    if partition == "snapshot":
        assert day == today(), "a snapshot is always today's: Centra only knows the present"
    return dg.materialize(
        assets_of(settings, partition),
        partition_key=key(settings, store, day) if partition == "event" else snapshot_key(settings, store),
        resources={"centra": resource},
        instance=new_instance(),
        run_config=run_config,
        raise_on_error=raise_on_error,
    )


def materialize_range(
    settings: Settings,
    resource: CentraResource,
    first: str,
    last: str,
    partition: str = "event",
    instance: dg.DagsterInstance | None = None,
):
    """Several partitions in one run, as a backfill's ranged run does (in a new instance unless one is given)."""
    return dg.materialize(
        assets_of(settings, partition),
        resources={"centra": resource},
        instance=instance or new_instance(),
        tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last},
    )


def raw_path(settings: Settings, table: str, day: str = "*", store: str | None = None) -> str:
    root = layout.store_root(settings.warehouse_dir, store or settings.stores[0].name)
    return layout.partition_path(root, table, day)


def rows(settings: Settings, table: str, day: str | None = None, columns: str = "*", store: str | None = None):
    path = raw_path(settings, table, day or "*", store)
    with files.connect(settings.warehouse_url) as con:
        return con.execute(
            f"SELECT {columns} FROM read_parquet('{path}', hive_partitioning = false) ORDER BY ALL"
        ).fetchall()


def sim_day(centra, days_back: int) -> str:
    now = dt.datetime.fromtimestamp(centra.sim.clock.now(), ZoneInfo(TZ))
    return (now.date() - dt.timedelta(days=days_back)).isoformat()


def today() -> str:
    """The store's today on the product's clock, as the snapshot runs take it: only under `pinned_clock`, so that
    no test reads the machine's date (each calendar day would test different data)."""
    assert os.environ.get(CLOCK_OFFSET), "today() outside pinned_clock(...) would read the real date"
    return calendar.day_of(calendar.now(), ZoneInfo(TZ)).isoformat()


def pin_clock(patch: pytest.MonkeyPatch, instant: float | dt.datetime) -> None:
    """Make the product's clock (calendar.now, through CENTRA_CLOCK_OFFSET) read `instant` now and run on from there,
    until `patch` is undone. Serve the simulator at the same instant and the days a test syncs, its snapshot's day
    and the marts' windows follow from `instant` alone, whatever day the suite runs on. Dagster's run subprocesses
    and the daemon inherit the setting."""
    at = instant.timestamp() if isinstance(instant, dt.datetime) else instant
    patch.setenv(CLOCK_OFFSET, f"{at - time.time():+.6f}")


@contextlib.contextmanager
def pinned_clock(instant: float | dt.datetime):
    """`pin_clock` for a block (a module's fixture)."""
    with pytest.MonkeyPatch.context() as patch:
        pin_clock(patch, instant)
        yield


def snapshot_day(settings: Settings, table: str = "inventory", store: str | None = None) -> str:
    """The day of the latest snapshot stored: the day the snapshot run took it, which is no longer today() when
    the clock passed midnight since (a test read after midnight must not look in the next day's folder)."""
    folders = files.glob(raw_path(settings, table, "*", store))
    assert folders, f"no {table} snapshot stored"
    return max(f.split("date=")[1].split("/")[0] for f in folders)


def truth(centra, entity: str, day: str | None = None) -> list[dict]:
    query = ""
    if day:
        start = dt.datetime.fromisoformat(day).replace(tzinfo=ZoneInfo(TZ))
        window = {"from": start.isoformat(), "to": (start + dt.timedelta(days=1)).isoformat()}
        query = "?" + urllib.parse.urlencode(window)
    return centra.admin(f"ground-truth/{entity}{query}")["rows"]


def synced_from(entity: str, start: str) -> str:
    """The first creation day of the ground truth's `entity` (a table name) that a sync from the start date `start`
    holds: the start date, less its data type's reach before it (open purchase orders placed earlier)."""
    from centra_assets.entities import ALL

    reach = next((s.reach_before_start for s in ALL for t in s.tables if t.name == entity), 0)
    return (dt.date.fromisoformat(start) - dt.timedelta(days=reach)).isoformat()


# tables an incremental build writes to record what it recomputed: they differ from a full rebuild's by design
BUILD_BOOKKEEPING = ("int_changed_days", "int_orders_recomputed", "int_performance_days")
