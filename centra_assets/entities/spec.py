"""The declarative spec of a Centra data type: its query, its tables, its partition rule, its refresh key.

A spec names a `.graphql` document (in ``centra/queries``) whose root field is a list taking
``where/limit/page``. Each of its tables says where its rows come from (the record itself, or a list
inside it), which columns to take (dotted paths into the record), and its key. Flattening is generic.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

QUERIES = Path(__file__).resolve().parent.parent / "centra" / "queries"
TIMESTAMP = pa.timestamp("us", tz="UTC")


@cache
def read_query(name: str) -> str:
    """A `.graphql` document of centra/queries, read once (sync runs ask for it on every page)."""
    return (QUERIES / name).read_text()


def to_utc(value: str | None) -> dt.datetime | None:
    """Centra renders `Y-m-d\\TH:i:sP` (or `...O`) in the store's timezone; the warehouse keeps UTC."""
    if value is None:
        return None
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:  # never seen from Centra; treated as UTC rather than guessed
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


@dataclass(frozen=True)
class Column:
    name: str
    path: str  # dotted path in the row's source record, e.g. "grandTotal.value"; "^x" reads the parent record
    type: pa.DataType = field(default_factory=pa.string)
    parse: Callable[[Any], Any] | None = None


def col(name: str, path: str | None = None, type_: pa.DataType | None = None) -> Column:
    """A column; its Arrow type picks how Centra's value is read."""
    type_ = type_ or pa.string()
    return Column(name, path or name, type_, to_utc if type_ == TIMESTAMP else None)


def ts(name: str, path: str) -> Column:
    return col(name, path, TIMESTAMP)


def i64(name: str, path: str) -> Column:
    return col(name, path, pa.int64())


def f64(name: str, path: str) -> Column:
    return col(name, path, pa.float64())


def boolean(name: str, path: str) -> Column:
    return col(name, path, pa.bool_())


def money(name: str, path: str, with_currency: bool = True) -> list[Column]:
    """A MonetaryValue as value, plus its currency code and conversion rate (to the base currency)."""
    cols = [f64(name, f"{path}.value")]
    if with_currency:
        cols += [
            col(f"{name}_currency", f"{path}.currency.code"),
            f64(f"{name}_conversion_rate", f"{path}.conversionRate"),
        ]
    return cols


@dataclass(frozen=True)
class Table:
    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    rows_at: str | None = None  # None: one row per record; else the record's list field holding the rows
    parent_key: str | None = None  # for child tables: the key column that links them to the record

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.type) for c in self.columns] + list(AUDIT_FIELDS))


AUDIT_FIELDS = (pa.field("_store", pa.string()), pa.field("_source", pa.string()), pa.field("_loaded_at", TIMESTAMP))


@dataclass(frozen=True)
class EntitySpec:
    name: str
    group: str
    description: str
    document: str  # file name in centra/queries
    root: str  # the query's root list field
    tables: tuple[Table, ...]
    partition: Literal["event", "snapshot"]
    date_field: str | None = None  # event data: the filter field whose day is the partition (createdAt)
    refresh_field: str | None = None  # the filter that selects records by key for a targeted refresh
    refresh_type: type = int
    count_document: str | None = None  # a query answering {totalCount} for the same `where`, if Centra has one
    locate_document: str | None = None  # a light query answering {key createdAt}: which partition a record is in
    webhook_type: str | None = None  # the `type` Centra's webhooks use for this data type (order, shipment, ...)
    sweep_field: str | None = None  # filter for "changed since" (updatedAt); None where Centra has none
    page_size: int = 200
    concurrency: int | None = None  # pages in flight; None: the resource's default. 1 for budget-heavy queries
    nested_limits: tuple[tuple[str, int], ...] = ()  # (list field, its limit in the query): a full one may be cut

    @property
    def query(self) -> str:
        return read_query(self.document)

    @property
    def locate_query(self) -> str | None:
        return read_query(self.locate_document) if self.locate_document else None

    @property
    def count_query(self) -> str | None:
        return read_query(self.count_document) if self.count_document else None


def event(**kw) -> EntitySpec:
    """Event data: partitioned by the day the record was created, refreshed by id, unless the spec says otherwise."""
    return EntitySpec(**{"partition": "event", "date_field": "createdAt", "refresh_field": "id", **kw})


def snapshot(**kw) -> EntitySpec:
    """State: partitioned by the day the snapshot was taken (only today can be fetched)."""
    return EntitySpec(partition="snapshot", **kw)


def listing(name: str, group: str, description: str, document: str, root: str, *tables: Table) -> EntitySpec:
    """A snapshot of a plain list (catalogue and reference data), in one line."""
    return snapshot(name=name, group=group, description=description, document=document, root=root, tables=tables)


def get(record: Any, path: str) -> Any:
    for part in path.split("."):
        if record is None:
            return None
        record = record.get(part) if isinstance(record, dict) else None
    return record


class TruncatedListError(ValueError):
    """A nested list came back as long as the query's limit allows: rows may be missing."""


def check_nested_limits(spec: EntitySpec, records: Iterable[dict]) -> None:
    for path, limit in spec.nested_limits:
        for record in records:
            if len(get(record, path) or []) >= limit:
                raise TruncatedListError(
                    f"{spec.name}: `{path}` of record {record.get('id')} has {limit} entries, the limit in "
                    f"{spec.document}; raise that limit so no rows are cut off"
                )


def flatten(table: Table, records: Iterable[dict]) -> list[dict]:
    """Rows of `table` from API records; unknown extra fields are ignored, unknown enum values stay text."""
    rows = []
    for record in records:
        sources = [record] if table.rows_at is None else (get(record, table.rows_at) or [])
        for source in sources:
            row = {}
            for c in table.columns:
                value = get(record, c.path[1:]) if c.path.startswith("^") else get(source, c.path)
                row[c.name] = c.parse(value) if c.parse and value is not None else value
            rows.append(row)
    return rows
