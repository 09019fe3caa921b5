"""The generated dbt staging layer follows the entity specs; a failed dbt test's rows reach its check."""

import json
import re

import dagster as dg
import duckdb
import jinja2

from centra_assets.defs.marts.dbt import _failing_rows
from centra_assets.defs.marts.dbt_sources import DBT_DIR, money_columns, stale
from centra_assets.entities import ALL, BY_NAME
from centra_assets.warehouse import layout


def test_the_generated_staging_layer_is_current():
    assert stale() == [], "the entity specs changed: run `make dbt-sources` and commit the result"


def test_dbt_reads_the_raw_files_where_the_warehouse_writes_them():
    """One raw layout (warehouse/layout.py): the sources dbt-duckdb reads and dbt's macro `centra_raw_files` give
    the same files as the Python that writes them."""
    from centra_assets.defs.marts.project import DBT_PROJECT

    sources = json.loads(DBT_PROJECT.manifest_path.read_text())["sources"]
    macro = (DBT_DIR / "macros" / "centra_raw_files.sql").read_text()
    render = jinja2.Environment().from_string(macro + "{{ centra_raw_files(table) }}").render
    for table in (t.name for spec in ALL for t in spec.tables):
        location = sources[f"source.centra.centra.{table}"]["config"]["external_location"]
        read = re.fullmatch(r"read_parquet\('([^']+)', hive_partitioning = true, union_by_name = true\)", location)
        files = read.group(1).format(name=table)  # dbt-duckdb fills in the table's name
        warehouse = files[: files.index("/store=")]  # as dbt parsed it (CENTRA_WAREHOUSE_DIR or its default)
        assert files == layout.raw_files(warehouse, table)
        by_macro = render(table=table, var=lambda name, default: "/warehouse", env_var=lambda name, default: default)
        assert by_macro.strip() == layout.raw_files("/warehouse", table)


def test_money_columns_convert_at_the_rate_recorded_beside_them():
    orders, lines = BY_NAME["orders"].tables[:2]
    assert money_columns(orders)["grand_total"] == "conversion_rate"
    assert "tax_percent" not in money_columns(lines) and money_columns(lines)["unit_price"] == "conversion_rate"
    assert money_columns(BY_NAME["returns"].tables[0]) == {
        "refund_total": "refund_total_conversion_rate",
        **dict.fromkeys(
            ("refund_total_excl_tax", "return_cost", "return_shipping", "return_handling", "return_discounts"),
            "conversion_rate",  # grandTotal's rate, read beside it
        ),
    }


def _dbt_assets():
    from centra_assets.defs import build_definitions
    from centra_assets.settings import Settings

    definitions = build_definitions(Settings())
    (assets,) = [a for a in definitions.assets if getattr(a, "op", None) and a.op.name == "centra_dbt"]
    return assets


def test_every_dbt_test_is_an_asset_check_with_a_short_name_and_a_description():
    import json

    from centra_assets.defs.marts.project import DBT_PROJECT

    manifest = json.loads(DBT_PROJECT.manifest_path.read_text())
    tests = [n for n in manifest["nodes"].values() if n["resource_type"] == "test"]
    checks = {spec.key: spec for spec in _dbt_assets().check_specs}
    assert len(checks) == len(tests) > 80
    for spec in checks.values():
        assert len(spec.name) <= 40 and spec.description, spec.key
    by_name = {(k.asset_key.path[-1], k.name): s for k, s in checks.items()}
    # singular tests (several models each) are checks on the model their config names, with their description
    assert "completed" in by_name[("daily_sales", "assert_returns_agree_across_marts")].description
    assert ("daily_sales", "assert_daily_sales_reconcile_with_orders") in by_name
    assert ("fct_orders", "assert_order_gross_equals_its_lines") in by_name
    # a generic test's 146-character name, in words
    assert by_name[("fct_orders", "accepted_values_status")].description.startswith("`status` is one of PENDING")
    assert by_name[("fct_orders", "unique_key")].description == "No two rows share `store`, `order_number` (the key)."
    # a model's columns that are never null: one test (a node of a build), one check, naming them all
    assert by_name[("fct_orders", "not_null")].description == (
        "`store`, `order_number`, `order_day`, `market_id`, `currency`, `conversion_rate` are never null."
    )
    assert not [name for _, name in by_name if name.startswith("not_null_")]


