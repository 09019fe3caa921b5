"""The names the project sends are names Centra has: every generated query is valid on the simulator's default
schema (which follows Centra's generated reference, docs/centra-facts.md §12) as it is, with nothing dropped, and
every name it sends has its evidence in centra_assets/entities/evidence.py."""

from __future__ import annotations

import pytest
from graphql import get_named_type, parse, validate

from centra_assets.cli import main, project_queries
from centra_assets.entities.evidence import FIELDS, NO_ENTRY, evidence_of, sent_fields
from centra_sim.api.schema import default_schema


@pytest.mark.parametrize("name, document", [(n, d) for n, d, _ in project_queries()], ids=lambda v: v[:40])
def test_every_generated_query_is_valid_on_the_default_schema(name, document):
    assert [e.message for e in validate(default_schema(), parse(document))] == []


SENT = sorted({name for _, document, _ in project_queries() for name in sent_fields(document)})


def test_every_name_the_queries_send_has_its_evidence_in_one_place():
    assert [name for name in SENT if evidence_of(name) == NO_ENTRY] == []
    assert sorted(FIELDS) == SENT  # and no entry outlives the name it is about


def test_each_entry_names_the_type_the_field_returns():
    schema = default_schema()
    returned = {}
    for name in FIELDS:
        type_name, field = name.split(".")
        returned[name] = get_named_type(schema.type_map[type_name].fields[field].type).name
    assert {name: type_ for name, (type_, _) in FIELDS.items()} == returned


def test_queries_evidence_lists_every_name_and_what_the_sync_does_without_an_unconfirmed_one(capsys):
    main(["queries", "--evidence"])
    lines = capsys.readouterr().out.splitlines()
    listed = {line.split()[0]: line for line in lines[:-1]}
    assert sorted(listed) == SENT
    assert "Centra's generated reference" in listed["OrderTotals.shippingTaxIncluded"]
    assert listed["PurchaseOrder.ourReference"].endswith("UNCONFIRMED; without it: purchase_orders.our_reference empty")
    assert "without it: shipments cannot be synced" in listed["Query.shipments"]
    assert lines[-1].startswith(f"{len(SENT)} names: ")
