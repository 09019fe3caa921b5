"""Where data lands: one Parquet file per table and day, written whole or not at all.

Where each partition lives is the raw layout (layout.py); the warehouse is a folder or an object-storage URL
(files.py). A partition is written to a temp file first and published whole (publish.py: a rename on disk, one
upload on object storage), so a reader sees the old partition or the new one, never half of one. Rows stream in
as row groups, so memory stays flat however large a partition is. Every file is sorted by its table's key: a
targeted refresh and a full re-materialization produce the same file.
"""

from __future__ import annotations

import datetime as dt
import errno
import functools
import math
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import repeat
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from centra_assets.shared_state import is_remote

from . import files, publish
from .layout import partition_path

ROW_GROUP_ROWS = 50_000


class SchemaDriftError(ValueError):
    """Centra returned a value that does not fit the column's declared type."""


def partition_exists(root: str | Path, table: str, day: dt.date | str) -> bool:
    return files.exists(partition_path(root, table, day))


def partition_is_current(root: str | Path, table: str, day: dt.date | str, schema: pa.Schema) -> bool:
    """Whether the day's partition exists and holds every column of `schema` as that type: one written by an
    older version, before a column was added or retyped, does not (its rows lack the column's values)."""
    found = files.read_schema(partition_path(root, table, day))
    return found is not None and all(f.name in found.names and found.field(f.name).type == f.type for f in schema)


# What a column accepts, by the exact Python type of the value (JSON gives int, float, str, bool; flatten
# gives datetime for a date it could read). This is the one place the rule is written:
# - an integer column: int, and a float only when it is whole (3.0 is 3: nothing is lost, and JSON does not
#   tell 3.0 from 3); never 2.7, NaN or infinity;
# - a float column: float or int (a whole price may arrive as 100), and only a finite one: NaN, Infinity and a
#   number beyond a double's range (JSON's 1e309 reads as infinity) are no amount of money and no measure;
# - a text column: str (unknown enum values are text and stay text); a boolean column: bool; a timestamp
#   column: datetime (a date flatten could not read, such as "", arrives as text and is refused).
# Nothing crosses between numbers, text, booleans and dates: a bool is not a number, "5" is not 5, 5 is not
# "5". A value that does not fit is refused with SchemaDriftError, never converted.
_NUMBER = frozenset({int, float})
_NONE = type(None)


def _accepted(type_: pa.DataType) -> frozenset[type] | None:
    if pa.types.is_integer(type_) or pa.types.is_floating(type_):
        return _NUMBER
    if pa.types.is_string(type_) or pa.types.is_large_string(type_):
        return frozenset({str})
    if pa.types.is_boolean(type_):
        return frozenset({bool})
    if pa.types.is_timestamp(type_):
        return frozenset({dt.datetime})
    return None  # other types: Arrow's own conversion decides


def _whole(value):
    if type(value) is float:
        if not value.is_integer():
            raise ValueError(f"{value!r} is not a whole number")
        return int(value)
    return value


def _array(values: list, type_: pa.DataType) -> pa.Array:
    """One column of `type_`, checked as a whole (one pass over the values' types, in C) by the rule above."""
    kinds = set(map(type, values)) - {_NONE}
    accepted = _accepted(type_)
    if accepted is not None and not kinds <= accepted:
        raise TypeError(f"a {' or '.join(sorted(k.__name__ for k in kinds - accepted))} is not a {type_}")
    if float in kinds and pa.types.is_integer(type_):  # rare: Centra sends integers as integers
        values = [_whole(v) for v in values]
    array = pa.array(values, type=type_)  # still refuses what is out of range (int64 overflow, 2**53 in a float)
    if float in kinds and pa.types.is_floating(type_) and pc.any(pc.invert(pc.is_finite(array))).as_py():
        raise ValueError("not a finite number")
    return array


_MISFIT = (pa.ArrowException, TypeError, ValueError, OverflowError)


def to_arrow(rows: list[dict], schema: pa.Schema, table: str, key: Sequence[str] = ()) -> pa.Table:
    """Rows as an Arrow table of the declared schema; SchemaDriftError names the first value that does not fit:
    its table, column and record (the row's `key` values)."""
    arrays = []
    for f in schema:
        values = list(map(dict.get, rows, repeat(f.name)))
        try:
            arrays.append(_array(values, f.type))
        except _MISFIT as exc:
            raise _drift(rows, values, f, table, key) from exc
    return pa.Table.from_arrays(arrays, schema=schema)


