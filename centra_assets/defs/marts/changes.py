"""Which raw partitions changed since the marts' last build: what an incremental dbt build recomputes.

The order-grain models are dbt incremental models (dbt_models/macros/incremental.sql): told which raw partitions
changed, a build recomputes only the days those touch; told nothing, it rebuilds them whole. Dagster knows what
changed: every raw partition a refresh or backfill rewrote is a materialization of its `centra/<table>` asset. So
the changed partitions are those materialized since the oldest of the last builds of the incremental models the
build selects began (a build started before a refresh may or may not have read it: counted again, which only
recomputes a day twice). A model left out of a build keeps its older last build, so the build that selects it again
is told everything since.

A snapshot (customers, markets, stock, ...) is taken whole: a model that reads one rebuilds whole when it was taken
again since that build (macros/incremental.sql finds which snapshots a model reads in dbt's graph). The snapshot's
table is listed for its store with the day it was stored under.

dbt hears it through an environment variable, not `--vars`: dbt parses the whole project again whenever the vars
differ from its last parse (dbt_target_path), which would cost more than the incremental build saves.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._core.definitions.data_version import CODE_VERSION_TAG

from centra_assets.entities import ALL
from centra_assets.settings import Settings

from ..raw.partitions import snapshot_days, store_days
from .project import DBT_PROJECT

CHANGED_ENV = "CENTRA_CHANGED_PARTITIONS"  # read by dbt's macro centra_changed

Changed = dict[str, dict[str, list[str]]]  # store -> raw table -> days (YYYY-MM-DD)


@cache
def _manifest() -> dict:
    return json.loads(Path(DBT_PROJECT.manifest_path).read_text())


@cache
def _models() -> dict[str, dict]:
    """dbt's models by unique id, from the manifest."""
    return {uid: n for uid, n in _manifest()["nodes"].items() if n["resource_type"] == "model"}


@cache
def _upstream(uid: str) -> frozenset[str]:
    """Every model and source the dbt model reads, directly or not (unique ids)."""
    models, seen = _models(), set()
    todo = list(models[uid]["depends_on"]["nodes"])
    while todo:
        parent = todo.pop()
        if parent not in seen:
            seen.add(parent)
            todo += models[parent]["depends_on"]["nodes"] if parent in models else []
    return frozenset(seen)


def _incremental_uids() -> list[str]:
    return [uid for uid, n in _models().items() if n["config"].get("materialized") == "incremental"]


def asset_key(node: Mapping[str, Any]) -> dg.AssetKey:
    """A dbt node as Dagster names it (dbt.CentraDbtTranslator.get_asset_key): analytics/<model> (a staging view
    analytics/stg_<table>), a source <source>/<table>."""
    if node["resource_type"] == "source":
        return dg.AssetKey([node["source_name"], node["name"]])
    return dg.AssetKey(["analytics", node["name"].replace("stg_centra__", "stg_")])


@cache
def incremental_models() -> tuple[dg.AssetKey, ...]:
    """The dbt models built incrementally, as Dagster names them (dbt.CentraDbtTranslator: analytics/<model>)."""
    return tuple(asset_key(_models()[uid]) for uid in _incremental_uids())


def macros_called(manifest: dict, node: dict) -> list[str]:
    """The SQL of every macro the dbt node calls, directly or not (by name, sorted)."""
    seen, todo = {}, list(node["depends_on"]["macros"])
    while todo:
        macro = todo.pop()
        if macro in seen or macro not in manifest["macros"]:
            continue
        seen[macro] = manifest["macros"][macro]["macro_sql"]
        todo += manifest["macros"][macro]["depends_on"]["macros"]
    return [seen[m] for m in sorted(seen)]


def code_version(manifest: dict, node: dict) -> str:
    """A model's code version, as each build records it (dbt.CentraDbtTranslator): its SQL and that of every macro
    it calls, directly or not. dagster-dbt's hashes the model's SQL alone, and most of int_orders' is macros'
    (order_lines_measured, centra_staged, ...): an upgrade changing one went unseen (_code_changed)."""
    parts = [node.get("raw_code") or node.get("raw_sql") or "", *macros_called(manifest, node)]
    return hashlib.sha1("\n".join(parts).encode()).hexdigest()


