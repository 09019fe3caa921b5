"""The dbt staging layer, generated from the entity specs: one source table and one staging model per raw table.

The specs already say everything staging needs (columns, key, partition rule, which columns are money and at
which rate), so the sources file and the staging models are written from them and never edited by hand:
`make dbt-sources` rewrites them, and a test fails when they are stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa

from ...entities import ALL
from ...entities.spec import EntitySpec, Table
from ...warehouse import layout

DBT_DIR = Path(__file__).resolve().parents[3] / "dbt_models"
STAGING = DBT_DIR / "models" / "staging"
HEADER = "Generated from centra_assets/entities by `make dbt-sources`: change the spec, not this file."
_TYPES = {pa.int64(): "bigint", pa.float64(): "double", pa.bool_(): "boolean", pa.string(): "varchar"}


def money_columns(table: Table) -> dict[str, str]:
    """Money column -> the column holding its conversion rate to the base currency."""
    names = {c.name for c in table.columns}
    out = {}
    for c in table.columns:
        if c.type != pa.float64() or c.name.endswith(("_percent", "conversion_rate")):
            continue
        if f"{c.name}_conversion_rate" in names:
            out[c.name] = f"{c.name}_conversion_rate"
        elif "conversion_rate" in names:
            out[c.name] = "conversion_rate"
    return out


def _partition_rule(spec: EntitySpec) -> str:
    if spec.partition == "event":
        reach = (
            f" (those created in the {spec.reach_before_start} days before CENTRA_START_DATE: the start date's)"
            if spec.reach_before_start
            else ""
        )
        return f"one partition per day the record was created (`{spec.date_field}`){reach}, latest version kept"
    return "one partition per day the snapshot was taken; every snapshot kept (`snapshot_date`)"


def _type(t: pa.DataType) -> str:
    return "timestamptz" if pa.types.is_timestamp(t) else _TYPES[t]


WAREHOUSE_DIR = "{{ var('centra_warehouse_dir', env_var('CENTRA_WAREHOUSE_DIR', '../warehouse')) }}"


def external_location() -> str:
    """How dbt-duckdb reads every raw table: its files by the raw layout (`warehouse/layout.py`, the one
    definition; dbt's macro `centra_raw_files` follows it), `{name}` being the table's name (dbt-duckdb fills it
    in). Written once, on the source: its tables inherit it."""
    files = layout.raw_files(WAREHOUSE_DIR, "{name}")
    return f"read_parquet('{files}', hive_partitioning = true, union_by_name = true)"


def render_sources() -> str:
    lines = [
        f"# {HEADER}",
        "version: 2",
        "sources:",
        "  - name: centra",
        "    description: Raw Centra data as the pipeline lands it, read straight from the Parquet partitions.",
        "    config:",
        f'      external_location: "{external_location()}"',
        "    tables:",
    ]
    for spec in ALL:
        for table in spec.tables:
            lines += [
                f"      - name: {table.name}",
                f'        description: "{spec.description.replace(chr(34), chr(39))} Table `{table.name}`, key '
                f'({", ".join(table.key)}); {_partition_rule(spec)}."',
                "        config:",
                "          meta:",
                f"            centra_data_type: {spec.name}",
                f"            partition: {spec.partition}",
                f"            key: [{', '.join(table.key)}]",
                f"            money: {{{', '.join(f'{m}: {rate}' for m, rate in money_columns(table).items())}}}",
                "        columns:",
            ]
            for c in table.columns:
                lines += [
                    f"          - name: {c.name}",
                    f"            data_type: {_type(c.type)}",
                    f'            description: "{table.describe(c, spec.root).replace(chr(34), chr(39))}"',
                ]
    return "\n".join(lines) + "\n"


def render_staging(spec: EntitySpec, table: Table) -> str:
    """The staging model: the macro reads the table's key, partition rule and money columns from its source's meta
    (above), so an incremental model can stage a few days of the same table the same way (`centra_staged`)."""
    return f"-- {HEADER}\n{{{{ centra_staging('{table.name}') }}}}\n"


def render_staging_docs() -> str:
    """Each staging model's description, and for a snapshot its key's test: a snapshot keeps every day's rows, and
    its key is unique within a day. An event table's view has no key test: it keeps one row per store and key by
    construction (macros/centra_staging.sql, `_version`), so the test could not fail, and it read and deduplicated
    every raw file of the table in each build (a node of its own, its window over every order of the history)."""
    lines = [f"# {HEADER}", "version: 2", "models:"]
    for spec in ALL:
        for table in spec.tables:
            money = money_columns(table)
            lines += [
                f"  - name: stg_centra__{table.name}",
                f'    description: "Centra `{table.name}`, typed and deduplicated per store (`store`): '
                f"{_partition_rule(spec)}."
                + (" Money also in the base currency (`*_base`, at the rate Centra recorded)." if money else "")
                + '"',
            ]
            if spec.partition == "snapshot":
                key = ", ".join(["store", *table.key, "snapshot_date"])
                lines += [
                    "    data_tests:  # keys are non-null: the raw assets' checks say so for every partition",
                    "      - unique:",
                    "          arguments:",
                    f'            column_name: "({key})"',
                ]
    return "\n".join(lines) + "\n"


def files() -> dict[Path, str]:
    out = {STAGING / "_centra__sources.yml": render_sources(), STAGING / "_staging__models.yml": render_staging_docs()}
    for spec in ALL:
        for table in spec.tables:
            out[STAGING / f"stg_centra__{table.name}.sql"] = render_staging(spec, table)
    return out


def stale() -> list[Path]:
    """Generated files that differ from what the specs give, and staging models no spec gives any more."""
    wanted = files()
    changed = [p for p, text in wanted.items() if not p.exists() or p.read_text() != text]
    orphans = [p for p in STAGING.glob("stg_centra__*.sql") if p not in wanted]
    return changed + orphans


def main() -> None:
    wanted = files()
    STAGING.mkdir(parents=True, exist_ok=True)
    for path in STAGING.glob("stg_centra__*.sql"):
        if path not in wanted:
            path.unlink()
    for path, text in wanted.items():
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            print(f"wrote {path.relative_to(DBT_DIR.parent)}", file=sys.stderr)


if __name__ == "__main__":
    main()
