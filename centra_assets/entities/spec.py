"""The declarative spec of a Centra data type: its tables, its partition rule, its refresh key.

A spec names a root list field taking ``where/sort/limit/page``. Each of its tables says where its rows come
from (the record itself, or a list inside it), which columns to take (paths into the record), and its key.
The query is built from those paths (``query.py``, which reads specs; a spec knows nothing of queries), so each
column's Centra field is written once; flattening is generic.

A path is dotted segments: a field (``grandTotal``), a field with arguments (``lines(includeFullyCancelled:
true)``), or a type condition (``on DirectToConsumerOrder``, a field only some types of an interface have).
``^`` in front reads the parent record from a child table's row; ``@index`` is the row's 1-based place in its
list (a key where Centra gives list items no id). A child table's rows may sit in a list inside a list
(``attributes.elements``: one row per element of each attribute); a ``^`` path through an outer list of the
rows' path reads the item the row belongs to (``^attributes.type.name``: the row's attribute's type). A column
may name alternative paths, for fields that different Centra versions name differently: the first one the
store's schema has is used.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import cache, cached_property
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

from centra_assets.centra.schema import segments

QUERIES = Path(__file__).resolve().parent.parent / "centra" / "queries"
TIMESTAMP = pa.timestamp("us", tz="UTC")


@cache
def read_query(name: str) -> str:
    """A `.graphql` document of centra/queries, read once (sync runs ask for it on every page)."""
    return (QUERIES / name).read_text()


def to_utc(value: str | None, tz: dt.tzinfo = dt.UTC) -> dt.datetime | None:
    """Centra renders `Y-m-d\\TH:i:sP` (or `...O`) in the store's timezone; the warehouse keeps UTC.

    A date without an offset (a `format` without `P` or `O`) is a wall-clock time in the store's timezone `tz`.
    Where the clock changes, a wall-clock time can be ambiguous; it is read by one fixed rule, Python's `fold=0`
    (PEP 495): a time the clock shows twice (the hour repeated when summer time ends) is the first of the two,
    and a time it skips (the hour lost when summer time begins) is read with the offset before the change, so
    02:30 on that day is 03:30 summer time. A value that is not a date raises ValueError (or TypeError).
    """
    if value is None:
        return None
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)  # fold=0, as above
    return parsed.astimezone(dt.UTC)


INDEX = "@index"


@dataclass(frozen=True)
class Column:
    name: str
    path: str  # path in the row's source record, e.g. "grandTotal.value"; "^x" reads the parent record
    type: pa.DataType = field(default_factory=pa.string)
    parse: Callable[[Any, dt.tzinfo], Any] | None = None  # reads Centra's value, given the store's timezone
    alternatives: tuple[str, ...] = ()  # other names of the same field in other Centra versions, in order
    doc: str = ""  # what the column means, in words; empty: described by its Centra field (Table.describe)

    @property
    def paths(self) -> tuple[str, ...]:
        return (self.path, *self.alternatives)


def col(name: str, path: str | None = None, type_: pa.DataType | None = None, alt: tuple[str, ...] = ()) -> Column:
    """A column; its Arrow type picks how Centra's value is read."""
    type_ = type_ or pa.string()
    return Column(name, path or name, type_, to_utc if type_ == TIMESTAMP else None, alt)


def ts(name: str, path: str, alt: tuple[str, ...] = ()) -> Column:
    return col(name, path, TIMESTAMP, alt)


def i64(name: str, path: str, alt: tuple[str, ...] = ()) -> Column:
    return col(name, path, pa.int64(), alt)


def f64(name: str, path: str, alt: tuple[str, ...] = ()) -> Column:
    return col(name, path, pa.float64(), alt)


def boolean(name: str, path: str, alt: tuple[str, ...] = ()) -> Column:
    return col(name, path, pa.bool_(), alt)


def money(name: str, path: str, with_currency: bool = True) -> list[Column]:
    """A MonetaryValue as value, plus its currency code and conversion rate (to the base currency)."""
    cols = [f64(name, f"{path}.value")]
    if with_currency:
        cols += [
            col(f"{name}_currency", f"{path}.currency.code"),
            f64(f"{name}_conversion_rate", f"{path}.conversionRate"),
        ]
    return cols


def attributes_table(name: str, parent: Column) -> Table:
    """Custom attributes as a long table: a row per element of each attribute (docs/centra-facts.md §11.4), keyed by the
    attribute's type and the element's key; a text element has a `value`, a choice element its selected value
    and that value's name."""
    return Table(
        name,
        key=(parent.name, "attribute_type", "element_key"),
        rows_at="attributes.elements",
        parent_key=parent.name,
        columns=(
            parent,
            col("attribute_type", "^attributes.type.name"),
            col("element_key", "key"),
            col("element_kind", "kind"),
            col("value", "on AttributeStringElement.value"),
            col("selected_value", "on AttributeChoiceElement.selectedValue"),
            col("selected_value_name", "on AttributeChoiceElement.selectedValueName"),
        ),
    )


