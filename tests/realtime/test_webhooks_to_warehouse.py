"""Signed webhooks -> receiver -> sensor -> targeted refresh runs; the sweep catches what no webhook announced."""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg
import pytest
from dagster._core.utils import make_new_run_id

from centra_assets.defs.realtime.sweep import marks_since, sweep
from centra_assets.defs.realtime.webhooks import event_store
from centra_assets.webhooks.app import build_app
from centra_sim.events import Change
from centra_sim.process import BackgroundServer

from ..helpers import (
    LOCAL_ONLY,
    definitions,
    materialize,
    materialize_range,
    new_instance,
    resource_for,
    rows,
    settings_for,
    sim_day,
    truth,
)
from .helpers import execute, tick, wait_for_webhooks

pytestmark = pytest.mark.usefixtures("backend")
# Each test says why it runs on both backends (a local disk; S3 with PostgreSQL) or on the local one only: the S3 and
# PostgreSQL run costs 3-5x the local one, so it runs where the backend changes what is proved. The sensor logic
# (which runs to ask for, when to ask again, what to confirm) reads the same cursor and run records on both.

SECRET = "whsec-e2e-0123456789"
HOUR = 3600
# Half hours of webhooks in the first test. On S3 and PostgreSQL half as many: each tick there still reads its
# events from PostgreSQL, records its refresh runs in Dagster's PostgreSQL storage and publishes to S3, as every tick
# of the local day does; the longer day (the cursor carried over many ticks, refreshes of partitions refreshed
# before) is proved on the local disk, at a third of the cost. About every other tick brings a run (5 of 8 seen).
TICKS = {"local": 16, "s3-postgres": 8}


@pytest.fixture
def live(make_centra, tmp_path):
    settings = settings_for(tmp_path)
    store = event_store(settings, settings.stores[0])
    with BackgroundServer(build_app(store, SECRET)) as receiver:
        centra = make_centra(
            orders_per_day=120, webhook_url=f"{receiver}/webhooks/centra", webhook_secret=SECRET, time_scale=100.0
        )
        yield centra, settings, resource_for(centra, settings, backoff_base=0.01), new_instance()
    store.close()


def test_webhooks_refresh_the_warehouse_and_the_sweep_catches_the_dropped_ones(live, backend):
    # Both backends: the webhook events are stored in PostgreSQL, the sensor reads them from there, the refresh runs
    # are recorded in Dagster's PostgreSQL storage, and the refreshed partitions are located in and published to S3.
    centra, settings, resource, instance = live
    days = [sim_day(centra, n) for n in (2, 1, 0)]
    assert materialize_range(settings, resource, days[0], days[-1]).success  # the days before, in one ranged run
    before = centra.sim.clock.now()
    centra.admin("faults", {"webhook_drop_rate": 0.3})  # Centra does not guarantee delivery
    cursor, runs = None, 0
    ticks = TICKS[backend.name]
    for _ in range(ticks):  # half an hour at a time: orders arrive, ship, get returned (a webhook each)
        centra.admin("clock", {"advance": HOUR / 2})
        wait_for_webhooks(centra)
        requests, cursor = tick(settings, resource, instance, cursor)
        # ahead of builds and backfill weeks in the run queue
        assert all(int(r.tags["dagster/priority"]) > 0 for r in requests)
        assert all(execute(settings, resource, instance, r) for r in requests)
        runs += len(requests)
    assert runs > ticks // 4, "announced changes became refresh runs (one per tick that brought any)"
    hooks = centra.admin("webhooks")["stats"]
    assert hooks["dropped_events"] > 0 and hooks["delivered_events"] > 0
    assert json.loads(cursor)["after"]["default"] == event_store(settings, settings.stores[0]).count()

    since = dt.datetime.fromtimestamp(before, dt.UTC)
    planned, _ = sweep(resource, settings, marks_since(settings, since), since)
    for p in planned:
        assert execute(settings, resource, instance, p.request)

    for day in days:
        expected = sorted((o["number"], o["status"], o["updated_at"]) for o in truth(centra, "orders", day))
        got = [(n, s, u.isoformat()) for n, s, u in rows(settings, "orders", day, "order_number, status, updated_at")]
        assert got == [(n, s, dt.datetime.fromisoformat(u).isoformat()) for n, s, u in expected], day
        assert [r[0] for r in rows(settings, "shipments", day, "shipment_id")] == sorted(
            s["id"] for s in truth(centra, "shipments", day)
        )
    assert [r for r in rows(settings, "returns", days[-1], "return_id, return_status")] == sorted(
        (r["id"], r["return_status"]) for r in truth(centra, "returns", days[-1])
    )