def _drift(rows: list[dict], values: list, f: pa.Field, table: str, key: Sequence[str]) -> SchemaDriftError:
    """The error naming the first value of a column that does not fit (found value by value: only on failure)."""
    for number, (row, value) in enumerate(zip(rows, values, strict=True), 1):
        try:
            _array([value], f.type)
        except _MISFIT as exc:
            record = ", ".join(f"{k}={row.get(k)!r}" for k in key) or f"row {number}"
            advice = (
                "No amount is NaN or infinite: the record is wrong at Centra; correct it there, then re-sync the day."
                if type(value) is float and not math.isfinite(value)
                else "Has the field changed type? Update the column in the entity spec."
            )
            return SchemaDriftError(
                f"Centra returned {value!r} for {table}.{f.name}, which is declared {f.type} ({exc}), in the record "
                f"{record}; it was refused, not converted. {advice}"
            )
    return SchemaDriftError(f"{table}.{f.name}: Centra's values do not fit {f.type} together")


class DiskFullError(OSError):
    """The disk a partition is written to first has no space left."""


@contextmanager
def _naming_a_full_disk(tmp: Path, target: str) -> Iterator[None]:
    """A full disk said plainly: where, for what, and what to do (a bare OSError names neither the file nor the
    disk). Every other error passes as it is."""
    try:
        yield
    except OSError as exc:
        if exc.errno != errno.ENOSPC and "No space left on device" not in str(exc):
            raise
        where = "the local temp folder (TMPDIR)" if is_remote(target) else "CENTRA_WAREHOUSE_DIR"
        raise DiskFullError(
            errno.ENOSPC,
            f"The disk is full: no space left to write {tmp} (the next version of {target}). Free space on the "
            f"disk of {where} or move it to a larger one, then re-run: the previous partition is still in place.",
        ) from exc


def _sorted(table: pa.Table, key: Sequence[str]) -> pa.Table:
    return table.sort_by([(k, "ascending") for k in key]) if table.num_rows else table


