"""Purchase orders' names are UNCONFIRMED (docs/centra-facts.md §12). On a store lacking one, the purchase-order sync
writes the column empty, fct_incoming_deliveries says its open units are unknown (not 0), and inventory_health's
incoming units fall back to Centra's own stock figure: equal to the simulator's open purchase order units."""

from __future__ import annotations

from collections import defaultdict

import duckdb
import pytest

from ..helpers import materialize, materialize_range, pinned_clock, resource_for, settings_for, sim_day, today
from .test_marts import PINNED, build_marts

pytestmark = pytest.mark.slow
# The purchase order's status and warehouse and its lines' quantities: names open units per size and warehouse need.
LACKING = ["PurchaseOrder.status", "PurchaseOrder.warehouse", "PurchaseOrderLine.quantity"]


def open_units(centra) -> dict[tuple[int, int], int]:
    """Ground truth from the simulator's own purchase orders (every one, however old): per size and warehouse, the
    units ordered less those arrived, for purchase orders still expecting a delivery."""
    t = centra.sim.clock.now()
    out: dict[tuple[int, int], int] = defaultdict(int)
    for po in centra.sim.timeline.purchase_orders_until(t):
        if all(d["created"] <= t for d in po["deliveries"]):
            continue  # every delivery arrived: the purchase order expects nothing more
        arrived: dict[int, int] = defaultdict(int)
        for line in (x for d in po["deliveries"] if d["created"] <= t for x in d["lines"]):
            arrived[line["line"]] += line["quantity"]
        for line in po["lines"]:
            out[(line["size"], po["warehouse"])] += max(0, line["quantity"] - arrived[line["id"]])
    return {k: v for k, v in out.items() if v}


def test_incoming_units_fall_back_to_the_stock_figure_on_a_store_lacking_purchase_order_names(make_centra, tmp_path):
    centra = make_centra(seed=11, days=14, orders_per_day=5, now=PINNED.timestamp(), schema_variant={"hide": LACKING})
    with pinned_clock(PINNED):
        settings = settings_for(tmp_path, start=sim_day(centra, 7))
        resource = resource_for(centra, settings)
        assert materialize_range(settings, resource, sim_day(centra, 7), sim_day(centra, 0)).success
        materialize(settings, resource, today(), "snapshot")
        assert build_marts(settings, upstream_of="inventory_health").success
    with duckdb.connect(str(settings.duckdb_file), read_only=True) as con:
        lines = con.execute(
            "SELECT ordered_quantity, purchase_order_status, open_quantity FROM fct_incoming_deliveries"
        ).fetchall()
        health = con.execute("SELECT size_id, warehouse_id, incoming_units FROM inventory_health").fetchall()
        expected = open_units(centra)
        assert expected and {(s, w): units for s, w, units in health if units} == expected
        sources = con.execute("SELECT DISTINCT incoming_units_source FROM inventory_health").fetchall()
    assert sources == [("stock_snapshot",)]
    assert lines and all(row == (None, None, None) for row in lines), "unknown, not 0"
