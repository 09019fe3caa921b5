"""The executable schema: the SDL file, scalar parsing, resolvers and permission guards in one place."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from graphql import (
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    StringValueNode,
    build_schema,
    get_named_type,
)

from . import permissions
from .events import EVENT_RESOLVERS
from .resolvers import DEFAULT_DATE_FORMAT, FIELD_RESOLVERS, ROOT_QUERIES, date_resolver

SDL_PATH = Path(__file__).with_name("schema.graphql")


def parse_datetime(value: str, tz: dt.tzinfo) -> float:
    """DateTimeTz input: ISO 8601 or "YYYY-MM-DD HH:MM:SS"; without an offset, the store's timezone."""
    if not isinstance(value, str):
        raise GraphQLError(f"DateTimeTz must be a string, got {value!r}")
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise GraphQLError(f"Invalid DateTimeTz: {value!r}") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)).timestamp()


@cache
def load_schema(tz_name: str = "Europe/Stockholm"):
    """Build the schema and the resolver registry ("Type.field" -> resolver(obj, args, ctx))."""
    schema = build_schema(SDL_PATH.read_text())
    tz = ZoneInfo(tz_name)
    scalar = schema.type_map["DateTimeTz"]
    scalar.parse_value = lambda v: parse_datetime(v, tz)
    scalar.parse_literal = lambda node, _vars=None: parse_datetime(
        node.value if isinstance(node, StringValueNode) else None, tz
    )
    resolvers: dict[str, Callable] = {f"Query.{k}": v for k, v in ROOT_QUERIES.items()}
    resolvers.update(EVENT_RESOLVERS)
    for key, fn in FIELD_RESOLVERS.items():
        type_name, field = key.split(".")
        target = schema.type_map[type_name]
        names = (
            [type_name]
            if isinstance(target, GraphQLObjectType)
            else [t.name for t in schema.get_possible_types(target)]
        )
        for name in names:
            resolvers.setdefault(f"{name}.{field}", fn)
    for type_ in schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__"):
            continue
        for name, field in type_.fields.items():
            key = f"{type_.name}.{name}"
            if get_named_type(field.type).name == "DateTimeTz" and key not in resolvers:
                fmt = field.args["format"].default_value if "format" in field.args else None
                resolvers[key] = date_resolver(name, fmt or DEFAULT_DATE_FORMAT)
            needed = permissions.required(schema, type_.name, name)
            if needed:
                resolvers[key] = _guard(needed, name, resolvers.get(key))
    return schema, resolvers


def _guard(needed: tuple[str, ...], field_name: str, inner: Callable | None) -> Callable:
    def guarded(obj, args, ctx):
        for perm in needed:
            if perm not in ctx.granted:
                raise permissions.denied(perm, field_name)
        return inner(obj, args, ctx) if inner is not None else obj.get(field_name)

    return guarded


def reference_schema(schema: GraphQLSchema, resolvers: dict[str, Callable]) -> GraphQLSchema:
    """The same schema wired for graphql-core's own ``execute``: introspection and the executor tests."""
    for key, fn in resolvers.items():
        type_name, field = key.split(".")
        schema.type_map[type_name].fields[field].resolve = lambda obj, info, _fn=fn, **args: _fn(
            obj, args, info.context
        )
    for type_ in schema.type_map.values():
        if isinstance(type_, GraphQLInterfaceType) or type_.__class__.__name__ == "GraphQLUnionType":
            type_.resolve_type = lambda obj, _info, _t: obj["__typename"]
    return schema
