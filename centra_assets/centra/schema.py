"""What one Centra store's schema has: from introspection, or learnt from the store's own validation errors.

Centra rejects a whole request that names one field or type its schema lacks, and stores run different
Centra versions. So before a data type is synced the client finds out what the store has: by introspection
(cached per store and Centra ``appVersion``, fetched again when the version changes), or, where a store refuses
introspection, from GraphQL's validation errors (``Cannot query field "x" on type "Y"``), which name exactly
what the store lacks. What was learnt either way is kept in the same cache.

Paths are a root field and the dotted segments below it, as entity specs write them: field names (with
arguments in parentheses) and type conditions (``on Type``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from graphql import (
    FieldNode,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    build_client_schema,
    get_introspection_query,
    get_named_type,
    parse,
)
from graphql.language import SelectionSetNode, Source, get_location
from graphql.utilities import do_types_overlap

log = logging.getLogger("centra_assets.centra")
INTROSPECTION = get_introspection_query(descriptions=False)
SEGMENT = re.compile(r"(?:[^.(]|\([^)]*\))+")  # dots split segments, except inside a field's (arguments)
# graphql-php (Centra) quotes names with ", graphql-core with '; both are read.
Q = "[\"']"
NO_FIELD = re.compile(rf"Cannot query field {Q}(?P<name>\w+){Q} on type {Q}(?P<type>\w+){Q}")
NO_TYPE = re.compile(rf"Unknown type {Q}(?P<name>\w+){Q}")
NO_ARGUMENT = re.compile(rf"Unknown argument {Q}(?P<arg>\w+){Q} on field {Q}(?:(?P<type>\w+)\.)?(?P<name>\w+){Q}")
NO_INPUT_FIELD = re.compile(rf"Field {Q}(?P<name>\w+){Q} is not defined by type {Q}(?P<type>\w+){Q}")
INTROSPECTION_REFUSED = re.compile(r"introspection", re.IGNORECASE)


def segments(path: str) -> list[str]:
    return SEGMENT.findall(path)


def _bare(segment: str) -> str:
    """A segment's field, without its arguments or alias: `lines(includeFullyCancelled: true)` -> `lines`,
    `exclTax: grandTotal(includingTax: false)` -> `grandTotal` (an alias lets a record select one field twice)."""
    return segment if segment.startswith("on ") else segment.split("(", 1)[0].rsplit(":", 1)[-1].strip()


def normalize(root: str, path: str) -> str:
    """The key a (root, path) is remembered by: arguments dropped, segments joined by dots."""
    return ".".join([root, *(_bare(s) for s in segments(path))]) if path else root


@cache
def _argument_names(segment: str) -> tuple[str, ...]:
    if "(" not in segment:
        return ()
    (operation,) = parse("{ " + segment + " }").definitions
    return tuple(a.name.value for a in operation.selection_set.selections[0].arguments)


@dataclass
class StoreSchema:
    """One store's schema at one Centra version: an introspected schema, and/or what its errors taught."""

    app_version: str
    schema: GraphQLSchema | None = None  # None: the store refused introspection
    introspection: dict | None = field(default=None, repr=False)
    lacking: set[str] = field(default_factory=set)  # normalized paths the store is known not to have
    verified: set[str] = field(default_factory=set)  # hashes of documents the store accepted (no introspection)

    @classmethod
    def from_introspection(cls, app_version: str, data: dict) -> StoreSchema:
        return cls(app_version, build_client_schema(data), data)

    def has(self, root: str, path: str) -> bool | None:
        """True/False when known; None when the store refused introspection and nothing was learnt yet."""
        parts = [_bare(s) for s in segments(path)]
        if any(".".join([root, *parts[:i]]) in self.lacking for i in range(len(parts) + 1)):
            return False
        if self.schema is None:
            return None
        return self.describe_missing(root, path) is None

    def describe_missing(self, root: str, path: str) -> str | None:
        """`Type.field` (or `type Type`, `Type.field(argument)`) of the first step the schema lacks, else None."""
        if self.schema is None:
            return None
        query = self.schema.query_type
        if query is None or root not in query.fields:
            return f"Query.{root}"
        current = get_named_type(query.fields[root].type)
        for segment in segments(path):
            if segment.startswith("on "):
                name = segment[3:].strip()
                target = self.schema.type_map.get(name)
                if target is None:
                    return f"type {name}"
                # as GraphQL allows it: the condition and the type it narrows share a possible type (an object of
                # the interface or union, or another interface its objects implement: `... on AppliedVoucher` in a
                # list of OrderDiscount)
                if not do_types_overlap(self.schema, current, target):
                    return f"type {name} (not a {current.name})"
                current = target
                continue
            name = _bare(segment)
            if name == "__typename":  # every object type has it
                continue
            fields = getattr(current, "fields", None) or {}
            if name not in fields:
                return f"{current.name}.{name}"
            found = fields[name]
            for argument in _argument_names(segment):
                if argument not in found.args:
                    return f"{current.name}.{name}({argument}:)"
            current = get_named_type(found.type)
        return None

    def input_has(self, input_type: str, field_name: str) -> bool | None:
        if f"{input_type}.{field_name}" in self.lacking:  # learnt from a store that refuses introspection
            return False
        if self.schema is None:
            return None
        target = self.schema.type_map.get(input_type)
        return target is not None and field_name in getattr(target, "fields", {})

    def learn(self, lacking: set[str]) -> None:
        self.lacking |= lacking

    def to_json(self) -> dict:
        return {
            "app_version": self.app_version,
            "introspection": self.introspection,
            "lacking": sorted(self.lacking),
            "verified": sorted(self.verified),
        }

    @classmethod
    def from_json(cls, data: dict) -> StoreSchema:
        introspection = data.get("introspection")
        made = cls.from_introspection(data["app_version"], introspection) if introspection else cls(data["app_version"])
        made.lacking, made.verified = set(data.get("lacking", ())), set(data.get("verified", ()))
        return made


