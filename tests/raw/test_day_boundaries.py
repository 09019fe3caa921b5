"""A store's day is cut in absolute time between its two local midnights, by one rule for every path that files a
record under a day: on the days the clock changes at midnight (Chile, Greenland) every order still lands in exactly
one partition. And the simulator's orders arrive around the clock, so the first and last hour of a day are tested."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
from collections import Counter, defaultdict
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from dagster._core.definitions.freshness import FreshnessState
from dagster._core.definitions.freshness_evaluator import FRESHNESS_EVALUATORS_BY_POLICY_TYPE
from dagster._core.test_utils import BasicLoadingContext, freeze_time

from centra_assets.defs import build_definitions
from centra_assets.defs.realtime.locate import locate
from centra_assets.entities import BY_NAME
from centra_assets.settings import Settings
from centra_sim.backend import Simulator
from centra_sim.testing.simulator import NOW

from ..helpers import SEED, assets_of, new_instance, resource_for, rows, settings_for, truth
from ..test_calendar import CLOCK_CHANGE_DAYS, HOUR, SECOND, window_of


@pytest.mark.parametrize(("zone", "day"), CLOCK_CHANGE_DAYS)
def test_every_order_of_a_clock_change_day_lands_in_exactly_one_partition(make_centra, tmp_path, zone, day):
    tz, date = ZoneInfo(zone), dt.date.fromisoformat(day)
    days = [date + dt.timedelta(days=n) for n in (-1, 0, 1)]
    noon = dt.datetime.combine(date + dt.timedelta(days=2), dt.time(12), tz)
    centra = make_centra(seed=SEED, timezone=zone, now=noon.timestamp(), days=4, orders_per_day=1000)
    settings = dataclasses.replace(settings_for(tmp_path, start=days[0].isoformat()), timezone=zone)
    resource = resource_for(centra, settings)

    # Ground truth: every order, filed under its date on the store's clock here, not by the pipeline's rule.
    created = {o["number"]: dt.datetime.fromisoformat(o["created_at"]) for o in truth(centra, "orders")}
    expected = defaultdict(set)
    for number, at in created.items():
        expected[at.astimezone(tz).date()].add(number)
    first, last = window_of(zone, day)
    for edge in (first, last + SECOND):  # orders on both sides of the day's edges: the hours at stake are not empty
        assert any(edge - HOUR <= at < edge for at in created.values()), f"seed {SEED}: no order just before {edge}"
        assert any(edge <= at < edge + HOUR for at in created.values()), f"seed {SEED}: no order just after {edge}"
    timeline = centra.sim.timeline  # the simulator's own days agree
    assert timeline.day_start(timeline.day_of(first.timestamp())) == first.timestamp()
    assert timeline.day_start(timeline.day_of(first.timestamp()) + 1) == (last + SECOND).timestamp()

    orders = [a for a in assets_of(settings, "event") if a.op.name == "centra_orders"]

    def sync(d: dt.date, run_config=None):
        return dg.materialize(
            orders,
            partition_key=d.isoformat(),
            resources={"centra": resource},
            run_config=run_config,
            instance=new_instance(),
        )

    synced = {}
    for d in days:
        run = sync(d)
        (count,) = [c for c in run.get_asset_check_evaluations() if c.check_name == "row_count_matches_centra"]
        assert count.passed, count.metadata
        synced[d] = [n for (n,) in rows(settings, "orders", d.isoformat(), "order_number")]
        assert len(synced[d]) == len(expected[d]), f"seed {SEED}: Centra's count for {d} is the day's orders"
    everywhere = [n for numbers in synced.values() for n in numbers]
    assert len(everywhere) == len(set(everywhere)), f"seed {SEED}: no order in two partitions"
    assert {d: set(numbers) for d, numbers in synced.items()} == {d: expected[d] for d in days}, f"seed {SEED}"

    # The refresh path files records by the same rule: refreshing the day with its neighbours' orders too keeps
    # exactly the day's; and the webhook sensor locates a new order in the partition the full sync put it in.
    before = rows(settings, "orders", day, "order_number, status")
    sync(date, {"ops": {"centra_orders": {"config": {"refresh_keys": [str(n) for n in everywhere]}}}})
    assert rows(settings, "orders", day, "order_number, status") == before
    with contextlib.closing(resource.client(settings.stores[0])) as client:
        located = locate(BY_NAME["orders"], everywhere, str(tmp_path / "nothing synced"), tz, client)
    assert {dt.date.fromisoformat(d): keys for d, keys in located.items()} == {d: expected[d] for d in days}


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "Europe/Stockholm", "America/Los_Angeles", "America/Santiago"])
def test_orders_arrive_around_the_clock_on_the_stores_own_daily_rhythm(zone):
    """East and west of UTC: every day has orders in its first and last hour, every hour of the store's clock has
    some, and the store's night is quieter than its evening (the rhythm follows the store's clock, not UTC). Times
    are whole seconds, as Centra records them: none falls between a day's last second and the next day's first."""
    tz, days = ZoneInfo(zone), 7
    sim = Simulator(seed=SEED, days=days, orders_per_day=1000, now=NOW, timezone=zone, rate_limits=False)
    by_hour = Counter()
    for d in range(days):  # the days before today, all complete
        times = sim.timeline.day_times(d)
        assert all(t == int(t) for t in times)
        hours = Counter(dt.datetime.fromtimestamp(t, tz).hour for t in times)
        assert hours[0] and hours[23], f"seed {SEED}, {zone}, day {d}: orders in the first and last hour"
        by_hour += hours
    total = sum(by_hour.values())
    assert all(by_hour[h] > 0.002 * total for h in range(24)), f"seed {SEED}, {zone}: {sorted(by_hour.items())}"
    assert sum(by_hour[h] for h in (2, 3, 4)) * 3 < sum(by_hour[h] for h in (19, 20, 21)), f"seed {SEED}, {zone}"


def freshness_at(instance: dg.DagsterInstance, node, now: dt.datetime) -> FreshnessState:
    """The raw asset's freshness as Dagster's own freshness daemon evaluates it, on a fixed clock."""
    evaluator = FRESHNESS_EVALUATORS_BY_POLICY_TYPE[type(node.freshness_policy)]()
    with freeze_time(now):
        return asyncio.run(evaluator.evaluate_freshness(BasicLoadingContext(instance), node))


def test_a_sync_on_time_the_day_after_the_clock_goes_back_is_fresh_and_a_late_one_warns_then_fails():
    """Europe/Stockholm's 2026-10-25 lasts 25 hours (03:00 CEST becomes 02:00 CET): the daily sync at 00:15 that
    day and the next, on time, are 25 hours apart. Freshness follows the store's calendar: the asset is fresh
    until the next sync lands, warns an hour later, and fails two hours later, as on any other day."""
    tz = ZoneInfo("Europe/Stockholm")
    settings = dataclasses.replace(Settings(), timezone="Europe/Stockholm")
    graph = build_definitions(settings).resolve_asset_graph()
    orders = dg.AssetKey(["centra", "orders"])
    assert graph.get(dg.AssetKey(["analytics", "fct_orders"])).freshness_policy == graph.get(orders).freshness_policy
    synced = dt.datetime(2026, 10, 25, 0, 20, tzinfo=tz)  # the 00:15 sync of the 25th, done
    next_sync = dt.datetime(2026, 10, 26, 0, 15, tzinfo=tz)  # the next one starts, on time
    assert next_sync.astimezone(dt.UTC) - synced.astimezone(dt.UTC) == dt.timedelta(hours=24, minutes=55)

    instance = dg.DagsterInstance.ephemeral()
    with freeze_time(synced):
        instance.report_runless_asset_event(dg.AssetMaterialization(orders))
    running = next_sync + dt.timedelta(minutes=10)  # still running: the day before's materialization is 25:05 old
    assert freshness_at(instance, graph.get(orders), running) == FreshnessState.PASS
    assert freshness_at(instance, graph.get(orders), running + HOUR) == FreshnessState.WARN
    assert freshness_at(instance, graph.get(orders), running + 2 * HOUR) == FreshnessState.FAIL
