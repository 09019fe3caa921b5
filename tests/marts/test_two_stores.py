"""Two Centra stores, configured in one stores file, synced into one warehouse: partitions are day by store,
every raw row names its store, webhooks reach the right store by path, and the marts split by store, each
store compared with its own simulator's ground truth."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from centra_assets.defs.raw.partitions import key, partitions, snapshot_key
from centra_assets.defs.realtime.sweep import marks_since, sweep
from centra_assets.defs.resources import CentraResource
from centra_assets.settings import settings_from_env
from centra_assets.webhooks.app import build_app
from centra_assets.webhooks.store import open_event_store
from centra_sim.process import BackgroundServer
from centra_sim.testing.simulator import TOKEN, serve

from ..helpers import assets_of, materialize_range, pin_clock, rows, truth
from ..realtime.helpers import execute, tick, wait_for_webhooks
from .test_marts import build_marts, daily_sales, expected_daily, query

# two simulators, Dagster runs and a dbt build in a module fixture
pytestmark = pytest.mark.slow

DAYS = 8
HOUR = 3600
STORES = {  # name: (seed, timezone): different data, the same order numbers, days cut in different places
    "nordic": (5, "Europe/Stockholm"),
    "us": (6, "America/New_York"),
}
SECRETS = {"nordic": "whsec-nordic-0123456789", "us": "whsec-us-9876543210"}


def sim_days(centra, tz: str) -> list[str]:
    today = dt.datetime.fromtimestamp(centra.sim.clock.now(), ZoneInfo(tz)).date()
    return [(today - dt.timedelta(days=n)).isoformat() for n in range(DAYS, -1, -1)]


def stores_yaml(urls: dict[str, str]) -> str:
    lines = ["stores:"]
    for name, (_, tz) in STORES.items():
        lines += [
            f"  - name: {name}",
            f"    api_url: {urls[name]}",
            f"    token_env: CENTRA_TOKEN_{name.upper()}",  # the file names the variable, never the token
            f"    webhook_secret_env: CENTRA_WEBHOOK_SECRET_{name.upper()}",
            f"    timezone: {tz}",
            "    start_date: 2026-10-01",
        ]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def two_stores(tmp_path_factory):
    """Both simulators synced (every day they have, today's snapshots), their webhooks received by path and
    turned into refreshes by the sensor, the sweep run, and the marts built."""
    tmp = tmp_path_factory.mktemp("two-stores")
    mp = pytest.MonkeyPatch()
    for name in STORES:
        mp.setenv(f"CENTRA_TOKEN_{name.upper()}", TOKEN)
    warehouse = tmp / "warehouse"
    events = {name: open_event_store(warehouse / ".state", name) for name in STORES}
    receiver = BackgroundServer(build_app(None, stores={n: (events[n], SECRETS[n]) for n in STORES}))
    receiver_url = receiver.__enter__()
    centras, servers = {}, []
    try:
        for name, (seed, tz) in STORES.items():
            centra, server = serve(
                seed=seed,
                days=DAYS,
                orders_per_day=40,
                timezone=tz,
                webhook_url=f"{receiver_url}/webhooks/centra/{name}",
                webhook_secret=SECRETS[name],
                time_scale=100.0,
            )
            centras[name], servers = centra, [*servers, server]
        pin_clock(mp, centra.sim.clock.now())  # both simulators' now (the default): the snapshots' day is theirs
        (tmp / "stores.yaml").write_text(stores_yaml({n: c.graphql_url for n, c in centras.items()}))
        settings = settings_from_env(
            {"CENTRA_WAREHOUSE_DIR": str(warehouse), "CENTRA_STORES_FILE": str(tmp / "stores.yaml")}
        )
        resource = CentraResource(pacer_path=str(tmp / "budget.sqlite"))
        instance = dg.DagsterInstance.ephemeral()
        for store in settings.stores:
            # every day a store has, in one ranged run of that store's partitions, as its backfill runs them (a run
            # per day cost a minute more and proved nothing more: each day is still its own "date|store" partition)
            days = sim_days(centras[store.name], store.timezone)
            first, last = str(key(settings, store, days[0])), str(key(settings, store, days[-1]))
            assert materialize_range(settings, resource, first, last, instance=instance).success
            assert dg.materialize(
                assets_of(settings, "snapshot"),
                partition_key=snapshot_key(settings, store),  # today's, in the store's timezone
                resources={"centra": resource},
                instance=instance,
            ).success
        before = {name: c.sim.clock.now() for name, c in centras.items()}
        cursor, runs = None, []
        for _ in range(3):  # changes arrive as webhooks, each store at its own path
            for centra in centras.values():
                centra.admin("clock", {"advance": HOUR})
                wait_for_webhooks(centra)
            requests, cursor = tick(settings, resource, instance, cursor)
            assert all(execute(settings, resource, instance, r) for r in requests)
            runs += requests
        # the sweep catches what the simulators' webhooks dropped
        since = dt.datetime.fromtimestamp(min(before.values()), dt.UTC)
        planned, _ = sweep(resource, settings, marks_since(settings, since), since)
        for p in planned:
            assert execute(settings, resource, instance, p.request)
        assert build_marts(settings).success
        yield settings, centras, events, runs
    finally:
        for s in [*servers, receiver]:
            s.__exit__()
        for c in centras.values():
            c.sim.stop()
        for e in events.values():
            e.close()
        mp.undo()


def test_partitions_are_day_by_store(two_stores):
    settings, *_ = two_stores
    definition = partitions(settings)
    assert isinstance(definition, dg.MultiPartitionsDefinition)
    assert {d.name for d in definition.partitions_defs} == {"date", "store"}
    assert "2026-11-01|us" in definition.get_partition_keys()


def test_webhooks_reach_their_store_by_path(two_stores):
    settings, centras, events, runs = two_stores
    for name, centra in centras.items():
        delivered = centra.admin("webhooks")["stats"]["delivered_events"]
        assert delivered > 0 and events[name].count() == delivered, name
    first = [r.partition_key or r.tags["dagster/asset_partition_range_start"] for r in runs]
    by_store = {str(k).split("|")[1] for k in first}  # a run's partitions: "date|store", one store per run
    assert by_store == set(STORES)  # each store's changes became refreshes of that store's partitions


def test_raw_rows_carry_their_store_and_equal_each_stores_truth(two_stores):
    settings, centras, *_ = two_stores
    for store in settings.stores:
        centra = centras[store.name]
        expected = sorted((o["number"], o["status"], o["updated_at"]) for o in truth(centra, "orders"))
        got = rows(settings, "orders", columns="order_number, status, updated_at", store=store.name)
        assert [(n, s, u.isoformat()) for n, s, u in got] == [
            (n, s, dt.datetime.fromisoformat(u).isoformat()) for n, s, u in expected
        ], store.name
        assert {r[0] for r in rows(settings, "orders", columns="_store", store=store.name)} == {store.name}
    numbers = [{r[0] for r in rows(settings, "orders", columns="order_number", store=s)} for s in STORES]
    assert numbers[0] & numbers[1], "the stores share order numbers, so only the store tells them apart"


def test_daily_sales_split_by_store_match_each_stores_truth(two_stores):
    settings, centras, *_ = two_stores
    for store in settings.stores:
        expected = expected_daily(centras[store.name], store.timezone)
        got = daily_sales(settings, f"WHERE store = '{store.name}'")
        assert got.keys() == expected.keys(), store.name
        for k, e in expected.items():
            g = got[k]
            assert [g[n] for n in ("orders", "units", "order_day_returned_units", "returned_units")] == [
                e[n] for n in ("orders", "units", "order_day_returned_units", "returned_units")
            ], (store.name, k)
            for n in ("order_day_net_base", "net_base"):
                assert g[n] == pytest.approx(e[n], abs=0.011), (store.name, k, n)
    (stores,) = query(settings, "SELECT count(DISTINCT store) FROM fct_orders")
    assert stores == (2,)
