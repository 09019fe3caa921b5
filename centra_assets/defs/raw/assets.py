"""The asset factory: every entity spec becomes one multi-asset, one Dagster asset per table it writes.

Asset keys are ``centra/<table>``. Event data is partitioned by day in the store's timezone (today included,
for "today so far"); snapshots are not partitioned by day (one partition per store with several stores):
Centra only knows the present, so each materialization is today's snapshot (see partitions.py). Runs draw on
the ``centra_api`` concurrency pool and backfills run a week of partitions per run (policy.py). Each partition
a run wrote gets a materialization of its own (rows, window, pages), and a day a refresh run spans but did not
change gets none; the checks are in checks.py.
"""

import datetime as dt
import hashlib
import time

import dagster as dg
import pyarrow as pa

from centra_assets.entities import ALL, BY_NAME
from centra_assets.entities.query import plan
from centra_assets.entities.spec import AUDIT_DOCS, EntitySpec, Table
from centra_assets.settings import Settings
from centra_assets.warehouse import layout, turns
from centra_assets.warehouse.parquet import read_partition

from ..policy import PARTITIONS_PER_BACKFILL_RUN, POOL, PROGRESS_EVERY_SECONDS, owners, raw_freshness
from ..resources import CentraResource
from .checks import check_results, check_specs
from .partitions import key, partitions_for, snapshot_days, snapshot_key, store_days
from .sync import SyncResult, refresh_records, sync_partition

KEYS_SHOWN = 20  # a refresh's materialization names this many of the records it changed (and counts them all)


class SyncConfig(dg.Config):
    """Leave empty to re-materialize whole partitions. For event data, `refresh_keys` re-fetches only these
    records (order numbers for orders, ids otherwise) and merges them into the partition."""

    refresh_keys: list[str] = []


def _arrow_to_dagster(type_: pa.DataType) -> str:
    return {"int64": "integer", "double": "float", "bool": "boolean", "string": "text"}.get(
        str(type_), "timestamp (UTC)" if pa.types.is_timestamp(type_) else str(type_)
    )


def column_schema(spec: EntitySpec, table: Table) -> dg.TableSchema:
    """The table's columns as Dagster shows them: type, nullability and a description from the spec."""
    docs = {**{c.name: table.describe(c, spec.root) for c in table.columns}, **AUDIT_DOCS}
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                f.name,
                _arrow_to_dagster(f.type),
                description=docs[f.name],
                constraints=dg.TableColumnConstraints(nullable=f.name not in table.key),
            )
            for f in table.schema
        ]
    )


def code_version(spec: EntitySpec) -> str:
    """A digest of what decides the data a spec writes (the query it sends a store with the documented schema,
    every column's paths and type, each table's key and rows, the partition rule), so Dagster shows a raw asset
    as changed when its spec changes and not when unrelated code does."""
    parts = [plan(spec).document, spec.partition, spec.date_field, spec.refresh_field, spec.sort]
    for t in spec.tables:
        parts += [t.name, t.key, t.rows_at, *((c.name, c.paths, str(c.type)) for c in t.columns)]
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:12]


def _description(spec: EntitySpec, table: Table) -> str:
    rule = (
        "Partition: the day the record was created in Centra, in the store's timezone (CENTRA_TIMEZONE)."
        if spec.partition == "event"
        else "Not partitioned by day: Centra only knows the present, so each materialization takes today's "
        "snapshot (stored under today's date; every past snapshot stays in the warehouse). A past day's snapshot "
        "cannot be fetched, so there is no partition for it to miss."
    )
    grain = f"One row per {', '.join(table.key)}."
    return f"{spec.description}\n\nTable `{table.name}`. {grain} {rule}"


def _preview(root: str, table: Table, day: str) -> dg.MetadataValue:
    data = read_partition(root, table.name, day)
    if data is None or data.num_rows == 0:
        return dg.MetadataValue.md("_no rows_")
    head = data.slice(0, 5).drop_columns(["_store", "_source", "_loaded_at"]).to_pylist()
    cols = list(head[0])[:10]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join("" if r[c] is None else str(r[c]) for c in cols) + " |" for r in head]
    return dg.MetadataValue.md("\n".join(lines))