@LOCAL_ONLY  # sensor logic (a failed run's records asked for again): the backends are covered by the test above
def test_a_failed_refresh_is_asked_for_again_until_it_succeeds(live):
    centra, settings, resource, instance = live
    day = sim_day(centra, 0)
    materialize(settings, resource, day, "event")
    centra.admin("clock", {"advance": HOUR})
    wait_for_webhooks(centra)
    requests, cursor = tick(settings, resource, instance, None)
    assert requests
    broken = resource_for(centra, settings, token="revoked-token-0123456")
    assert not any(execute(settings, broken, instance, r) for r in requests)
    retried, cursor = tick(settings, resource, instance, cursor)
    assert sorted(r.run_key.rsplit(":", 1)[0] for r in retried) == sorted(r.run_key.rsplit(":", 1)[0] for r in requests)
    assert all(r.run_key.endswith(":2") for r in retried)
    assert all(execute(settings, resource, instance, r) for r in retried)
    again, cursor = tick(settings, resource, instance, cursor)
    assert again == [] and json.loads(cursor)["pending"] == {}


@LOCAL_ONLY  # sensor logic (run keys from the cursor; what a waiting run holds back): the backends: the first test
def test_a_tick_asks_for_the_same_runs_again_and_none_while_the_stores_last_waits_to_start(live):
    centra, settings, resource, instance = live
    start = sim_day(centra, 0)
    materialize(settings, resource, start, "event")
    centra.admin("clock", {"advance": HOUR})
    wait_for_webhooks(centra)
    first, cursor = tick(settings, resource, instance, None)
    again, _ = tick(settings, resource, instance, None)  # a re-evaluated tick
    assert len(first) == 1 and [r.run_key for r in first] == [r.run_key for r in again]

    # Refreshes coalesce. The daemon created the run, not started yet (a run waiting in the queue is QUEUED: the
    # same to the sensor); changes meanwhile get no second run, and their events stay after the cursor.
    waiting = dg.DagsterRun(job_name="__ASSET_JOB", run_id=make_new_run_id(), status=dg.DagsterRunStatus.NOT_STARTED)
    instance.add_run(waiting._replace(tags=first[0].tags))
    centra.admin("clock", {"advance": HOUR})
    wait_for_webhooks(centra)
    held, held_cursor = tick(settings, resource, instance, cursor)
    assert held == [], "no second run for the store while its first waits to start"
    assert json.loads(held_cursor)["after"] == json.loads(cursor)["after"], "its new events stay after the cursor"
    instance.delete_run(waiting.run_id)  # it starts, and runs
    assert execute(settings, resource, instance, first[0])
    second, cursor = tick(settings, resource, instance, held_cursor)
    assert len(second) == 1 and all(execute(settings, resource, instance, r) for r in second)
    assert json.loads(cursor)["after"]["default"] == event_store(settings, settings.stores[0]).count()
    for day in sorted({start, sim_day(centra, 0)}):  # every change of the two hours is in the warehouse
        expected = sorted((o["number"], o["status"], o["updated_at"]) for o in truth(centra, "orders", day))
        got = [(n, s, u.isoformat()) for n, s, u in rows(settings, "orders", day, "order_number, status, updated_at")]
        assert got == [(n, s, dt.datetime.fromisoformat(u).isoformat()) for n, s, u in expected], day


def queue_tick(settings, resource, instance, cursor):
    sensor = definitions(settings).get_sensor_def("centra_event_queue_sensor")
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"centra": resource})
    result = sensor(context)
    return (result.run_requests if isinstance(result, dg.SensorResult) else []), context.cursor


