"""The raw assets' checks: each table's key unique and never null, every column's Centra field in the store's
schema, and, where Centra counts a data type, the rows equal to Centra's own total for the partition's window.
Each is evaluated on every partition a run wrote, and on no other. Beside them, `files_are_sound` reads every
file of every table (a file no run wrote, truncated or of another table, breaks every build that reads it): it
runs on its own, daily (schedules.py) or from the UI."""

from collections.abc import Callable

import dagster as dg
from dagster._core.definitions.asset_checks.asset_check_evaluation import (  # what AssetCheckResult fills in itself
    AssetCheckEvaluationTargetMaterializationData,
)

from centra_assets.entities import ALL
from centra_assets.entities.spec import EntitySpec, Table
from centra_assets.settings import Settings
from centra_assets.warehouse import files, layout
from centra_assets.warehouse.parquet import read_partition, table_files
from centra_assets.warehouse.publish import interrupted

from .sync import SyncResult


def check_specs(spec: EntitySpec) -> list[dg.AssetCheckSpec]:
    """The checks of every table of `spec`."""
    checks = []
    for t in spec.tables:
        key = dg.AssetKey(["centra", t.name])
        checks.append(dg.AssetCheckSpec("key_is_unique", asset=key, description=f"{', '.join(t.key)} is unique"))
        checks.append(dg.AssetCheckSpec("key_is_not_null", asset=key, description=f"{', '.join(t.key)} is never null"))
        checks.append(
            dg.AssetCheckSpec(
                "store_has_every_field",
                asset=key,
                description="Every column's Centra field exists in the store's schema. A WARN lists the columns "
                "written as NULL because the store's Centra version lacks their field (the sync went on without "
                "them).",
            )
        )
    if spec.count_document:
        checks.append(
            dg.AssetCheckSpec(
                "row_count_matches_centra",
                asset=dg.AssetKey(["centra", spec.tables[0].name]),
                description="Rows equal Centra's own totalCount for the partition's window",
            )
        )
    return checks


def check_results(
    spec: EntitySpec,
    results: list[SyncResult],
    partition: Callable[[SyncResult], str | None],
    instance: dg.DagsterInstance,
) -> list[dg.AssetCheckEvaluation]:
    """The checks' results, one per partition the run wrote (`partition(result)`: its key, None unpartitioned).

    Dagster plans a partitioned asset's checks for each partition of a run, so each is evaluated on its own
    partition (its metadata says what it counted), against the materialization the run recorded for it. A check
    with nothing to check gives no result, and Dagster shows it skipped, never passed: a partition a refresh left
    as it was keeps its last checks, and the row count is compared with Centra's only on the days synced whole (a
    refresh of a few records has no total of Centra's to compare with)."""
    out = []
    for t in spec.tables:
        key = dg.AssetKey(["centra", t.name])
        for r in results:
            if not r.wrote(t.name):
                continue
            on = {"partition": partition(r), "target_materialization_data": _target(instance, key, partition(r))}
            rows = {"rows_checked": r.rows[t.name]}
            duplicates, nulls = _key_problems(r, t)
            lacking = sorted(f for f in r.lacking if f.startswith(f"{t.name}."))
            out += [
                _evaluation(key, "key_is_unique", duplicates == 0, {"duplicate_rows": duplicates, **rows}, **on),
                _evaluation(key, "key_is_not_null", nulls == 0, {"null_keys": nulls, **rows}, **on),
                _evaluation(
                    key,
                    "store_has_every_field",
                    not lacking,
                    {"empty_columns": dg.MetadataValue.json(lacking), "centra_app_version": r.app_version or "unknown"},
                    severity=dg.AssetCheckSeverity.WARN,
                    description=f"{len(lacking)} column(s) empty: the store's schema lacks their field"
                    if lacking
                    else None,
                    **on,
                ),
            ]
            if t is spec.tables[0] and spec.count_document and r.centra_total is not None:
                counts = {"warehouse": r.rows[t.name], "centra": r.centra_total, **rows}
                out.append(_evaluation(key, "row_count_matches_centra", r.rows[t.name] == r.centra_total, counts, **on))
    return out


def _evaluation(key: dg.AssetKey, check: str, passed: bool, metadata: dict, **kw) -> dg.AssetCheckEvaluation:
    return dg.AssetCheckEvaluation(asset_key=key, check_name=check, passed=passed, metadata=metadata, **kw)


def _key_problems(r: SyncResult, t: Table) -> tuple[int, int]:
    """(duplicate rows, null keys) in the table's partition."""
    data = read_partition(r.root, t.name, r.day)
    if data is None or data.num_rows == 0:
        return 0, 0
    keys = data.select(list(t.key))
    return keys.num_rows - keys.group_by(list(t.key)).aggregate([]).num_rows, sum(keys[c].null_count for c in t.key)


def _target(instance: dg.DagsterInstance, key: dg.AssetKey, partition: str | None):
    """The materialization a check evaluated: the partition's latest, which the run recorded just before (the UI
    links the check's result to it, as it does for Dagster's own `AssetCheckResult`)."""
    partitions = None if partition is None else [partition]
    records = instance.fetch_materializations(dg.AssetRecordsFilter(key, asset_partitions=partitions), limit=1).records
    return next(
        (
            AssetCheckEvaluationTargetMaterializationData(
                storage_id=r.storage_id, run_id=r.run_id, timestamp=r.timestamp
            )
            for r in records
        ),
        None,
    )


FILES_ARE_SOUND = "files_are_sound"
BAD_FILES_SHOWN = 20  # a failed check's description names this many files (its metadata lists them all)


def build_file_checks(settings: Settings) -> dg.AssetChecksDefinition:
    """One check per raw table, every store and day: each file is readable Parquet of the table (its key, no column
    the table does not declare), and no publish of it was cut off midway (publish.py `interrupted`). A failure
    names each file and what is wrong with it; a sync of its day (a snapshot: of today) writes the file anew, and
    the next check passes."""
    tables = {dg.AssetKey(["centra", t.name]): t for spec in ALL for t in spec.tables}

    @dg.multi_asset_check(
        name="centra_raw_files_are_sound",
        specs=[
            dg.AssetCheckSpec(
                FILES_ARE_SOUND,
                asset=asset_key,
                description="Every file of the table (every store and day) is readable Parquet of this table, "
                "published whole with the other tables of its data type. A truncated file, or one of another table, "
                "fails every mart build that reads it; a day whose publish was cut off mixes two syncs.",
            )
            for asset_key in tables
        ],
        can_subset=True,
    )
    def files_are_sound(context: dg.AssetCheckExecutionContext):
        with files.connect(settings.warehouse_dir) as con:
            for check_key in context.selected_asset_check_keys:
                t = tables[check_key.asset_key]
                pattern = layout.raw_files(settings.warehouse_dir, t.name)
                sound, bad = table_files(con, pattern, t.schema, t.key)
                for path in interrupted(pattern):
                    bad[path] = "its publish was cut off midway: this day's tables may mix two syncs of its data type"
                sound = [p for p in sound if p not in bad]
                named = [f"{path}: {problem}" for path, problem in list(bad.items())[:BAD_FILES_SHOWN]]
                yield dg.AssetCheckResult(
                    asset_key=check_key.asset_key,
                    check_name=FILES_ARE_SOUND,
                    passed=not bad,
                    metadata={"files_checked": len(sound) + len(bad), "bad_files": dg.MetadataValue.json(bad)},
                    description=None
                    if not bad
                    else f"{len(bad)} file(s) not sound; re-sync their days to replace them:\n" + "\n".join(named),
                )

    return files_are_sound
