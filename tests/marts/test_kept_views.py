"""Which views a marts build need not create again (defs/marts/dbt.py kept_views): a view stores no rows, so new raw
data changes what it shows without a build; one is created again only when it is missing from the warehouse the
build starts from, or when what its stored query is made of changed (its SQL, a macro it calls, the vars)."""

from __future__ import annotations

from pathlib import Path

import pytest

from centra_assets.defs.marts.dbt import dbt_manifest, kept_views, view_definition
from centra_assets.settings import Settings
from centra_assets.warehouse import layout

ORDERS, DAILY_SALES = "model.centra.stg_centra__orders", "model.centra.daily_sales"
IN_WAREHOUSE = {"stg_centra__orders", "daily_sales"}


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(warehouse_dir=str(tmp_path / "warehouse"), timezone="Europe/Stockholm")


def test_a_view_in_the_warehouse_as_it_is_defined_now_is_kept_and_a_table_never(settings):
    node = dbt_manifest()["nodes"][ORDERS]
    recorded = {ORDERS: view_definition(settings, node), DAILY_SALES: view_definition(settings, node)}
    assert kept_views(settings, [ORDERS, DAILY_SALES], IN_WAREHOUSE, recorded) == {ORDERS}


def test_a_view_missing_from_the_warehouse_or_never_recorded_is_created_again(settings):
    recorded = {ORDERS: view_definition(settings, dbt_manifest()["nodes"][ORDERS])}
    assert kept_views(settings, [ORDERS], {"daily_sales"}, recorded) == set()
    assert kept_views(settings, [ORDERS], None, recorded) == set()  # a shared warehouse: not looked up
    assert kept_views(settings, [ORDERS], IN_WAREHOUSE, {ORDERS: None}) == set()


def test_a_view_whose_sql_macros_or_vars_changed_is_created_again(settings, tmp_path, monkeypatch):
    node = dbt_manifest()["nodes"][ORDERS]
    recorded = {ORDERS: view_definition(settings, node)}
    # the raw Parquet moved: the view's query reads another place
    moved = Settings(warehouse_dir=str(tmp_path / "elsewhere"), timezone="Europe/Stockholm")
    assert kept_views(moved, [ORDERS], IN_WAREHOUSE, recorded) == set()
    # an upgrade changed the staging macro, not the view's own SQL (dagster-dbt's code version stays the same)
    staging = dbt_manifest()["macros"]["macro.centra.centra_staging"]
    assert "macro.centra.centra_staging" in node["depends_on"]["macros"]
    monkeypatch.setitem(staging, "macro_sql", staging["macro_sql"] + "\n-- a new column")
    assert kept_views(settings, [ORDERS], IN_WAREHOUSE, recorded) == set()


def test_a_view_is_created_again_when_the_first_files_of_its_raw_table_land(settings):
    """Before them the staging macro stands an empty, typed select in for the table (the warehouses' first snapshot
    in test_incremental.py: every allocation gains its warehouse's name)."""
    recorded = {ORDERS: view_definition(settings, dbt_manifest()["nodes"][ORDERS])}
    first = Path(layout.partition_path(layout.store_root(settings.warehouse_dir, "default"), "orders", "2026-12-01"))
    first.parent.mkdir(parents=True)
    first.write_bytes(b"")
    assert kept_views(settings, [ORDERS], IN_WAREHOUSE, recorded) == set()
