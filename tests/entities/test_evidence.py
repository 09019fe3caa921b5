"""The names the project sends are names Centra has: every generated query is valid on the simulator's default
schema (which follows Centra's generated reference, docs/centra-facts.md §12) as it is, with nothing dropped."""

from __future__ import annotations

import pytest
from graphql import parse, validate

from centra_assets.cli import project_queries
from centra_sim.api.schema import default_schema


@pytest.mark.parametrize("name, document", [(n, d) for n, d, _ in project_queries()], ids=lambda v: v[:40])
def test_every_generated_query_is_valid_on_the_default_schema(name, document):
    assert [e.message for e in validate(default_schema(), parse(document))] == []
