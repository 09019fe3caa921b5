"""Ten days of a store's life, run as production runs it: the daily event schedule and the sweep sensor, ticking
on the simulator's clock, their runs executed on one Dagster instance. Records change long after the day they
were created (purchase orders delivered, orders shipped and returned, returns completed), and the daemon is down
for a day and a half in the middle. At the end every event table, old partitions included, equals Centra's
ground truth at that moment."""

from __future__ import annotations

import datetime as dt
import json
import urllib.parse
from collections import defaultdict
from zoneinfo import ZoneInfo

import dagster as dg

from centra_assets.defs import build_definitions
from centra_assets.defs.realtime.sweep import marks_since
from centra_sim.testing.runs import run
from centra_sim.testing.simulator import NOW

from ..helpers import TZ, Local, assets_of, materialize_range, resource_for, rows, sim_day, synced_from

DAYS = 10
DOWN = (4.5, 6.0)  # the daemon is down from day 4, 12:15 to day 6, 00:15: no schedule, no sensor tick


def _truth(centra, entity: str, first: str) -> list[dict]:
    window = {"from": dt.datetime.fromisoformat(first).replace(tzinfo=ZoneInfo(TZ)).isoformat()}
    return centra.admin(f"ground-truth/{entity}?{urllib.parse.urlencode(window)}")["rows"]


def _utc(value: str | None) -> str | None:
    return None if value is None else dt.datetime.fromisoformat(value).astimezone(dt.UTC).isoformat()


def _warehouse(settings) -> dict[str, list]:
    def table(name: str, columns: str) -> list:
        return [
            tuple(_utc(v.isoformat()) if isinstance(v, dt.datetime) else v for v in r)
            for r in rows(settings, name, columns=columns)
        ]

    delivered: dict[int, int] = defaultdict(int)
    for po, quantity in rows(settings, "purchase_order_lines", columns="purchase_order_id, delivered_quantity"):
        delivered[po] += quantity
    return {
        "orders": table("orders", "order_number, status, updated_at"),
        "shipments": table("shipments", "shipment_id, is_shipped, shipped_at"),
        "returns": table("returns", "return_id, return_status, completed_at IS NOT NULL"),
        "purchase_orders": [
            (po, status, delivered[po]) for po, status in table("purchase_orders", "purchase_order_id, status")
        ],
        "purchase_order_deliveries": table("purchase_order_deliveries", "delivery_id, status"),
    }


def _expected(centra, first: str) -> dict[str, list]:
    t = lambda entity: _truth(centra, entity, synced_from(entity, first))  # noqa: E731
    return {
        "orders": sorted((o["number"], o["status"], _utc(o["updated_at"])) for o in t("orders")),
        "shipments": sorted((s["id"], s["is_shipped"], _utc(s["shipped_at"])) for s in t("shipments")),
        "returns": sorted((r["id"], r["return_status"], r["return_status"] == "COMPLETED") for r in t("returns")),
        "purchase_orders": sorted((p["id"], p["status"], p["delivered_quantity"]) for p in t("purchase_orders")),
        "purchase_order_deliveries": sorted((d["id"], d["status"]) for d in t("purchase_order_deliveries")),
    }


def test_weeks_of_later_changes_reach_every_partition_through_schedule_and_sweep(make_centra, tmp_path):
    start = NOW - DAYS * 86400
    centra = make_centra(days=70, orders_per_day=8, now=start)
    # four weeks of history: purchase orders placed then, and some placed before it, are delivered in these weeks
    first = sim_day(centra, 28)
    settings = Local().settings(tmp_path, first)
    resource = resource_for(centra, settings, backoff_base=0.01)
    instance = dg.DagsterInstance.ephemeral()
    assert materialize_range(settings, resource, first, sim_day(centra, 0)).success  # the first production day
    at_backfill = _warehouse(settings)

    definitions = build_definitions(settings)
    schedule = definitions.get_schedule_def("centra_daily_events")
    sweep = definitions.get_sensor_def("centra_sweep_sensor")
    assets = assets_of(settings)
    cursor = json.dumps({"marks": marks_since(settings, dt.datetime.fromtimestamp(start, dt.UTC)), "pending": {}})
    runs = {"schedule": 0, "sweep": 0}

    def sweep_tick() -> None:
        nonlocal cursor
        context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"centra": resource})
        result = sweep(context)
        cursor = context.cursor
        for request in result.run_requests if isinstance(result, dg.SensorResult) else []:
            assert run(assets, request, resource, instance), request.run_key
            runs["sweep"] += 1

    midnight = dt.datetime.fromtimestamp(start, ZoneInfo(TZ)).replace(hour=0, minute=15, second=0)
    for half_day in range(2, 2 * DAYS + 1):
        when = midnight + dt.timedelta(hours=12 * half_day)
        centra.admin("clock", {"to": when.isoformat()})
        if DOWN[0] <= half_day / 2 < DOWN[1]:
            continue
        if when.hour == 0:  # the daily event schedule at its cron: yesterday and today
            context = dg.build_schedule_context(
                instance=instance, scheduled_execution_time=when, repository_def=definitions.get_repository_def()
            )
            for request in schedule.evaluate_tick(context).run_requests:
                assert dg.materialize(
                    assets_of(settings, "event"),
                    partition_key=request.partition_key,
                    tags=request.tags,
                    resources={"centra": resource},
                    instance=instance,
                ).success
                runs["schedule"] += 1
        sweep_tick()
    centra.admin("clock", {"advance": 3 * 3600})  # a last sweep, three hours after the last tick
    sweep_tick()

    expected = _expected(centra, first)
    got = _warehouse(settings)
    for table in expected:
        assert got[table] == expected[table], table
    # the weeks changed records after their day: without the sweep these partitions would be stale
    for table in ("orders", "shipments", "returns", "purchase_orders"):
        assert set(at_backfill[table]) - set(got[table]), f"no {table} record changed after the backfill"
    assert set(got["purchase_order_deliveries"]) - set(at_backfill["purchase_order_deliveries"])
    # purchase orders placed before the start date, held in its partition, are kept current too
    placed_before = {
        p["id"]
        for p in _truth(centra, "purchase_orders", synced_from("purchase_orders", first))
        if dt.datetime.fromisoformat(p["created_at"]).astimezone(ZoneInfo(TZ)).date().isoformat() < first
    }
    changed = set(got["purchase_orders"]) - set(at_backfill["purchase_orders"])
    assert {p for p, *_ in changed if p in placed_before}, "no purchase order placed before the start date changed"
    sweep_ticks = 2 * DAYS - 1 - 3 + 1
    assert 0 < runs["sweep"] <= sweep_ticks  # at most one refresh run per store and tick