def test_staging_has_its_own_schema_group_and_short_names():
    import json

    from centra_assets.defs.marts.project import DBT_PROJECT
    from centra_assets.entities import ALL

    assets = _dbt_assets()
    manifest = json.loads(DBT_PROJECT.manifest_path.read_text())
    schemas = {n["name"]: n["schema"] for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    for table in (t for spec in ALL for t in spec.tables):
        key = dg.AssetKey(["analytics", f"stg_{table.name}"])
        assert assets.group_names_by_key[key] == "analytics_staging"
        assert schemas[f"stg_centra__{table.name}"] == "staging"
    assert schemas["int_orders"] == "intermediate" and schemas["daily_sales"] == "main"
    assert assets.group_names_by_key[dg.AssetKey(["analytics", "daily_sales"])] == "analytics"


def test_a_failed_tests_rows_reach_its_check_whatever_their_types(tmp_path):
    """Failing rows with a date, a timestamp and a decimal (what daily_sales' tests return) become the check's JSON
    metadata, instead of failing the failed build's report and hiding which test failed."""
    database = tmp_path / "build.duckdb"
    duckdb.connect(str(database)).close()
    sql = "SELECT DATE '2026-11-04' AS day, TIMESTAMP '2026-11-04 10:00:00' AS at, 2336.32::DECIMAL(18, 2) AS net"
    rows = _failing_rows(database, sql)
    assert dg.MetadataValue.json(rows).data == [{"day": "2026-11-04", "at": "2026-11-04 10:00:00", "net": "2336.32"}]


def test_every_event_table_an_incremental_model_reads_is_upstream_of_the_changed_days():
    """int_changed_days says which days a build recomputes; the automation builds it when a raw table upstream of
    it changes. An event table an incremental model reads but int_changed_days does not (order_payments, read by
    fct_payments) could be refreshed and ask for the model alone: it would then rebuild whole (the days of an
    earlier build are never read: macro centra_builds). Snapshots rebuild their readers whole anyway."""
    from centra_assets.defs.marts.project import DBT_PROJECT

    manifest = json.loads(DBT_PROJECT.manifest_path.read_text())
    nodes, sources = manifest["nodes"], manifest["sources"]

    def event_tables(unique_id: str) -> set[str]:
        found, queue, seen = set(), [unique_id], set()
        while queue:
            node_id = queue.pop()
            if node_id in seen:
                continue
            seen.add(node_id)
            source = sources.get(node_id, {})
            if (source.get("config", {}).get("meta") or source.get("meta") or {}).get("partition") == "event":
                found.add(sources[node_id]["name"])
            queue += nodes.get(node_id, {}).get("depends_on", {}).get("nodes", [])
        return found

    changed_days = event_tables("model.centra.int_changed_days")
    incremental = [n for n, node in nodes.items() if node["config"].get("materialized") == "incremental"]
    assert len(incremental) >= 8
    missing = {nodes[n]["name"]: sorted(event_tables(n) - changed_days) for n in incremental}
    assert not {model: tables for model, tables in missing.items() if tables}


def test_the_replenishment_view_describes_every_column_the_asset_writes():
    """dbt makes the Python asset's Parquet a view beside the marts, with the columns its source lists (by name:
    a column the asset adds would be left out of the view, and one it drops would fail every build)."""
    from centra_assets.defs.marts.project import DBT_PROJECT
    from centra_assets.defs.marts.replenishment import COLUMNS

    sources = json.loads(DBT_PROJECT.manifest_path.read_text())["sources"]
    table = sources["source.centra.analytics.replenishment_suggestions"]
    assert tuple(table["columns"]) == COLUMNS
    assert all(column["description"].strip() for column in table["columns"].values())
    assert "key" in table["description"]


def test_daily_sales_lineage_writes_no_table_of_every_order_line():
    """int_orders sums the staged order lines (macro order_lines_measured), not int_order_lines' table: a full build of
    daily_sales and what it reads would otherwise write every order line (1.7M on 1M orders, about a third of that
    build in make bench) only to read a few of its columns back. The lines' measures are shared by one macro, and the
    units returned per line are read from one small table by both (int_order_line_returns)."""
    from centra_assets.defs.marts.project import DBT_PROJECT

    nodes = json.loads(DBT_PROJECT.manifest_path.read_text())["nodes"]
    upstream, queue = set(), ["model.centra.daily_sales"]
    while queue:
        for parent in nodes.get(queue.pop(), {}).get("depends_on", {}).get("nodes", []):
            if parent not in upstream:
                upstream.add(parent)
                queue.append(parent)
    assert "model.centra.int_orders" in upstream and "model.centra.int_order_line_returns" in upstream
    assert "model.centra.int_order_lines" not in upstream
    for model in ("int_orders", "int_order_lines"):
        assert "macro.centra.order_lines_measured" in nodes[f"model.centra.{model}"]["depends_on"]["macros"]
