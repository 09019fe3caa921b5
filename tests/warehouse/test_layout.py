"""The raw layout (warehouse/layout.py): `<warehouse>/store=<store>/raw/<table>/date=YYYY-MM-DD/data.parquet`, on a
local disk and on object storage alike."""

from __future__ import annotations

import datetime as dt

from centra_assets.warehouse import layout


def test_a_tables_day_lands_in_hive_style_folders_under_its_store():
    root = layout.store_root("/data/warehouse", "nordic")
    assert root == "/data/warehouse/store=nordic"
    assert layout.partition_path(root, "orders", dt.date(2026, 11, 17)) == (
        "/data/warehouse/store=nordic/raw/orders/date=2026-11-17/data.parquet"
    )


def test_the_same_layout_holds_on_object_storage():
    root = layout.store_root("s3://bucket/prefix", "us")
    assert layout.partition_path(root, "order_lines", "2026-01-02") == (
        "s3://bucket/prefix/store=us/raw/order_lines/date=2026-01-02/data.parquet"
    )


def test_raw_files_is_the_glob_of_every_day_and_store_that_dbt_reads():
    assert layout.raw_files("/w", "orders") == "/w/store=*/raw/orders/date=*/data.parquet"
    assert layout.raw_files("/w", "orders", "nordic") == "/w/store=nordic/raw/orders/date=*/data.parquet"