def document_hash(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()[:16]


class SchemaCache:
    """Store schemas on disk, one file per store, replaced when the store's Centra version changes."""

    def __init__(self, directory: str | Path | None):
        self.directory = Path(directory) if directory else None

    def _file(self, url: str) -> Path | None:
        if self.directory is None:
            return None
        slug = re.sub(r"[^A-Za-z0-9]+", "-", url.split("://", 1)[-1]).strip("-")[:80]
        return self.directory / f"{slug}-{hashlib.sha256(url.encode()).hexdigest()[:8]}.json"

    def load(self, url: str, app_version: str) -> StoreSchema | None:
        path = self._file(url)
        if path is None or not path.exists():
            return None
        try:
            data = json.loads(path.read_text())
            if data.get("app_version") != app_version:
                return None
            return StoreSchema.from_json(data)
        except (ValueError, KeyError, TypeError) as exc:  # a damaged cache is only a cache: introspect again
            log.warning("Ignoring the schema cache %s: %s", path, exc)
            return None

    def save(self, url: str, schema: StoreSchema) -> None:
        path = self._file(url)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            json.dump(schema.to_json(), f)
        os.replace(tmp, path)


def is_introspection_refusal(errors: list[dict]) -> bool:
    return any(INTROSPECTION_REFUSED.search(str(e.get("message", ""))) for e in errors)


def lacking_inputs_from_errors(errors: list[dict]) -> set[str] | None:
    """`InputType.field` for each input field (a filter's, in the variables) a store's errors say it lacks; None if
    any error is of another kind. Kept in `StoreSchema.lacking` beside the output paths (type names are
    capitalised, root fields are not, so the two never meet)."""
    found = [NO_INPUT_FIELD.search(str(e.get("message", ""))) for e in errors]
    return {f"{m['type']}.{m['name']}" for m in found if m} if found and all(found) else None


def lacking_from_errors(document: str, errors: list[dict]) -> set[str] | None:
    """The normalized paths a store's validation errors say it lacks; None if any error is of another kind.

    Each error is placed by its `locations` in the document when the store gives them (so only the named field
    is dropped, not every field of that name); without locations, by the field's or type's name.
    """
    source = Source(document)
    index: dict[tuple[int, int], str] = {}
    by_field: dict[str, set[str]] = {}
    by_type: dict[str, set[str]] = {}

    def place(node, key: str) -> None:
        if node is not None and node.loc is not None:
            at = get_location(source, node.loc.start)
            index[(at.line, at.column)] = key

    def walk(selection_set: SelectionSetNode | None, prefix: list[str]) -> None:
        for node in selection_set.selections if selection_set else ():
            if isinstance(node, FieldNode):
                key = ".".join([*prefix, node.name.value])
                place(node, key)
                place(node.name, key)
                for argument in node.arguments:
                    place(argument, key)
                by_field.setdefault(node.name.value, set()).add(key)
                walk(node.selection_set, [*prefix, node.name.value])
            elif isinstance(node, InlineFragmentNode) and node.type_condition is not None:
                name = node.type_condition.name.value
                key = ".".join([*prefix, f"on {name}"])
                place(node, key)
                place(node.type_condition, key)
                by_type.setdefault(name, set()).add(key)
                walk(node.selection_set, [*prefix, f"on {name}"])

    for definition in parse(source).definitions:
        if isinstance(definition, OperationDefinitionNode):
            walk(definition.selection_set, [])
    lacking: set[str] = set()
    for error in errors:
        message = str(error.get("message", ""))
        named = NO_FIELD.search(message) or NO_TYPE.search(message) or NO_ARGUMENT.search(message)
        if not named:
            return None
        located = {
            index[(loc["line"], loc["column"])]
            for loc in error.get("locations") or ()
            if (loc.get("line"), loc.get("column")) in index
        }
        if not located:
            if named.re is NO_TYPE:
                located = by_type.get(named["name"], set())
            else:
                located = by_field.get(named["name"], set())
            if located:
                log.warning("Centra named %s without a location: every field of that name is left out", message)
        if not located:
            return None
        lacking |= located
    return lacking
