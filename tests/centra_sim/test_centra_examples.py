"""Centra's own documented example queries (``documented/centra_examples.json``) against the simulator.

(a) Every documented query validates, unchanged, against the schema the simulator serves (read by
introspection over HTTP), with the fragments its entry lists appended. Skipped: entries with
``unresolved_fragments`` (none of the 47 queries has any). One query, D-DTC line 14, selects
``... on AppliedDiscount { discount { ... } }``: the default schema follows live integrations
(``AppliedVoucher { voucher }``, docs/centra-facts.md §11.1), so that query validates against the
``alternative-names`` preset instead, which this module asserts too.

(b) Queries whose root fields read data the project syncs run without errors, with a full-permission
token, and every field path they select is in the answer. A list may come back empty (or an object
null) only where the simulator has no such data; ``EMPTY_OK`` names each such place and why.

Mutations (118 of the 165 operations) are out of scope: the project is read-only. The simulator has
only ``setEventListeners``, ``unsetEventListeners`` and ``confirmEvents``.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from graphql import (
    GraphQLList,
    GraphQLNonNull,
    OperationDefinitionNode,
    build_client_schema,
    get_introspection_query,
    get_named_type,
    is_abstract_type,
    parse,
    validate,
)
from graphql.execution.collect_fields import collect_fields, collect_sub_fields

from centra_sim.api.schema import default_schema, served_schema
from centra_sim.api.variants import normalize

ENTRIES = json.loads((Path(__file__).parent / "documented" / "centra_examples.json").read_text())
QUERIES = [e for e in ENTRIES if e["kind"] == "query"]
VALIDATABLE = [e for e in QUERIES if not e["unresolved_fragments"]]
# Validates only against the alternative-names preset (AppliedDiscount), see the module docstring.
ALTERNATIVE_NAMES_ONLY = {("D-DTC", 14)}
# Root fields that read data the project syncs.
SYNCED_ROOTS = {
    "orders",
    "orderConnection",
    "returns",
    "products",
    "product",
    "productVariant",
    "productVariants",
    "productSizes",
    "markets",
    "market",
    "pricelists",
    "warehouses",
    "categories",
    "displays",
    "display",
    "displayConnection",
    "purchaseOrderDeliveries",
    "events",
}
# "Type.field" (or "Query.root") that may be empty/null in every answer: the simulator has no such data.
EMPTY_OK = {
    "Query.product": "D-PIM:3812 asks for product 4204; the simulator's product ids are 1-72",
    "Query.productVariant": "D-PIM:3812 asks for variant 7861; the simulator has fewer variants",
    "Query.display": "D-PIM:3812 asks for display 222; the simulator's display ids are 101-172",
    "Query.events": "D-EV: the simulator queues no Product or Collection events",
    # The documented arguments name Centra's sandbox data the simulator does not have (shape unchecked):
    "D-DTC:330 Query.orders": "orders created on 2021-10-23; the simulated history is November 2026",
    "D-DTC:386 Query.displays": "display id 1; the simulator's display ids are 101-172",
    "D-DTC:516 Query.orders": "order number 14; the simulator's order numbers start higher",
    "D-ERP:1775 Query.orders": "order number 14; the simulator's order numbers start higher",
    "D-B2B:1410 Query.orders": "order number 3957 does not exist in the default 20-day history",
    "D-B2B:856 Query.products": "products named 'Basketball'; the simulated brand sells clothes",
    "D-PIM:3755 Query.products": "products named 'Test Product'",
    "D-PIM:197 Query.market": "market id 29; the simulator's market ids are 1-7",
    "D-PIM:1130 Query.warehouses": "warehouses named 'Retail'; the simulated ones are Stockholm Main, Berlin 3PL, ...",
    "Display.campaignVariants": "no campaign variants are generated",
    "Display.related": "no related displays are generated",
    "Display.tags": "no display tags are generated",
}


def _id(entry: dict) -> str:
    return f"{entry['page']}:{entry['line']}"


def _text(entry: dict) -> str:
    return entry["document"] + "".join("\n\n" + f["text"] for f in entry["fragments"] or [])


def _root_fields(entry: dict) -> set[str]:
    return {
        sel.name.value
        for d in parse(_text(entry)).definitions
        if isinstance(d, OperationDefinitionNode)
        for sel in d.selection_set.selections
        if sel.kind == "field"
    }


RUNNABLE = [
    e for e in VALIDATABLE if _root_fields(e) & SYNCED_ROOTS and (e["page"], e["line"]) not in ALTERNATIVE_NAMES_ONLY
]


def test_the_documented_set_is_complete():
    assert len(ENTRIES) == 165 and len(QUERIES) == 47
    assert len(QUERIES) - len(VALIDATABLE) == 0  # no query is skipped for unresolved fragments
    assert sum(1 for e in ENTRIES if e["unresolved_fragments"]) == 2  # two D-ERP mutations
    assert len(RUNNABLE) == 30


@pytest.fixture(scope="module")
def served(centra):
    """The schema the simulator serves, as a client sees it: by introspection over HTTP."""
    body = centra.post({"query": get_introspection_query()}).json()
    assert "errors" not in body
    return build_client_schema(body["data"])


@pytest.mark.parametrize("entry", VALIDATABLE, ids=_id)
def test_documented_query_validates_against_the_served_schema(served, entry):
    errors = [e.message for e in validate(served, parse(_text(entry)))]
    if (entry["page"], entry["line"]) in ALTERNATIVE_NAMES_ONLY:
        assert errors == [
            "Unknown type 'AppliedDiscount'. Did you mean 'OrderDiscount', 'AppliedTaxRule', 'AppliedVoucher', or "
            "'AppliedVoucherDiscount'?"
        ]
        variant = served_schema("Europe/Stockholm", normalize("alternative-names", default_schema())).schema
        assert validate(variant, parse(_text(entry))) == []
    else:
        assert errors == []


def _missing(schema, fragments, variables, type_, nodes, value, path, empty, seen):
    """Field paths selected by `nodes` on `type_` absent from `value`; records empty lists / null objects."""
    inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    if isinstance(inner, GraphQLList):
        out = []
        for item in value:
            out += _missing(schema, fragments, variables, inner.of_type, nodes, item, path, empty, seen)
        return out
    named = get_named_type(inner)
    if value is None or not hasattr(named, "fields"):
        return []
    candidates = schema.get_possible_types(named) if is_abstract_type(named) else [named]
    best = None
    for runtime in candidates:
        fields = collect_sub_fields(schema, fragments, variables, runtime, nodes)
        if set(fields) == set(value):
            best = (runtime, fields)
            break
    if best is None:
        return [f"{'.'.join(path)}: keys {sorted(value)} fit no type of {named.name}"]
    runtime, fields = best
    out = []
    for key, field_nodes in fields.items():
        name = field_nodes[0].name.value
        if name == "__typename":
            continue
        field = runtime.fields[name]
        child, owner = value[key], f"{_owner(schema, runtime, name)}.{name}"
        sub_nodes = [n for n in field_nodes if n.selection_set]
        if sub_nodes or _is_list(field.type):
            seen.add(owner)
            if child is None or (isinstance(child, list) and not child):
                empty.setdefault(owner, []).append(".".join((*path, key)))
            elif sub_nodes:
                empty.setdefault(owner, []).append(None)  # non-empty at least once
                out += _missing(schema, fragments, variables, field.type, sub_nodes, child, (*path, key), empty, seen)
    return out


def _is_list(type_) -> bool:
    return isinstance(type_.of_type if isinstance(type_, GraphQLNonNull) else type_, GraphQLList)


def _owner(schema, runtime, name: str) -> str:
    """Report a field by its interface when it has one (Order.lines, not DirectToConsumerOrder.lines)."""
    for iface in runtime.interfaces:
        if name in iface.fields:
            return iface.name
    return runtime.name


@pytest.mark.parametrize("entry", RUNNABLE, ids=_id)
def test_documented_query_runs_and_answers_in_the_documented_shape(centra, entry):
    schema = served_schema().schema
    document = parse(_text(entry))
    fragments = {d.name.value: d for d in document.definitions if d.kind == "fragment_definition"}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    for op in operations:
        body = httpx.post(
            centra.graphql_url,
            json={"query": _text(entry), "operationName": op.name.value if op.name else None},
            headers={"Authorization": "Bearer test-token-full"},
            timeout=30,
        ).json()
        assert "errors" not in body, body["errors"]
        variables = {v.variable.name.value: _default(v) for v in op.variable_definitions if v.default_value is not None}
        empty: dict[str, list] = {}
        fields = collect_fields(schema, fragments, variables, schema.query_type, op.selection_set)
        missing = []
        for key, nodes in fields.items():
            name = nodes[0].name.value
            field = schema.query_type.fields[name]
            value = body["data"][key]
            if value is None or value == []:
                empty.setdefault(f"Query.{name}", []).append(key)
                continue
            missing += _missing(schema, fragments, variables, field.type, nodes, value, (key,), empty, set())
        assert missing == []
        always_empty = {owner: paths for owner, paths in empty.items() if None not in paths}
        unexplained = {
            owner: paths[:3]
            for owner, paths in always_empty.items()
            if owner not in EMPTY_OK and f"{_id(entry)} {owner}" not in EMPTY_OK
        }
        assert unexplained == {}


def _default(var):
    from graphql import value_from_ast_untyped

    return value_from_ast_untyped(var.default_value)
