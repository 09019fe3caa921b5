"""The first production day goes as docs/operating.md says, without a race: the sweep is on by default, and its
first tick comes seconds after `centra-assets dev` starts, before anyone can hold it. It launches nothing until
the store's history has landed and the backfill landing it has ended, then sweeps as usual."""

from __future__ import annotations

import json

import dagster as dg
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill

from centra_assets.defs import build_definitions

from ..helpers import Local, materialize_range, pin_clock, resource_for, sim_day

ORDERS = dg.AssetKey("orders")


def test_the_first_sweep_waits_until_the_backfill_has_landed(centra, tmp_path, monkeypatch):
    pin_clock(monkeypatch, centra.sim.clock.now())
    first, yesterday = sim_day(centra, 2), sim_day(centra, 1)
    settings = Local().settings(tmp_path, first)
    resource = resource_for(centra, settings, backoff_base=0.01)
    sweep = build_definitions(settings).get_sensor_def("centra_sweep_sensor")

    with dg.DagsterInstance.ephemeral() as instance:

        def tick(cursor: str | None):
            context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"centra": resource})
            return sweep(context), context.cursor

        result, cursor = tick(None)  # Dagster has just started: nothing has landed
        assert isinstance(result, dg.SkipReason), result  # no run the operator did not ask for
        assert f"orders lacks 2 of the 2 days from {first} to {yesterday}" in result.skip_message
        assert json.loads(cursor)["marks"] == {}  # its first sweep is still to come

        # the operator's backfill (docs/operating.md): its first part lands, the rest is still to come
        backfill = PartitionBackfill("history", BulkActionStatus.REQUESTED, False, {}, 0.0, None, [ORDERS])
        instance.add_backfill(backfill)
        assert materialize_range(settings, resource, first, first).success
        result, cursor = tick(cursor)
        assert isinstance(result, dg.SkipReason) and "waits for backfill history" in result.skip_message

        assert materialize_range(settings, resource, yesterday, yesterday).success  # the backfill has landed
        instance.update_backfill(backfill.with_status(BulkActionStatus.COMPLETED_SUCCESS))
        _, cursor = tick(cursor)
        assert set(json.loads(cursor)["marks"]["default"]) >= {"orders", "shipments"}  # it sweeps from now on