@LOCAL_ONLY  # the event queue is Centra's and the cursor Dagster's; refresh runs on S3/PostgreSQL: the first test
def test_the_event_queue_keeps_the_warehouse_in_step_and_is_confirmed_after_refresh(make_centra, tmp_path):
    centra = make_centra(orders_per_day=120)
    settings = settings_for(tmp_path)
    resource, instance = resource_for(centra, settings, backoff_base=0.01), new_instance()
    days = [sim_day(centra, n) for n in (1, 0)]
    assert materialize_range(settings, resource, days[0], days[-1]).success
    requests, cursor = queue_tick(settings, resource, instance, None)  # registers the listeners
    assert requests == [] and centra.sim.events.listeners["centra-assets"].keys() == {
        "Order",
        "Shipment",
        "Return",
        "PurchaseOrder",
        "PurchaseOrderDelivery",
    }
    runs = 0
    for _ in range(8):
        centra.admin("clock", {"advance": HOUR / 2})
        requests, cursor = queue_tick(settings, resource, instance, cursor)
        assert all(execute(settings, resource, instance, r) for r in requests)
        runs += len(requests)
    _, cursor = queue_tick(settings, resource, instance, cursor)  # confirms the last refreshed events
    assert runs >= 4  # one run per tick with events, for every data type and day they touch
    assert centra.sim.events.pending["centra-assets"] == {}  # every event confirmed, none before its refresh
    assert json.loads(cursor)["pending"] == {}
    for day in days:
        expected = sorted((o["number"], o["status"], o["updated_at"]) for o in truth(centra, "orders", day))
        got = [(n, s, u.isoformat()) for n, s, u in rows(settings, "orders", day, "order_number, status, updated_at")]
        assert got == [(n, s, dt.datetime.fromisoformat(u).isoformat()) for n, s, u in expected], day


@LOCAL_ONLY  # sensor logic (nothing confirmed before its refresh succeeds), the same on both backends
def test_events_stay_unconfirmed_while_their_refresh_fails(make_centra, tmp_path):
    centra = make_centra(orders_per_day=120)
    settings = settings_for(tmp_path)
    resource, instance = resource_for(centra, settings, backoff_base=0.01), new_instance()
    materialize(settings, resource, sim_day(centra, 0), "event")
    _, cursor = queue_tick(settings, resource, instance, None)
    centra.admin("clock", {"advance": HOUR})
    requests, cursor = queue_tick(settings, resource, instance, cursor)
    queued = len(centra.sim.events.pending["centra-assets"])
    broken = resource_for(centra, settings, token="revoked-token-0123456")
    assert requests and not any(execute(settings, broken, instance, r) for r in requests)
    retried, cursor = queue_tick(settings, resource, instance, cursor)
    assert len(retried) == len(requests) and len(centra.sim.events.pending["centra-assets"]) == queued


@LOCAL_ONLY  # sensor logic (what no run can refresh is confirmed at once), the same on both backends
def test_events_with_nothing_to_refresh_are_confirmed_without_a_run(make_centra, tmp_path):
    """A DELETED order and an order number found nowhere: no run can refresh them, so they are confirmed at
    once instead of coming back on every poll."""
    centra = make_centra(orders_per_day=60)
    settings = settings_for(tmp_path)
    resource, instance = resource_for(centra, settings, backoff_base=0.01), new_instance()
    day = sim_day(centra, 0)
    materialize(settings, resource, day, "event")
    _, cursor = queue_tick(settings, resource, instance, None)  # registers the listeners
    centra.sim.events.listeners["centra-assets"]["Order"]["changeTypes"].append("DELETED")
    now, known = centra.sim.clock.now(), truth(centra, "orders", day)[0]["number"]
    centra.sim.events.publish(
        [
            Change(now, "Order", "DELETED", 99_999_999, None, None),
            Change(now, "Order", "UPDATED", 88_888_888, None, None),
            Change(now, "Order", "UPDATED", known, None, None),
        ]
    )
    requests, cursor = queue_tick(settings, resource, instance, cursor)
    assert [r.run_config["ops"]["centra_orders"]["config"]["refresh_keys"] for r in requests] == [[str(known)]]
    waiting = centra.sim.events.pending["centra-assets"]
    assert [e["objectReference"] for e in waiting.values()] == [known]  # the other two are confirmed
    assert all(execute(settings, resource, instance, r) for r in requests)
    queue_tick(settings, resource, instance, cursor)
    assert centra.sim.events.pending["centra-assets"] == {}