@cache
def _incremental_code() -> dict[dg.AssetKey, str | None]:
    """The code version (code_version) of every incremental model and every model it reads, directly or not."""
    models, manifest = _models(), _manifest()
    uids = set(_incremental_uids()).union(*(_upstream(uid) for uid in _incremental_uids())) & set(models)
    return {asset_key(models[u]): code_version(manifest, models[u]) for u in uids}


def _code_changed(instance: dg.DagsterInstance) -> bool:
    """Whether the SQL of an incremental model, or of a model it reads, differs from the SQL its last build ran (an
    upgrade): its stored rows were computed by the old SQL, and a new column would be left out of the existing table,
    so the build must be whole."""
    for model, version in _incremental_code().items():
        event = instance.get_latest_materialization_event(model)
        # a model never built through Dagster (new, or left out of every build so far) holds no rows of old SQL
        if event is not None and event.asset_materialization.tags.get(CODE_VERSION_TAG) != version:
            return True
    return False


@cache
def _tables_read() -> dict[dg.AssetKey, dict[dg.AssetKey, frozenset[dg.AssetKey]]]:
    """Each incremental model with the models it reads, directly or not, that store rows (not views: a view reads the
    raw Parquet whenever it is queried), each with the raw tables it reads, directly or not."""
    models, sources = _models(), _manifest()["sources"]
    return {
        asset_key(models[uid]): {
            asset_key(models[u]): frozenset(asset_key(sources[s]) for s in _upstream(u) if s in sources)
            for u in _upstream(uid)
            if u in models and models[u]["config"].get("materialized") != "view"
        }
        for uid in _incremental_uids()
    }


def _last_build_began(instance: dg.DagsterInstance, selected: Collection[dg.AssetKey] | None) -> float | None:
    """When the oldest of the last builds of the incremental models `selected` (all of them: None), and of every table
    they read that is stale, began (its run's start), or None if one was never built (or its run is unknown): then
    every model is built whole. A stale table (a raw table it reads was updated after its last build began) that a
    build leaves out keeps its rows of before the change: the automation asked for what reads the orders without
    int_returns (a refresh's returns recorded just after its tick), and the days an incremental model recomputed from
    it were recomputed from its old rows. The build that rebuilds it must be told that change again (the soak test: a
    return's completion stayed out of daily_sales). A table up to date with its raw data moves nothing back."""
    models = [m for m in incremental_models() if selected is None or m in selected]
    tables: dict[dg.AssetKey, frozenset[dg.AssetKey]] = {}
    for model in models:
        tables |= _tables_read()[model]
    keys = set(models) | set(tables)
    latest = instance.get_latest_materialization_events(keys)  # one query for them all
    if not keys or any(latest.get(key) is None for key in keys):
        return None
    ids = list({event.run_id for event in latest.values()})
    runs = {
        r.dagster_run.run_id: r.start_time or r.create_timestamp.timestamp()
        for r in instance.get_run_records(dg.RunsFilter(run_ids=ids))
    }
    if any(latest[key].run_id not in runs for key in keys):
        return None
    began = {key: runs[latest[key].run_id] for key in keys}
    read = list(set().union(*tables.values()))  # the raw tables under them, their latest updates in one query
    raw = {r.asset_entry.asset_key: r.asset_entry.last_materialization for r in instance.get_asset_records(read)}
    stale = [
        table
        for table, reads in tables.items()
        if any(raw.get(t) is not None and raw[t].timestamp > began[table] for t in reads)
    ]
    return min(began[key] for key in [*models, *stale])


def changed_partitions(
    instance: dg.DagsterInstance, settings: Settings, selected: Collection[dg.AssetKey] | None = None
) -> Changed | None:
    """The raw partitions materialized since the last build of the incremental models `selected` (every one: None)
    began, and those raw runs not ended in success may have published (_unrecorded), by store and raw table (a
    snapshot: the day it was stored under); None (build everything whole) for a first build, a build after the
    models' SQL changed, or a recorded partition key that names no store day."""
    since = _last_build_began(instance, selected)
    if since is None or _code_changed(instance):
        return None
    unrecorded = _unrecorded(instance, since)
    changed: Changed = {}
    for spec in ALL:
        for table in (t.name for t in spec.tables):
            records = [(r.partition_key, r.timestamp) for r in _materializations(instance, table, since)]
            if spec.partition == "event" and any(not partition for partition, _ in records):
                return None  # a materialization of no partition: which days it wrote is unknown
            try:
                pairs = _store_days(settings, spec.partition, records)
            except (ValueError, KeyError):
                return None
            for partition, at in unrecorded.get(table, []):
                if spec.partition == "event" and partition is None:
                    return None  # a run over every day
                try:  # (a run of another deployment sharing the instance names none of its stores)
                    pairs += _store_days(settings, spec.partition, [(partition, at)])
                except (ValueError, KeyError):
                    continue
            for store, day in pairs:
                days = changed.setdefault(store.name, {}).setdefault(table, [])
                if day.isoformat() not in days:
                    days.append(day.isoformat())
    return changed


