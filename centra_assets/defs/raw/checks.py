"""The raw assets' checks: each table's key unique and never null, every column's Centra field in the store's
schema, and, where Centra counts a data type, the rows equal to Centra's own total for the partition's window."""

import dagster as dg

from centra_assets.entities.spec import EntitySpec
from centra_assets.warehouse.parquet import read_partition

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


def check_results(spec: EntitySpec, results: list[SyncResult], label) -> list[dg.AssetCheckResult]:
    """The checks' results over the partitions a run wrote (`label(result)` names a partition)."""
    out = []
    for t in spec.tables:
        key = dg.AssetKey(["centra", t.name])
        duplicates = nulls = 0
        for r in results:
            data = read_partition(r.root, t.name, r.day)
            if data is None or data.num_rows == 0:
                continue
            keys = data.select(list(t.key))
            nulls += sum(keys[c].null_count for c in t.key)
            duplicates += data.num_rows - keys.group_by(list(t.key)).aggregate([]).num_rows
        out.append(
            dg.AssetCheckResult(
                asset_key=key,
                check_name="key_is_unique",
                passed=duplicates == 0,
                metadata={"duplicate_rows": duplicates},
            )
        )
        out.append(
            dg.AssetCheckResult(
                asset_key=key, check_name="key_is_not_null", passed=nulls == 0, metadata={"null_keys": nulls}
            )
        )
        lacking = sorted({f for r in results for f in r.lacking if f.startswith(f"{t.name}.")})
        versions = sorted({r.app_version for r in results if r.app_version})
        out.append(
            dg.AssetCheckResult(
                asset_key=key,
                check_name="store_has_every_field",
                passed=not lacking,
                severity=dg.AssetCheckSeverity.WARN,
                description=(
                    f"{len(lacking)} column(s) empty: the store's schema lacks their field" if lacking else None
                ),
                metadata={
                    "empty_columns": dg.MetadataValue.json(lacking),
                    "centra_app_version": ", ".join(versions) or "unknown",
                },
            )
        )
    if spec.count_document:
        counted = [r for r in results if r.centra_total is not None]
        mismatches = {
            label(r): {"warehouse": r.rows[spec.tables[0].name], "centra": r.centra_total}
            for r in counted
            if r.rows[spec.tables[0].name] != r.centra_total
        }
        out.append(
            dg.AssetCheckResult(
                asset_key=dg.AssetKey(["centra", spec.tables[0].name]),
                check_name="row_count_matches_centra",
                passed=not mismatches,
                metadata={"partitions_checked": len(counted), "mismatches": dg.MetadataValue.json(mismatches)},
            )
        )
    return out
