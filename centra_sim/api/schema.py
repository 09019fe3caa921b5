"""The executable schema: the SDL file, scalar parsing, resolvers and permission guards in one place."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    StringValueNode,
    build_ast_schema,
    get_named_type,
    parse,
    validate_schema,
)

from ..events import EVENT_RESOLVERS
from . import analyst, documented, permissions
from .resolvers import DEFAULT_DATE_FORMAT, FIELD_RESOLVERS, ROOT_QUERIES, date_resolver
from .variants import DEFAULT, Variant, served_names, transform

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
def _document() -> DocumentNode:
    return parse(SDL_PATH.read_text())


@cache
def default_schema() -> GraphQLSchema:
    """The default schema's types, for checking variant names (no resolvers, no scalar parsing)."""
    return build_ast_schema(_document())


def _hook_scalars(schema: GraphQLSchema, tz: dt.tzinfo, scalar_name: str) -> None:
    scalar = schema.type_map[scalar_name]
    scalar.parse_value = lambda v: parse_datetime(v, tz)
    scalar.parse_literal = lambda node, _vars=None: parse_datetime(
        node.value if isinstance(node, StringValueNode) else None, tz
    )


@cache
def _base(tz_name: str) -> tuple[GraphQLSchema, dict[str, Callable]]:
    """The default schema and its unguarded resolver registry ("Type.field" -> resolver(obj, args, ctx))."""
    schema = build_ast_schema(_document())
    _hook_scalars(schema, ZoneInfo(tz_name), "DateTimeTz")
    resolvers: dict[str, Callable] = {
        f"Query.{k}": v for k, v in {**ROOT_QUERIES, **documented.ROOTS, **analyst.ROOTS}.items()
    }
    resolvers.update(EVENT_RESOLVERS)
    for key, fn in {**FIELD_RESOLVERS, **documented.FIELDS, **analyst.FIELDS}.items():
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
    return schema, resolvers


@dataclass(frozen=True)
class ServedSchema:
    """A schema as served (the default or a variant) with everything wired to it by its served names."""

    schema: GraphQLSchema
    resolvers: dict[str, Callable]  # served "Type.field" -> resolver, permission guards included
    permissions: dict[str, tuple[str, ...]]  # served "Type.field" (objects and interfaces) -> permissions
    type_names: dict[str, str]  # internal type name (a record's __typename) -> served name, where renamed


@cache
def served_schema(tz_name: str = "Europe/Stockholm", variant: Variant = DEFAULT) -> ServedSchema:
    """Build (once per timezone and variant) the schema a variant serves; ValueError if it is not valid."""
    base, raw = _base(tz_name)
    if variant.is_default:
        schema = base
    else:
        schema = build_ast_schema(transform(_document(), variant), assume_valid_sdl=False)
        errors = validate_schema(schema)
        if errors:
            raise ValueError("the schema variant is not a valid schema: " + "; ".join(e.message for e in errors))
    type_out, field_out = served_names(variant)
    if not variant.is_default and type_out.get("DateTimeTz", "DateTimeTz") in schema.type_map:
        _hook_scalars(schema, ZoneInfo(tz_name), type_out.get("DateTimeTz", "DateTimeTz"))
    type_in = {v: k for k, v in type_out.items()}
    resolvers: dict[str, Callable] = {}
    perms: dict[str, tuple[str, ...]] = {}
    for type_ in schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType | GraphQLInterfaceType) or type_.name.startswith("__"):
            continue
        internal_type = type_in.get(type_.name, type_.name)
        field_in = {v: f for (t, f), v in field_out.items() if t == internal_type}
        for name in type_.fields:
            internal = field_in.get(name, name)
            needed = permissions.required(base, internal_type, internal)
            key = f"{type_.name}.{name}"
            perms[key] = needed
            if not isinstance(type_, GraphQLObjectType):
                continue
            inner = raw.get(f"{internal_type}.{internal}")
            if inner is None and (needed or internal != name):
                inner = _reader(internal)
            if needed:
                inner = _guard(needed, name, inner)
            if inner is not None:
                resolvers[key] = inner
    return ServedSchema(schema, resolvers, perms, type_out)


def load_schema(tz_name: str = "Europe/Stockholm"):
    """The default schema and its resolver registry ("Type.field" -> resolver(obj, args, ctx))."""
    served = served_schema(tz_name)
    return served.schema, served.resolvers


def _reader(field_name: str) -> Callable:
    return lambda obj, _args, _ctx: obj.get(field_name)


def _guard(needed: tuple[str, ...], field_name: str, inner: Callable) -> Callable:
    def guarded(obj, args, ctx):
        for perm in needed:
            if perm not in ctx.granted:
                raise permissions.denied(perm, field_name)
        return inner(obj, args, ctx)

    return guarded


def reference_schema(
    schema: GraphQLSchema, resolvers: dict[str, Callable], type_names: dict[str, str] | None = None
) -> GraphQLSchema:
    """The same schema wired for graphql-core's own ``execute``: introspection and the executor tests."""
    names = type_names or {}
    for key, fn in resolvers.items():
        type_name, field = key.split(".")
        schema.type_map[type_name].fields[field].resolve = lambda obj, info, _fn=fn, **args: _fn(
            obj, args, info.context
        )
    for type_ in schema.type_map.values():
        if isinstance(type_, GraphQLInterfaceType) or type_.__class__.__name__ == "GraphQLUnionType":
            type_.resolve_type = lambda obj, _info, _t: names.get(obj["__typename"], obj["__typename"])
    return schema