def build_sync_asset(spec: EntitySpec, settings: Settings) -> dg.AssetsDefinition:
    partitions_def = partitions_for(settings, spec.partition)
    version = code_version(spec)
    specs = [
        dg.AssetSpec(
            ["centra", t.name],
            description=_description(spec, t),
            group_name=spec.group,
            kinds={"centra", "parquet"},
            owners=owners(settings),
            code_version=version,
            freshness_policy=raw_freshness(settings),
            metadata={
                "dagster/column_schema": column_schema(spec, t),
                "centra/data_type": spec.name,
                "centra/root_field": spec.root,
                "partition_rule": spec.partition,
                "dagster/uri": layout.table_root(layout.store_root(settings.warehouse_dir, "*"), t.name),
            },
        )
        for t in spec.tables
    ]

    @dg.multi_asset(
        name=f"centra_{spec.name}",
        specs=specs,
        check_specs=check_specs(spec),
        partitions_def=partitions_def,
        pool=POOL,
        # Nothing is required of a run: it records a materialization for each partition it wrote (below), and a
        # check with nothing to check gives no result (Dagster shows it skipped), which Dagster allows only of an
        # op that can be subset. Whatever is selected, the op syncs every table of its data type together.
        can_subset=True,
        backfill_policy=dg.BackfillPolicy.multi_run(PARTITIONS_PER_BACKFILL_RUN) if spec.partition == "event" else None,
        description=spec.description,
    )
    def sync(context: dg.AssetExecutionContext, config: SyncConfig, centra: CentraResource):
        if not context.selected_asset_keys:  # checks alone, from the UI: they check what a sync wrote
            raise dg.Failure(f"The checks of {spec.name} run with its sync: materialize its tables to check them")
        keys = context.partition_keys if partitions_def else []
        event = spec.partition == "event"
        results: list[SyncResult] = []
        by_store: dict[str, tuple] = {}
        taken = None if event else _run_started(context)
        for store, day in store_days(settings, keys) if event else snapshot_days(settings, keys, taken):
            by_store.setdefault(store.name, (store, []))[1].append(day)
        if config.refresh_keys and len(by_store) > 1:
            raise dg.Failure("refresh_keys name one store's records: a refresh run targets one store's partitions")
        progress = Progress(context, spec, sum(len(days) for _, days in by_store.values()))
        for store, days in by_store.values():
            root = layout.store_root(settings.warehouse_dir, store)
            client = centra.client(store)  # one per store for the whole run: pacing and learned costs carry over
            try:
                if config.refresh_keys:
                    refreshed = refresh_records(
                        client,
                        spec,
                        root,
                        days,
                        config.refresh_keys,
                        store.tz,
                        centra.audit(store),
                        centra.concurrency,
                        progress.within,
                        lock=turns.turn_lock(settings),  # builds and publishes take turns
                        start=dt.date.fromisoformat(store.start_date),
                    )
                    for result in refreshed:
                        context.log.info(progress.finished(result))
                    results += refreshed
                    continue
                for day in days:
                    result = sync_partition(
                        client,
                        spec,
                        root,
                        day,
                        store.tz,
                        centra.audit(store),
                        centra.concurrency,
                        progress=progress.within(day),
                        today=None if event else day,
                        lock=turns.turn_lock(settings),
                        start=dt.date.fromisoformat(store.start_date),
                    )
                    context.log.info(progress.finished(result))
                    results.append(result)
            finally:
                client.close()

        def partition(r: SyncResult) -> str | None:
            return key(settings, r.store, r.day) if event else snapshot_key(settings, r.store)

        for t in spec.tables:
            asset_key = dg.AssetKey(["centra", t.name])
            if partitions_def is None:  # one store's snapshot: one materialization, one result
                yield dg.MaterializeResult(asset_key=asset_key, metadata=_partition_metadata(spec, t, results[0]))
                continue
            # One materialization per partition the run wrote, each with its own rows, window and cost, so every
            # day keeps a history of its own. A day a refresh's range spans but whose records did not change gets
            # none: its latest materialization stays the one that wrote it (a ranged output would stamp them all).
            for r in results:
                if r.wrote(t.name):
                    yield dg.AssetMaterialization(
                        asset_key,
                        partition=partition(r),
                        metadata=_partition_metadata(spec, t, r),
                        tags=_partition_tags(partition(r)),
                    )
        yield from check_results(spec, results, partition, context.instance)

    return sync


def _partition_metadata(spec: EntitySpec, t: Table, r: SyncResult) -> dict:
    """What one partition's materialization of table `t` records: its own rows, window and cost, and for a
    targeted refresh, what it changed (a few of the records' keys) and how many partitions shared its fetch."""
    refresh = {}
    if r.changed is not None:
        changed = r.changed[t.name]
        refresh = {
            "refreshed_records": r.refreshed,
            "changed_records": len(changed),
            "changed_keys": dg.MetadataValue.json([str(k) for k in changed[:KEYS_SHOWN]]),
            "cost_shared_by_partitions": r.shared_by,
        }
    return {
        "dagster/row_count": r.rows[t.name],
        "dagster/column_schema": column_schema(spec, t),
        "preview": _preview(r.root, t, r.day),
        "day": r.day,
        "store": r.store,
        "window": f"{r.window[0]} .. {r.window[1]}" if r.window else f"snapshot taken on {r.day}",
        "pages": r.pages,
        "requests": r.requests,
        "complexity": r.complexity,
        "seconds": round(r.seconds, 2),
        **refresh,
        "centra_app_version": r.app_version or "",
        "fields_store_lacks": dg.MetadataValue.json(sorted(f for f in r.lacking if f.startswith(f"{t.name}."))),
        "alternative_fields": dg.MetadataValue.json(
            {k: v for k, v in r.alternatives.items() if k.startswith(f"{t.name}.")}
        ),
    }


