"""The sweep on stores of other Centra versions. Its light query is fitted to the store's schema as the full queries
are; where a store's filter has no `updatedAt` (an older Centra, learnt from its errors when it refuses
introspection), the sweep falls back to reading the records again by key, says so in its marks, and still brings
every later change into its partition: the warehouse equals Centra's ground truth afterwards."""

from __future__ import annotations

import datetime as dt

import pytest

from centra_assets.defs.realtime import sweep as realtime
from centra_assets.defs.realtime.sweep import marks_since, sweep

from ..helpers import materialize_range, new_instance, resource_for, rows, settings_for, sim_day, truth
from .helpers import execute

# (the default store version's sweep is exercised by the realtime tests; the sparse preset's lacking
# PurchaseOrderFilter.updatedAt is within the last variant)
VARIANTS = {
    "alternative-names-no-introspection": {"preset": "alternative-names", "introspection": False},
    # an older store whose order and shipment filters have no updatedAt either, and that refuses introspection
    "no-updated-filters-no-introspection": {
        "preset": "sparse",
        "hide": ["OrderFilter.updatedAt", "ShipmentFilter.updatedAt"],
        "introspection": False,
    },
}
FALLBACK = {  # data types whose filter lacks updatedAt on the variant: the sweep reads them again by key
    "alternative-names-no-introspection": set(),
    "no-updated-filters-no-introspection": {"orders", "shipments", "purchase_orders"},
}


def _at(value) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else value


def _warehouse(settings, day: str) -> dict[str, list]:
    return {
        "orders": [(n, s, _at(u)) for n, s, u in rows(settings, "orders", day, "order_number, status, updated_at")],
        "shipments": rows(settings, "shipments", day, "shipment_id, is_shipped, shipped_at"),
        "returns": rows(settings, "returns", day, "return_id, return_status"),
    }


def _truth(centra, day: str) -> dict[str, list]:
    return {
        "orders": sorted((o["number"], o["status"], _at(o["updated_at"])) for o in truth(centra, "orders", day)),
        "shipments": sorted((s["id"], s["is_shipped"], _at(s["shipped_at"])) for s in truth(centra, "shipments", day)),
        "returns": sorted((r["id"], r["return_status"]) for r in truth(centra, "returns", day)),
    }


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_the_sweep_brings_later_changes_into_their_partitions_on_every_store_version(make_centra, tmp_path, variant):
    centra = make_centra(days=3, orders_per_day=30, schema_variant=VARIANTS[variant])
    days = [sim_day(centra, 1), sim_day(centra, 0)]
    settings = settings_for(tmp_path, days[0])
    resource = resource_for(centra, settings, backoff_base=0.01)
    assert materialize_range(settings, resource, days[0], days[-1]).success
    before = {day: _warehouse(settings, day) for day in days}
    since = dt.datetime.fromtimestamp(centra.sim.clock.now(), dt.UTC)

    centra.admin("clock", {"advance": 3 * 3600})  # orders ship, are paid, come in; no webhook tells
    now = dt.datetime.fromtimestamp(centra.sim.clock.now(), dt.UTC)
    planned, marks = sweep(resource, settings, marks_since(settings, since), now)
    instance = new_instance()
    for p in planned:
        assert execute(settings, resource, instance, p.request), p.request.run_key

    for day in days:
        assert _warehouse(settings, day) == _truth(centra, day), day
    changed = {o[0] for day in days for o in set(before[day]["orders"]) - set(_warehouse(settings, day)["orders"])}
    assert changed, "orders the warehouse held changed in Centra, and the sweep brought the change"
    fell_back = {name for name, mark in marks["default"].items() if "fallback" in mark}
    assert fell_back == FALLBACK[variant]
    for name in fell_back:
        assert "has no `updatedAt` filter" in marks["default"][name]["fallback"]


def test_records_read_again_by_key_are_read_a_bounded_batch_a_tick_each_in_turn(monkeypatch):
    """Pending returns (Centra has no way to say which changed) and, without an updatedAt filter, recent records are
    read again by key: at most REREAD_BATCH a tick, going on where the last tick stopped, so every one is read
    again within a few ticks however many there are, and new ones join the turn."""
    monkeypatch.setattr(realtime, "REREAD_BATCH", 3)
    keys, after, read = [2, 3, 5, 7, 11, 13, 17], None, []
    for _ in range(3):
        batch, after = realtime._next_batch(keys, after)
        assert len(batch) == 3
        read.append(batch)
    assert read == [[2, 3, 5], [7, 11, 13], [17, 2, 3]]
    keys.insert(0, 1)  # a return created since, before the turn's place
    assert realtime._next_batch(keys, after) == ([5, 7, 11], 11)
    assert realtime._next_batch([2, 3], after) == ([2, 3], None)  # all fit: no turn to keep
