"""The sync meets each store's Centra version: its queries are valid there, a new version is learnt again,
and a field the sync cannot do without fails the run with what to do."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from graphql import parse, validate

from centra_assets.centra.client import CentraClient
from centra_assets.cli import project_queries
from centra_assets.entities.spec import read_query

from ..helpers import materialize, resource_for, rows, settings_for, sim_day, truth

TOKEN = "test-token-full"
REALTIME = ("events.graphql", "set_event_listeners.graphql", "confirm_events.graphql")


def _sent_queries(client: CentraClient) -> list[tuple[str, str]]:
    return [(name, document) for name, document, _ in project_queries(client)] + [
        (name, read_query(name)) for name in REALTIME
    ]


@pytest.mark.parametrize("variant", [None, "alternative-names", "sparse"])
def test_every_query_the_project_sends_is_valid_on_the_stores_introspected_schema(make_centra, tmp_path, variant):
    centra = make_centra(schema_variant=variant)
    client = CentraClient(centra.graphql_url, TOKEN, schema_cache_dir=str(tmp_path))
    schema = client.store_schema().schema
    assert schema is not None
    invalid = {
        name: [e.message for e in errors]
        for name, document in _sent_queries(client)
        if (errors := validate(schema, parse(document)))
    }
    assert not invalid
    client.close()


def test_a_new_centra_version_is_introspected_again(make_centra, tmp_path):
    centra = make_centra()
    first = CentraClient(centra.graphql_url, TOKEN, schema_cache_dir=str(tmp_path))
    old_version = first.store_schema().app_version
    centra.admin("schema", {"preset": "alternative-names"})  # the store upgrades (or downgrades) Centra
    later = CentraClient(centra.graphql_url, TOKEN, schema_cache_dir=str(tmp_path))
    learnt = later.store_schema()
    assert learnt.app_version != old_version and learnt.has("orders", "totals.itemsSubtotal") is True
    (cached,) = tmp_path.glob("*.json")
    assert json.loads(cached.read_text())["app_version"] == learnt.app_version
    first.close()
    later.close()


def test_a_field_the_sync_cannot_do_without_fails_the_run_with_what_to_do(make_centra, tmp_path):
    centra = make_centra(schema_variant={"hide": ["Return.createdAt"]})
    settings = settings_for(tmp_path)
    result = materialize(settings, resource_for(centra, settings), sim_day(centra, 1), "event", raise_on_error=False)
    assert not result.success
    failed = [e for e in result.all_events if e.is_step_failure]
    messages = []
    for event in failed:
        error = event.event_specific_data.error
        while error is not None:  # Dagster wraps the op's own exception
            messages.append(error.message)
            error = error.cause
    message = " ".join(messages)
    version = CentraClient(centra.graphql_url, TOKEN).store_schema().app_version
    assert "returns cannot be synced" in message and "createdAt" in message and version in message
    assert "centra-assets check" in message
    assert {e.step_key for e in failed} == {"centra_returns"}, "only the data type that needs the field fails"


def test_purchase_orders_sync_on_a_store_without_the_unconfirmed_line_id(make_centra, tmp_path):
    """PurchaseOrderLine's names are UNCONFIRMED (docs/centra-facts.md §12): without `id`, a purchase order's lines
    are keyed by their place in it, and every line reaches the warehouse (the simulator's ground truth)."""
    centra = make_centra(schema_variant={"hide": ["PurchaseOrderLine.id"]})
    day = next(d for d in (sim_day(centra, n) for n in range(1, 15)) if truth(centra, "purchase_orders", d))
    settings = settings_for(tmp_path)
    run = materialize(settings, resource_for(centra, settings), day, "event")
    got = rows(settings, "purchase_order_lines", day, "purchase_order_id, line_id, quantity")
    expected = truth(centra, "purchase_orders", day)
    assert sorted({(po, line) for po, line, _ in got}) == sorted(
        (po["id"], place) for po in expected for place in range(1, po["line_count"] + 1)
    )
    assert sum(q for *_, q in got) == sum(po["quantity"] for po in expected)
    used = {}
    for event in run.get_asset_materialization_events():
        used.update(event.materialization.metadata["alternative_fields"].value)
    assert used["purchase_order_lines.line_id"] == "@index"


def test_check_names_the_fields_a_store_lacks(make_centra):
    centra = make_centra(schema_variant="sparse")
    env = {**os.environ, "CENTRA_API_URL": centra.graphql_url, "CENTRA_API_TOKEN": TOKEN}
    result = subprocess.run(
        [sys.executable, "-m", "centra_assets.cli", "check"], env=env, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "empty   orders: orders.is_on_hold (isOnHold; lacks Order.isOnHold)" in result.stdout
    assert "empty   purchase_orders: purchase_orders.eta (ETA; lacks PurchaseOrder.ETA)" in result.stdout
    assert "empty   customers: customers.total_orders (totalOrders; lacks Customer.totalOrders)" in result.stdout
    assert "All read permissions present" in result.stdout