MEDIA_URL = 'source(sizeName: "standard").url'  # a media's URL in Centra's standard size (not the file)


def response_key(segment: str) -> str | None:
    """The key a segment has in Centra's answer: its alias, else its field's name; None for a type condition."""
    return None if segment.startswith("on ") else segment.split("(", 1)[0].split(":", 1)[0].strip()


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

    def describe(self, column: Column, root: str) -> str:
        """The column's description wherever it is shown (the raw asset's column schema in Dagster, the dbt
        source): its own words, else the Centra field it reads, from the query's root list field `root`, so a
        reader can look the field up in Centra's schema (and the names it has in other Centra versions)."""
        if column.doc:
            return column.doc
        if column.path == INDEX:
            return f"The row's 1-based place in `{self.rows_at}` of its `{root}` record (Centra gives no id)"
        others = [f"`{root}.{self.record_path(p)}`" for p in column.alternatives]
        also = f" (in other Centra versions {', '.join(others)})" if others else ""
        return f"Centra `{root}.{self.record_path(column.path)}`{also}"

    def record_path(self, path: str) -> str | None:
        """A column path from the record's root (what the query selects); None for `@index`."""
        if path == INDEX:
            return None
        if path.startswith("^") or self.rows_at is None:
            return path.removeprefix("^")
        return f"{self.rows_at}.{path}"


AUDIT_FIELDS = (pa.field("_store", pa.string()), pa.field("_source", pa.string()), pa.field("_loaded_at", TIMESTAMP))
AUDIT_DOCS = {  # the audit columns every raw table carries, described where the spec's columns are
    "_store": "The store the row was synced from (its name in the stores file)",
    "_source": "The Centra API host the row was read from",
    "_loaded_at": "When the pipeline wrote the row (UTC)",
}


@dataclass(frozen=True)
class EntitySpec:
    name: str
    group: str
    description: str
    root: str  # the query's root list field
    filter_type: str  # the input type of the root's `where` argument
    tables: tuple[Table, ...]
    partition: Literal["event", "snapshot"]
    date_field: str | None = None  # event data: the filter field whose day is the partition (createdAt)
    refresh_field: str | None = None  # the filter that selects records by key for a targeted refresh
    refresh_type: type = int
    count_document: str | None = None  # a query answering {totalCount} for the same `where`, if Centra has one
    webhook_type: str | None = None  # the `type` Centra's webhooks use for this data type (order, shipment, ...)
    event_object: str | None = None  # its EventObjectType in Centra's event queue (Order, Shipment, ...)
    # How changes after the creation day reach the partition (event data), besides webhooks and the event queue:
    # the sweep asks for records whose `sweep_field` (updatedAt) moved; where Centra's filter has none, it asks
    # for new records by the date field, and reads again the records whose `settled` field (Centra field,
    # final values) says they may still change.
    sweep_field: str | None = None
    settled: tuple[str, tuple[str, ...]] | None = None
    # Records created up to this many days before the store's start date that the start date's partition holds too:
    # they may still be open or still change after it (a purchase order not yet delivered), and the synced days'
    # figures depend on them. A window of creation days, not a status filter: a record that closes later stays in
    # the window, so a re-sync of the start date keeps what a refresh of it keeps (docs/architecture.md).
    reach_before_start: int = 0
    sort: str = "id_ASC"  # a stable order, so pages never overlap
    page_size: int = 200
    concurrency: int | None = None  # pages in flight; None: the resource's default. 1 for budget-heavy queries
    nested_limits: tuple[tuple[str, int], ...] = ()  # (list field, its limit in the query): a full one may be cut

    @cached_property
    def changes(self) -> EntitySpec | None:
        """The light data type the sensors and the sweep locate changed records with: the first table's key,
        creation time, last change (`sweep_field`) and state (`settled`) columns only, each with its alternative
        names. Its query is fitted to a store by the same `query.plan` as the full one: a column the store lacks
        is left out (the sweep then falls back, see `defs/realtime/sweep.py`), a key or date it lacks fails clearly."""
        if self.partition != "event" or not self.refresh_field:
            return None
        first = self.tables[0]
        roles = (self.refresh_field, self.date_field, self.sweep_field, self.settled[0] if self.settled else None)
        columns = tuple(next(c for c in first.columns if c.path == path) for path in dict.fromkeys(roles) if path)
        return replace(
            self,
            name=f"{self.name}_changes",
            tables=(Table(first.name, (columns[0].name,), columns),),
            count_document=None,
            nested_limits=(),
        )

    def column_of(self, path: str | None) -> str | None:
        """The first table's column that reads the record field `path` (None: no such column)."""
        return next((c.name for c in self.tables[0].columns if c.path == path), None) if path else None

    @property
    def count_query(self) -> str | None:
        return read_query(self.count_document) if self.count_document else None


