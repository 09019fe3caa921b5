"""Many stores, bounded ticks: the sweep and the webhook sensor serve a few stores at a time within a tick's
time budget, longest-waiting first, so every store is served within a bounded number of ticks, a broken store
holds up no other, and a store's changes wait for its turn instead of being lost."""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg
import pytest

from centra_assets.defs import build_definitions
from centra_assets.defs import policy as realtime
from centra_assets.defs.realtime.sweep import marks_since
from centra_assets.defs.realtime.webhooks import event_store
from centra_assets.defs.resources import CentraResource
from centra_assets.settings import Settings, Store
from centra_sim.testing.simulator import TOKEN

from ..helpers import TZ

STORES = 5
AT_ONCE = 2


@pytest.fixture
def many(centra, tmp_path, monkeypatch):
    """STORES stores served by one simulator (one token), and one more whose token Centra rejects."""
    monkeypatch.setenv("T_GOOD", TOKEN)
    monkeypatch.setenv("T_BROKEN", "revoked-token-0123456")
    stores = tuple(
        Store(f"s{i}", TZ, "2026-10-01", centra.graphql_url, "T_BROKEN" if i == 2 else "T_GOOD") for i in range(STORES)
    )
    settings = Settings(warehouse_dir=str(tmp_path / "warehouse"), stores_file_stores=stores)
    # a tick starts AT_ONCE stores and then its time is up: each tick serves exactly AT_ONCE stores
    monkeypatch.setattr(realtime, "TICK_SECONDS", 0.0, raising=False)
    monkeypatch.setattr(realtime, "STORE_CONCURRENCY", AT_ONCE, raising=False)
    resource = CentraResource(pacer_path=str(tmp_path / "budget.sqlite"), backoff_base=0.01)
    with dg.DagsterInstance.ephemeral() as instance:
        yield settings, resource, instance


def _tick(settings, resource, instance, name: str, cursor: str):
    sensor = build_definitions(settings).get_sensor_def(name)
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"centra": resource})
    result = sensor(context)
    return (result.run_requests if isinstance(result, dg.SensorResult) else []), context.cursor


def _orders(request: dg.RunRequest) -> set[int]:
    ops = request.run_config["ops"]
    return {int(k) for k in ops.get("centra_orders", {}).get("config", {}).get("refresh_keys", [])}


def test_the_sweep_serves_a_few_stores_a_tick_in_turn_and_misses_nothing(many, centra):
    settings, resource, instance = many
    now = centra.sim.clock.now()
    since = dt.datetime.fromtimestamp(now - 6 * 3600, dt.UTC)
    cursor = json.dumps({"marks": marks_since(settings, since), "pending": {}})
    changed = {  # Centra's own answer: the orders updated since the marks (less the sweep's 5 minutes of overlap)
        o["number"]
        for o in centra.admin("ground-truth/orders")["rows"]
        if dt.datetime.fromisoformat(o["updated_at"]) >= since - realtime.SWEEP_OVERLAP
    }
    assert changed
    served_by_tick, asked, served = [], {}, {}
    for _ in range(4):  # two stores a tick, the one served longest ago first
        requests, cursor = _tick(settings, resource, instance, "centra_sweep_sensor", cursor)
        now_served = json.loads(cursor)["served"]
        served_by_tick.append(sorted(n for n, at in now_served.items() if at != served.get(n, 0.0)))
        served = now_served
        for r in requests:  # run keys are <reason>:<store>:...
            asked.setdefault(r.run_key.split(":")[1], _orders(r))
    assert served_by_tick == [["s0", "s1"], ["s2", "s3"], ["s0", "s4"], ["s1", "s2"]]
    good = [f"s{i}" for i in range(STORES) if i != 2]
    assert {s: asked.get(s) for s in good} == {s: changed for s in good}  # each store's changes, none missed
    assert "s2" not in asked  # its token is rejected: its error is logged, the other stores are swept
    assert json.loads(cursor)["marks"]["s2"] == marks_since(settings, since)["s2"]  # its changes wait for it


def test_the_webhook_sensor_reads_a_few_stores_a_tick_in_turn(many, centra):
    settings, resource, instance = many
    numbers = sorted(o["number"] for o in centra.admin("ground-truth/orders")["rows"])[-30:]
    for i, store in enumerate(settings.stores):
        events = event_store(settings, store)
        try:
            events.append(f"sig-{i}", 0, [{"type": "order", "action": "update", "id": n} for n in numbers[i::STORES]])
        finally:
            events.close()
    cursor, asked, per_tick = None, {}, []
    for _ in range(3):
        requests, cursor = _tick(settings, resource, instance, "centra_webhook_sensor", cursor)
        per_tick.append(len(json.loads(cursor)["after"]))
        for r in requests:
            asked[r.run_key.split(":")[1]] = _orders(r)
    assert per_tick == [2, 3, 4]  # two stores a tick; the broken store's cursor never moves
    good = [i for i in range(STORES) if i != 2]
    assert asked == {f"s{i}": set(numbers[i::STORES]) for i in good}