class PartitionWriter:
    """Stream rows into a partition; ``commit()`` publishes it atomically, ``abort()`` leaves the old one."""

    def __init__(self, root: str | Path, table: str, day: dt.date | str, schema: pa.Schema, key: Sequence[str]):
        self.path = partition_path(root, table, day)
        self.table, self.schema, self.key = table, schema, tuple(key)
        self._tmp = publish.staging_file(self.path)
        self._full = functools.partial(_naming_a_full_disk, self._tmp, self.path)
        with self._full():
            self._writer = pq.ParquetWriter(self._tmp, schema, compression="zstd")
        self._batches: list[pa.Table] = []
        self._buffered = 0
        self._last_key: tuple | None = None
        self._in_order = True
        self.rows = 0

    def write(self, rows: Iterable[dict]) -> None:
        """Add rows. Each call becomes a compact Arrow batch at once; row groups are written from batches."""
        rows = list(rows)
        for row in rows:
            k = tuple(row[c] for c in self.key)
            if self._last_key is not None and self._in_order and _lt(k, self._last_key):
                self._in_order = False
            self._last_key = k
        if rows:
            self._batches.append(to_arrow(rows, self.schema, self.table, self.key))
            self._buffered += len(rows)
        if self._buffered >= ROW_GROUP_ROWS:
            self._flush()

    def write_arrow(self, table: pa.Table) -> None:
        """Write an Arrow table that is already sorted by the key."""
        self._flush()
        with self._full():
            self._writer.write_table(table)
        self.rows += table.num_rows

    def _flush(self) -> None:
        if self._batches:
            with self._full():
                self._writer.write_table(pa.concat_tables(self._batches))
            self.rows += self._buffered
            self._batches, self._buffered = [], 0

    def commit(self) -> str:
        self._flush()
        with self._full():
            self._writer.close()
            if not self._in_order:  # rare: the API's order differs from the key's; sort once, still atomically
                pq.write_table(_sorted(pq.read_table(self._tmp), self.key), self._tmp, compression="zstd")
            publish.publish(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        try:
            self._writer.close()
        except OSError:  # a full disk fails the close too: the error that stopped the run has been raised
            pass
        self._tmp.unlink(missing_ok=True)


def _lt(a: tuple, b: tuple) -> bool:
    try:
        return a < b
    except TypeError:  # None in a key: let the final sort decide
        return True


def read_partition(root: str | Path, table: str, day: dt.date | str) -> pa.Table | None:
    return files.read_table(partition_path(root, table, day))


def replace_records(
    root: str | Path,
    table: str,
    day: dt.date | str,
    schema: pa.Schema,
    key: Sequence[str],
    record_key: str,
    record_ids: Iterable,
    rows: list[dict],
    volatile: Sequence[str] = (),
) -> tuple[int, set]:
    """Targeted refresh: in one partition, replace every row of the given records with `rows` (atomically).

    `record_key` is the column naming the record a row belongs to (the order number for orders and their
    lines). Records no longer returned by Centra lose their rows, as a full re-materialization would.
    Returns the partition's rows and the records whose rows changed (added, altered or removed), compared
    without the `volatile` columns (the load time, new on every fetch). When none changed, the partition is
    left as it is, not rewritten: a refresh that found nothing new is not a new version of the day; unless a
    publish cut off midway left it marked (publish.py): published again, with the rest of its group, it is whole.
    """
    ids = pa.array(list(record_ids), type=schema.field(record_key).type)
    existing = read_partition(root, table, day)
    fresh = to_arrow(rows, schema, table, key)
    if existing is None:
        changed = _changed_records(None, fresh, record_key, volatile)
    else:
        existing = existing.select(schema.names).cast(schema)
        listed = pc.is_in(existing[record_key], value_set=ids)
        changed = _changed_records(existing.filter(listed), fresh, record_key, volatile)
        if not changed and not publish.marked(partition_path(root, table, day)):
            return existing.num_rows, changed
        fresh = pa.concat_tables([existing.filter(pc.invert(listed)), fresh])
    merged = _sorted(fresh, key)
    writer = PartitionWriter(root, table, day, schema, key)
    try:
        writer.write_arrow(merged)
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    return merged.num_rows, changed


def _changed_records(old: pa.Table | None, new: pa.Table, record_key: str, volatile: Sequence[str]) -> set:
    """The records whose rows differ between `old` and `new` (either may lack a record), `volatile` columns aside."""

    def by_record(rows: pa.Table | None) -> dict:
        out: dict = {}
        if rows is not None:
            for row in rows.drop_columns([c for c in volatile if c in rows.column_names]).to_pylist():
                out.setdefault(row[record_key], set()).add(tuple(row.items()))
        return out

    before, after = by_record(old), by_record(new)
    return {record for record in before.keys() | after.keys() if before.get(record) != after.get(record)}


def table_files(con: duckdb.DuckDBPyConnection, pattern: str, schema: pa.Schema, key: Sequence[str]):
    """The files matching `pattern` that are the table's, and the others with what is wrong with each:
    ``(sound: list[str], bad: dict[str, str])``, paths as DuckDB names them.

    A file is the table's when DuckDB reads its footer and its columns are the table's: it holds the key, and no
    column the table does not declare (a file written before a column was added lacks it, and is the table's
    still). A truncated file fails every glob that reads it, and a file of another table that holds the key is
    read silently: both are set apart here, by name. One pass over the footers when all are readable (the
    connection keeps them for the query that follows), one per file only when one is not."""
    con.execute("SET parquet_metadata_cache = true")
    listed = [row[0] for row in con.execute("SELECT file FROM glob(?) ORDER BY file", [pattern]).fetchall()]
    bad: dict[str, str] = {}
    try:
        columns = _columns(con, listed)
    except duckdb.Error:
        columns = {}
        for path in listed:
            try:
                columns |= _columns(con, [path])
            except duckdb.Error as exc:
                bad[path] = f"unreadable: {str(exc).splitlines()[0]}"
    declared = set(schema.names)
    for path, names in columns.items():
        missing, foreign = sorted(set(key) - names), sorted(names - declared)
        if missing or foreign:
            bad[path] = "not this table's: " + "; ".join(
                [f"lacks its key {', '.join(missing)}"] * bool(missing)
                + [f"holds columns it does not declare: {', '.join(foreign)}"] * bool(foreign)
            )
    return [p for p in listed if p not in bad], bad


def _columns(con: duckdb.DuckDBPyConnection, paths: list[str]) -> dict[str, set[str]]:
    """Each file's top-level column names, read from its footer."""
    out: dict[str, set[str]] = {p: set() for p in paths}
    if paths:
        rows = con.execute(
            "SELECT file_name, name FROM parquet_schema(?) WHERE num_children IS NULL", [paths]
        ).fetchall()
        for path, name in rows:
            out[path].add(name)
    return out
