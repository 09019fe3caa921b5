"""A data type's query, built from its spec and fitted to what the store's schema has.

Every column names its Centra field once, in the spec; the query selects exactly those fields. Against a
store, each column takes the first of its paths the store's schema has. A column whose field the store lacks
is left out of the query and written as NULL (the run says so), unless the data type cannot do without it
(a table's key, the partition date, the refresh filter): then the run fails at once, naming the field.

``centra-assets queries [data type ...]`` prints the queries a store with the documented schema is sent.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field

from graphql import parse, print_ast

from centra_assets.centra.client import CentraClient
from centra_assets.centra.errors import CentraQueryError, CentraSchemaError
from centra_assets.centra.schema import StoreSchema, document_hash, lacking_from_errors, normalize, segments

from .spec import EntitySpec

MAX_LEARNING_ROUNDS = 25  # each round drops at least one field the store named; a spec has fewer optional ones


@dataclass(frozen=True)
class Missing:
    table: str
    column: str
    fields: tuple[str, ...]  # the paths tried, in order
    why: str = ""  # what the store's schema lacks (`Type.field`), when known


@dataclass(frozen=True)
class QueryPlan:
    spec: EntitySpec
    document: str
    paths: dict[str, dict[str, str | None]]  # table -> column -> the path selected (None: the store lacks it)
    missing: tuple[Missing, ...] = ()
    alternatives: dict[str, str] = field(default_factory=dict)  # "table.column" -> an alternative path used
    app_version: str | None = None


def build_document(spec: EntitySpec, record_paths: list[str]) -> str:
    """The query selecting `record_paths` (from the record's root) of `spec.root`, printed for reading."""
    tree: dict = {}
    for path in record_paths:
        node = tree
        for segment in segments(path):
            node = node.setdefault(segment, {})

    def render(node: dict) -> str:
        parts = []
        for segment, children in node.items():
            head = f"... {segment}" if segment.startswith("on ") else segment
            parts.append(f"{head} {{ {render(children)} }}" if children else head)
        return " ".join(parts)

    name = "".join(p.title() for p in spec.name.split("_"))
    text = (
        f"query {name}($where: {spec.filter_type}, $limit: Int!, $page: Int!) {{ "
        f"{spec.root}(where: $where, sort: [{spec.sort}], limit: $limit, page: $page) {{ {render(tree)} }} }}"
    )
    return print_ast(parse(text))


def plan(spec: EntitySpec, schema: StoreSchema | None = None) -> QueryPlan:
    """Each column's path on this store, and the query that selects them. No schema: every first choice."""

    def verdict(record_path: str) -> bool | None:
        return None if schema is None else schema.has(spec.root, record_path)

    paths: dict[str, dict[str, str | None]] = {}
    missing: list[Missing] = []
    alternatives: dict[str, str] = {}
    selected: list[str] = [spec.date_field] if spec.partition == "event" and spec.date_field else []
    version = schema.app_version if schema else None
    if spec.date_field and verdict(spec.date_field) is False:
        _cannot_do_without(spec, spec.date_field, "its partition date", schema)
    for filter_field, role in (
        (spec.date_field, "its partition date filter"),
        (spec.refresh_field, "its refresh filter"),
    ):
        if filter_field and schema is not None and schema.input_has(spec.filter_type, filter_field) is False:
            _cannot_do_without(spec, f"{spec.filter_type}.{filter_field}", role, schema, input_field=True)
    for table in spec.tables:
        chosen: dict[str, str | None] = {}
        if table.rows_at and verdict(table.rows_at) is False:
            # the list holding the table's rows is missing: the table is written empty, the data type runs on
            why = (schema.describe_missing(spec.root, table.rows_at) or "") if schema else ""
            for column in table.columns:
                chosen[column.name] = None
                missing.append(Missing(table.name, column.name, column.paths, why))
            paths[table.name] = chosen
            continue
        for column in table.columns:
            chosen[column.name] = None
            for path in column.paths:
                record_path = table.record_path(path)
                if record_path is None or verdict(record_path) is not False:
                    chosen[column.name] = path
                    if path != column.path:
                        alternatives[f"{table.name}.{column.name}"] = path
                    if record_path is not None:
                        selected.append(record_path)
                    break
            if chosen[column.name] is None:
                why = ", ".join(
                    filter(None, (schema.describe_missing(spec.root, table.record_path(p)) for p in column.paths))
                    if schema
                    else ()
                )
                if column.name in table.key:
                    _cannot_do_without(spec, table.record_path(column.path), f"the key of table {table.name}", schema)
                missing.append(Missing(table.name, column.name, column.paths, why))
        paths[table.name] = chosen
    return QueryPlan(spec, build_document(spec, selected), paths, tuple(missing), alternatives, version)


def _cannot_do_without(spec: EntitySpec, path: str, role: str, schema: StoreSchema | None, input_field=False):
    version = schema.app_version if schema else "unknown"
    lacks = f"the input field `{path}`" if input_field else f"`{spec.root}.{path}`"
    if schema is not None and not input_field:
        step = schema.describe_missing(spec.root, path)
        lacks = (
            f"root query `{spec.root}`"
            if step == f"Query.{spec.root}"
            else f"{lacks} ({step or 'named in its errors'})"
        )
    raise CentraSchemaError(
        f"{spec.name} cannot be synced from this store: its Centra schema (appVersion {version}) has no {lacks}, "
        f"which is {role}. The store may run a Centra version this project does not know yet: run "
        "`centra-assets check` to list what the store lacks, and open an issue with its output (and the store's "
        "Centra version), so the spec can name the field this version uses."
    )


_PLANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def plan_for(client: CentraClient, spec: EntitySpec) -> QueryPlan:
    """The plan of `spec` on the client's store, once per client (a run). Where the store refused
    introspection, the plan is tried with one small request, and each field the store's validation errors name
    is dropped, until the store accepts it; what was learnt is cached for the store's Centra version."""
    plans = _PLANS.setdefault(client, {})
    if spec.name in plans:
        return plans[spec.name]
    schema = client.store_schema()
    for _ in range(MAX_LEARNING_ROUNDS):
        found = plan(spec, schema)
        if schema.schema is not None or document_hash(found.document) in schema.verified:
            break
        try:
            client.execute(found.document, {"where": _probe_where(spec), "limit": 1, "page": 1})
        except CentraQueryError as exc:
            lacking = lacking_from_errors(found.document, exc.errors)
            if not lacking or lacking <= schema.lacking:
                raise
            schema.learn(lacking)
            client.remember_schema()
            continue
        schema.verified.add(document_hash(found.document))
        client.remember_schema()
        break
    else:
        raise CentraQueryError(f"{spec.name}: the store kept refusing the query after {MAX_LEARNING_ROUNDS} rounds")
    plans[spec.name] = found
    return found


def _probe_where(spec: EntitySpec) -> dict | None:
    """A filter naming the fields a run filters on, matching nothing: the store checks them, returns nothing."""
    if spec.partition != "event" or not spec.date_field:
        return None
    return {spec.date_field: {"from": "2000-01-01T00:00:00+00:00", "to": "2000-01-01T00:00:01+00:00"}}


def default_plan(spec: EntitySpec) -> QueryPlan:
    return plan(spec)


def default_query(spec: EntitySpec) -> str:
    """The query with every column's first-choice field: what a store with the documented schema is sent."""
    return default_plan(spec).document


def locate_query(spec: EntitySpec) -> str | None:
    """The light query (`spec.changes`) as a store with the documented schema is sent it."""
    return default_plan(spec.changes).document if spec.changes else None


def lacking_fields(plan_: QueryPlan) -> list[str]:
    """`table.column (path, ...)` for each column the store lacks: for logs, metadata and `check`."""
    return [
        f"{m.table}.{m.column} ({' or '.join(normalize('', p).lstrip('.') for p in m.fields)}"
        + (f"; lacks {m.why}" if m.why else "")
        + ")"
        for m in plan_.missing
    ]