def _store_days(settings: Settings, partition: str, written: list[tuple[str | None, float]]) -> list:
    """(store, day) of each partition written (its key, when): an event data type's day, or the day a snapshot was
    stored under (its stores: all of them when unpartitioned)."""
    if partition == "event":
        return store_days(settings, sorted({key for key, _ in written}))
    return [pair for key, at in written for pair in snapshot_days(settings, [key] if key else [], at)]


# A raw run publishes each day's files in a turn of the warehouse and records their materializations after it (at the
# end of its step): a build that takes the turn in between reads the new files, and no record of them yet
# (tests/marts/test_build_turns.py). One that failed or was cancelled after publishing some days records none.
_MAY_HAVE_PUBLISHED = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]
_ENDED_UNRECORDED = [dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]


def _unrecorded(instance: dg.DagsterInstance, since: float) -> dict[str, list[tuple[str | None, float]]]:
    """By raw table, the partitions (key, the run's start) of the runs that may have published files not recorded as
    materialized: those running, and those ended without success since `since`, from their planned
    materializations. A build counts them as changed (a day recomputed for nothing costs little; a day left out is
    stale until it changes again). A run starting after the build took its turn publishes after it, and its
    materializations are recorded after the build began: the next build counts them."""
    records = list(instance.get_run_records(dg.RunsFilter(statuses=_MAY_HAVE_PUBLISHED)))
    records += instance.get_run_records(
        dg.RunsFilter(statuses=_ENDED_UNRECORDED, updated_after=dt.datetime.fromtimestamp(since, dt.UTC))
    )
    out: dict[str, list[tuple[str | None, float]]] = {}
    for record in records:
        began = record.start_time or record.create_timestamp.timestamp()
        planned = instance.get_records_for_run(
            record.dagster_run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED, limit=10_000
        ).records
        for r in planned:
            data = r.event_log_entry.dagster_event.event_specific_data
            if data.asset_key.path[0] != "centra":
                continue
            keys = planned_keys(data)
            for partition in [None] if keys is None else keys:
                out.setdefault(data.asset_key.path[-1], []).append((partition, began))
    return out


def planned_keys(planned) -> list[str] | None:
    """The partition keys a run plans to write to an asset, from the data of its ASSET_MATERIALIZATION_PLANNED
    event; None: every partition, or an unpartitioned asset."""
    if planned.partition is not None:
        return [str(planned.partition)]
    if planned.partitions_subset is not None:
        return list(planned.partitions_subset.get_partition_keys())
    return None


def _materializations(instance: dg.DagsterInstance, table: str, since: float) -> list[dg.EventLogRecord]:
    """The materializations of raw table `table` (asset centra/<table>) recorded after `since`."""
    records, cursor = [], None
    while True:
        result = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(["centra", table]), after_timestamp=since),
            limit=1000,
            cursor=cursor,
        )
        records += result.records
        if not result.has_more:
            return records
        cursor = result.cursor


@contextmanager
def told_to_dbt(changed: Changed | None) -> Iterator[None]:
    """dbt (started inside) sees the changed partitions in CHANGED_ENV; without them (None) it builds everything
    whole. The variable is this process's only while dbt starts: builds take turns (turns.taking_turns)."""
    before = os.environ.pop(CHANGED_ENV, None)
    if changed is not None:
        os.environ[CHANGED_ENV] = json.dumps(changed, sort_keys=True)
    try:
        yield
    finally:
        os.environ.pop(CHANGED_ENV, None)
        if before is not None:
            os.environ[CHANGED_ENV] = before