def _partition_tags(partition: str) -> dict[str, str]:
    """The tags Dagster gives a materialization of a day-by-store partition (as it does its outputs'), so each
    dimension of the partition can be looked up."""
    if isinstance(partition, dg.MultiPartitionKey):
        return {f"dagster/partition/{d}": k for d, k in partition.keys_by_dimension.items()}
    return {}


class Progress:
    """A step's progress over every partition it syncs, in its run's event log: records so far, the share of the
    run done, the rate and the time left. A backfill run syncs a week of days and the sweep a month, each day often
    a few seconds: a run counts its days, so its log says how far it is after each day (with that day's summary)
    and, within a long day, every PROGRESS_EVERY_SECONDS (that day's share of Centra's total, when counted)."""

    def __init__(self, context, spec: EntitySpec, days: int):
        self.context, self.name, self.days = context, spec.name, max(1, days)
        self.first = spec.tables[0].name  # its rows are the data type's records
        self.done = self.records = 0
        self.started = self.last = time.monotonic()

    def within(self, day: dt.date):
        """What sync_partition calls after each page of `day`: a line every PROGRESS_EVERY_SECONDS of the run."""

        def report(records: int, total: int | None, elapsed: float) -> None:
            if time.monotonic() - self.last < PROGRESS_EVERY_SECONDS:
                return
            share = min(1.0, records / total) if total else 0.0
            of = f"{records}/{total} records ({share:.0%})" if total else f"{records} records"
            so_far = self._so_far(self.records + records, self.done + 1, share)
            self.context.log.info(f"{self.name} {day}: {of}; {so_far}")

        return report

    def finished(self, r: SyncResult) -> str:
        """The day's summary, with how far the run is."""
        self.done += 1
        self.records += r.refreshed if r.changed is not None else r.rows.get(self.first, 0)
        return f"{_summary(r)}; {self._so_far(self.records, self.done, 0.0)}"

    def _so_far(self, records: int, day: int, day_share: float) -> str:
        """At day number `day` of the run's days, `day_share` of the day being synced done (0: between days)."""
        now = time.monotonic()
        self.last, elapsed = now, now - self.started
        share = min(1.0, (self.done + day_share) / self.days)
        left = f"about {elapsed * (1 - share) / share:.0f} s left" if share else "time left not known yet"
        rate = records / elapsed if elapsed else 0.0
        return f"day {day} of {self.days}, {records} records so far ({share:.0%} of the run), {rate:.0f}/s, {left}"


def _summary(r: SyncResult) -> str:
    if r.kept_existing:
        return f"{r.spec} {r.day}: kept the snapshot stored on that day ({r.rows})"
    lacking = f"; empty columns, the store's schema lacks their field: {', '.join(r.lacking)}" if r.lacking else ""
    if r.changed is not None:
        changed = len(set().union(*r.changed.values()))
        return f"{r.spec} {r.day}: {r.refreshed} records refreshed, {changed} changed, now {r.rows}{lacking}"
    return (
        f"{r.spec} {r.day}: {r.rows} in {r.pages} pages, {r.requests} requests, complexity {r.complexity}, "
        f"{r.seconds:.1f} s{lacking}"
    )


def build_sync_assets(settings: Settings) -> list[dg.AssetsDefinition]:
    return [build_sync_asset(spec, settings) for spec in ALL]


def sync_assets(assets, partition: str | None = None) -> list[dg.AssetsDefinition]:
    """The Centra assets among `assets` (not the dbt models), of one partition kind ("event", "snapshot") or all."""
    specs = {a: BY_NAME.get(a.op.name.removeprefix("centra_")) for a in assets}
    return [a for a, spec in specs.items() if spec and partition in (None, spec.partition)]


def _run_started(context: dg.AssetExecutionContext) -> float | None:
    """When the run started: a snapshot run stores every data type under the day it started, even past midnight."""
    record = context.instance.get_run_record_by_id(context.run.run_id)
    return record.start_time if record else None
