"""Which views a marts build need not create again (defs/marts/dbt.py kept_views): a view stores no rows, so new raw
data changes what it shows without a build; one is created again only when it is missing from the warehouse the
build starts from, or when what its stored query is made of changed (view_definitions: its SQL, a macro it calls,
its raw table's description and whether that has files yet, the vars)."""

from __future__ import annotations

from pathlib import Path

import pytest

from centra_assets.defs.marts.dbt import dbt_manifest, kept_views, view_definitions
from centra_assets.settings import Settings
from centra_assets.warehouse import layout

ORDERS, DAILY_SALES = "model.centra.stg_centra__orders", "model.centra.daily_sales"
IN_WAREHOUSE = {"stg_centra__orders", "daily_sales"}


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(warehouse_dir=str(tmp_path / "warehouse"), timezone="Europe/Stockholm")


def kept(settings: Settings, recorded: dict, existing: set[str] | None = IN_WAREHOUSE) -> set[str]:
    """kept_views of the orders' staging view and daily_sales, with their definitions as they are now."""
    return kept_views([ORDERS, DAILY_SALES], existing, recorded, view_definitions(settings, [ORDERS, DAILY_SALES]))


def test_a_view_in_the_warehouse_as_it_is_defined_now_is_kept_and_a_table_never(settings):
    recorded = view_definitions(settings, [ORDERS, DAILY_SALES])
    assert kept(settings, recorded) == {ORDERS}


def test_a_view_missing_from_the_warehouse_or_never_recorded_is_created_again(settings):
    recorded = view_definitions(settings, [ORDERS])
    assert kept(settings, recorded, {"daily_sales"}) == set()
    assert kept(settings, recorded, None) == set()  # a shared warehouse: not looked up
    assert kept(settings, {ORDERS: None}) == set()


def test_a_view_whose_sql_macros_or_vars_changed_is_created_again(settings, tmp_path, monkeypatch):
    recorded = view_definitions(settings, [ORDERS])
    # the raw Parquet moved: the view's query reads another place
    moved = Settings(warehouse_dir=str(tmp_path / "elsewhere"), timezone="Europe/Stockholm")
    assert kept(moved, recorded) == set()
    # an upgrade changed the staging macro, not the view's own SQL (dagster-dbt's code version stays the same)
    staging = dbt_manifest()["macros"]["macro.centra.centra_staging"]
    assert "macro.centra.centra_staging" in dbt_manifest()["nodes"][ORDERS]["depends_on"]["macros"]
    monkeypatch.setitem(staging, "macro_sql", staging["macro_sql"] + "\n-- a new column")
    assert kept(settings, recorded) == set()


def test_a_view_is_created_again_when_the_first_files_of_its_raw_table_land(settings):
    """Before them the staging macro stands an empty, typed select in for the table (the warehouses' first snapshot
    in test_incremental.py: every allocation gains its warehouse's name)."""
    recorded = view_definitions(settings, [ORDERS])
    first = Path(layout.partition_path(layout.store_root(settings.warehouse_dir, "default"), "orders", "2026-12-01"))
    first.parent.mkdir(parents=True)
    first.write_bytes(b"")
    assert kept(settings, recorded) == set()