def event(**kw) -> EntitySpec:
    """Event data: partitioned by the day the record was created, refreshed by id, unless the spec says otherwise."""
    return EntitySpec(**{"partition": "event", "date_field": "createdAt", "refresh_field": "id", **kw})


def snapshot(**kw) -> EntitySpec:
    """State: partitioned by the day the snapshot was taken (only today can be fetched)."""
    return EntitySpec(partition="snapshot", **kw)


def listing(name: str, group: str, description: str, root: str, filter_type: str, *tables: Table) -> EntitySpec:
    """A snapshot of a plain list (catalogue and reference data), in one line."""
    return snapshot(name=name, group=group, description=description, root=root, filter_type=filter_type, tables=tables)


def get(record: Any, path: str) -> Any:
    for segment in segments(path):
        key = response_key(segment)
        if key is None:  # a type condition: its fields sit on the record itself
            continue
        if record is None:
            return None
        record = record.get(key) if isinstance(record, dict) else None
    return record


class TruncatedListError(ValueError):
    """A nested list came back as long as the query's limit allows: rows may be missing."""


def check_nested_limits(spec: EntitySpec, records: Iterable[dict]) -> None:
    for path, limit in spec.nested_limits:
        for record in records:
            if len(get(record, path) or []) >= limit:
                raise TruncatedListError(
                    f"{spec.name}: `{path}` of record {record.get('id')} has {limit} entries, the limit its spec "
                    "asks for; raise that limit so no rows are cut off"
                )


def _expand(record: dict, rows_at: str) -> list[tuple[Any, int, dict[int, Any]]]:
    """The items at `rows_at`, every list on the way expanded: (item, its 1-based place in its list, the item of
    each outer list it belongs to, by how many segments of `rows_at` lead to that list)."""
    frontier: list[tuple[Any, int, dict[int, Any]]] = [(record, 1, {})]
    parts = segments(rows_at)
    for depth, segment in enumerate(parts, 1):
        key = response_key(segment)
        if key is None:  # a type condition: its fields sit on the record itself
            continue
        found = []
        for value, index, outer in frontier:
            inner = value.get(key) if isinstance(value, dict) else None
            if isinstance(inner, list):
                found += [(item, i, {**outer, depth: item}) for i, item in enumerate(inner, 1) if item is not None]
            elif inner is not None:
                found.append((inner, index, outer))
        frontier = found
    return frontier


def _read_outer(record: dict, path: str, rows_at: str | None, outer: dict[int, Any]) -> Any:
    """A `^` path: from the deepest outer list item of the row it passes through, else from the record."""
    parts, along = segments(path), segments(rows_at or "")
    for depth in sorted(outer, reverse=True):
        if depth < len(along) and parts[:depth] == along[:depth]:
            return get(outer[depth], ".".join(parts[depth:]))
    return get(record, path)


def flatten(
    table: Table, records: Iterable[dict], paths: dict[str, str | None] | None = None, *, tz: dt.tzinfo = dt.UTC
) -> list[dict]:
    """Rows of `table` from API records; unknown extra fields are ignored, unknown enum values stay text.

    `paths` (column -> path) says which of a column's paths the query selected, None for a column the store's
    schema lacks (written as NULL); by default every column's first path. `tz` is the store's timezone, for
    dates Centra renders without an offset (`to_utc`). A value its column cannot read (an empty date) is kept as
    Centra sent it, so writing it fails (`to_arrow`) naming the table, column and record: nothing is changed
    quietly.
    """
    chosen = [(c, c.path if paths is None else paths[c.name]) for c in table.columns]
    if all(path is None for _, path in chosen):
        return []  # the store lacks the list the table's rows come from
    rows = []
    for record in records:
        sources = [(record, 1, {})] if table.rows_at is None else _expand(record, table.rows_at)
        for source, index, outer in sources:
            row = {}
            for c, path in chosen:
                if path is None:
                    value = None
                elif path == INDEX:
                    value = index
                elif path.startswith("^"):
                    value = _read_outer(record, path[1:], table.rows_at, outer)
                else:
                    value = get(source, path)
                if c.parse and value is not None:
                    try:
                        value = c.parse(value, tz)
                    except (TypeError, ValueError):
                        pass  # kept as sent: to_arrow refuses it with the table, column and record
                row[c.name] = value
            rows.append(row)
    return rows
