"""The raw layout: where a store's table of one day lands, written once.

``<warehouse>/store=<store>/raw/<table>/date=YYYY-MM-DD/data.parquet``: hive-style folders, so DuckDB and dbt
read ``store`` and ``date`` from the path. dbt reads the same files through the macro `centra_raw_files`
(dbt_models/macros/centra_raw_files.sql), which follows `raw_files` below; tests/marts/test_dbt_project.py
fails if the two disagree.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from .files import join

if TYPE_CHECKING:
    from centra_assets.settings import Store

FILE_NAME = "data.parquet"


def store_root(warehouse: str, store: str | Store) -> str:
    """Where a store's raw data lives: ``<warehouse>/store=<name>``."""
    return join(warehouse, f"store={getattr(store, 'name', store)}")


def raw_root(root: str | Path) -> str:
    """A store's raw data under its root: ``<root>/raw``."""
    return join(str(root), "raw")


def table_root(root: str | Path, table: str) -> str:
    """A raw table's folder under a store's root: ``<root>/raw/<table>``."""
    return join(raw_root(root), table)


def partition_path(root: str | Path, table: str, day: dt.date | str) -> str:
    """A raw table's file of one day under a store's root (`day` may be ``*``: every day)."""
    return join(table_root(root, table), f"date={day}", FILE_NAME)


def raw_files(warehouse: str, table: str = "*", store: str = "*") -> str:
    """The glob of a raw table's files of every day and store (what dbt's `centra_raw_files(table)` gives)."""
    return partition_path(store_root(warehouse, store), table, "*")
