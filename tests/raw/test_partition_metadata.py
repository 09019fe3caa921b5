"""Every partition's latest materialization tells the truth about the run that last wrote it.

A run over several days records each day on its own: every partition's materialization carries that day's row
count (`dagster/row_count`), window and cost, not the run's, so each day keeps a row-count history. A refresh run
(webhooks, the event queue, the sweep) spans the days from its first record's to its last's, but only the days
whose records changed get a materialization, with that day's window, what changed and what it cost; a day it left
as it was keeps the materialization (and metadata) of the run that wrote it. A check with nothing to check, such as
the row count against Centra's on a refresh of a few records, shows skipped, never passed.

One store is backfilled and refreshed once for the module (`refreshed`); each test reads what that left behind.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from typing import NamedTuple
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from dagster._core.loader import LoadingContextForTest

from centra_assets.calendar import day_window
from centra_assets.defs.realtime.locate import refresh_announced
from centra_sim.testing.runs import run
from centra_sim.testing.simulator import serve

from ..helpers import TZ, assets_of, resource_for, settings_for, sim_day, synced_from, truth

ORDERS = dg.AssetKey(["centra", "orders"])


class Refreshed(NamedTuple):
    instance: dg.DagsterInstance
    days: list[str]  # the days backfilled, which the refresh's range spans
    backfill: str  # run ids
    refresh: str
    at_backfill: dict[str, list[dict]]  # day -> Centra's orders of the day when the backfill ran (ground truth)
    changed: dict[str, list[int]]  # day -> its orders that changed in Centra since (the refresh's 2 changed days)
    asked: dict[str, list[int]]  # day -> the orders the refresh fetched again (changed or not)
    cost: dict[str, int]  # the refresh's requests and complexity, as the simulator counted them


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory) -> Refreshed:
    """Four days backfilled in one ranged run; a day of the store's life later, a refresh (planned as the sensors
    plan one) of the orders that changed on two of those days and of one unchanged order of every other day."""
    centra, server = serve(days=10, orders_per_day=20)
    try:
        days = [sim_day(centra, n) for n in (5, 4, 3, 2)]
        settings = settings_for(tmp_path_factory.mktemp("refresh"), start=days[0])
        resource, instance = resource_for(centra, settings), dg.DagsterInstance.ephemeral()
        tags = {"dagster/asset_partition_range_start": days[0], "dagster/asset_partition_range_end": days[-1]}
        with pytest.MonkeyPatch.context() as patch:  # a progress line after every page, as a long day has them
            patch.setattr("centra_assets.defs.raw.assets.PROGRESS_EVERY_SECONDS", 0)
            backfill = dg.materialize(
                assets_of(settings, "event"), resources={"centra": resource}, instance=instance, tags=tags
            )
        at_backfill = {day: truth(centra, "orders", day) for day in days}
        since = centra.sim.clock.now()
        centra.admin("clock", {"advance": 24 * 3600})
        changed = {day: [o["number"] for o in truth(centra, "orders", day) if _updated(o) > since] for day in days}
        touched = [day for day in days if changed[day]][:2]
        assert len(touched) == 2 and touched[0] == days[0], changed  # the range runs from a changed day
        asked = {
            day: changed[day] if day in touched else [next(o["number"] for o in orders if _updated(o) <= since)]
            for day, orders in at_backfill.items()
        }
        (planned,) = refresh_announced(
            {"orders": {n for ns in asked.values() for n in ns}}, settings, settings.stores[0], None, "webhook"
        )
        assert planned.days == days
        stats = centra.admin("info")["stats"]
        assert run(assets_of(settings), planned.request, resource, instance, raise_on_error=True)
        after = centra.admin("info")["stats"]
        (refresh,) = instance.get_runs(dg.RunsFilter(tags={"centra/reason": "webhook"}))
        yield Refreshed(
            instance,
            days,
            backfill.run_id,
            refresh.run_id,
            at_backfill,
            {day: changed[day] for day in touched},
            asked,
            {k: after.get(k, 0) - stats.get(k, 0) for k in ("requests", "complexity")},
        )
    finally:
        server.__exit__()
        centra.sim.stop()


def _updated(order: dict) -> float:
    return dt.datetime.fromisoformat(order["updated_at"]).timestamp()


def _window(day: str) -> str:
    start, end = day_window(dt.date.fromisoformat(day), ZoneInfo(TZ))
    return f"{start} .. {end}"


def _materializations(instance, run_id: str, asset=ORDERS) -> dict[str, dict]:
    """partition -> metadata of the run's materializations of the asset."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
    found = [r.event_log_entry.asset_materialization for r in records]
    return {m.partition: {k: v.value for k, v in m.metadata.items()} for m in found if m.asset_key == asset}


def _latest(instance, day: str, asset=ORDERS) -> dg.EventLogRecord:
    filter_ = dg.AssetRecordsFilter(asset_key=asset, asset_partitions=[day])
    (record,) = instance.fetch_materializations(filter_, limit=1).records
    return record


def test_a_ranged_run_records_each_day_with_its_own_rows_and_window(refreshed):
    by_day = _materializations(refreshed.instance, refreshed.backfill)
    lines = _materializations(refreshed.instance, refreshed.backfill, dg.AssetKey(["centra", "order_lines"]))
    assert sorted(by_day) == sorted(lines) == refreshed.days
    for day, metadata in by_day.items():
        orders = refreshed.at_backfill[day]  # the simulator's own orders of the day
        assert metadata["dagster/row_count"] == len(orders)
        assert metadata["window"] == _window(day) and metadata["day"] == day and metadata["pages"] >= 1
        assert lines[day]["dagster/row_count"] == sum(o["line_count"] for o in orders)
    assert len({m["dagster/row_count"] for m in by_day.values()}) > 1  # no day carries another's (or the run's) total


def test_a_refresh_materializes_only_the_days_whose_records_changed_with_what_it_did(refreshed):
    by_day = _materializations(refreshed.instance, refreshed.refresh)
    assert sorted(by_day) == sorted(refreshed.changed)  # not the range's other days, refetched but unchanged
    for day, metadata in by_day.items():
        assert metadata["window"] == _window(day)  # the event day's window, never "snapshot taken on"
        assert metadata["dagster/row_count"] == len(refreshed.at_backfill[day])
        assert metadata["refreshed_records"] == len(refreshed.asked[day])
        assert metadata["changed_records"] == len(refreshed.changed[day])
        assert metadata["changed_keys"] == [str(n) for n in sorted(refreshed.changed[day])]
        # the one fetch served both days: each records its whole cost, as Centra counted it, and that it was shared
        assert metadata["pages"] >= 1 and metadata["seconds"] > 0
        assert metadata["requests"] == refreshed.cost["requests"] >= metadata["pages"]
        assert metadata["complexity"] == refreshed.cost["complexity"] > 0
        assert metadata["cost_shared_by_partitions"] == 2


def test_the_days_a_refresh_left_as_they_were_keep_the_backfills_materialization(refreshed):
    backfilled = _materializations(refreshed.instance, refreshed.backfill)
    for day in refreshed.days:
        latest = _latest(refreshed.instance, day)
        expected = refreshed.refresh if day in refreshed.changed else refreshed.backfill
        assert latest.run_id == expected, day
        if day not in refreshed.changed:
            metadata = {k: v.value for k, v in latest.asset_materialization.metadata.items()}
            assert metadata == backfilled[day] and metadata["pages"] >= 1
    records = refreshed.instance.get_records_for_run(
        refreshed.refresh, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
    ).records
    assert {r.event_log_entry.asset_materialization.partition for r in records} == set(refreshed.changed)  # any table


def test_each_partition_written_is_checked_and_a_check_with_nothing_to_check_is_skipped(refreshed):
    instance = refreshed.instance

    def executions(check: str, run_id: str) -> dict[str, tuple[str, dict]]:
        """partition -> (status as the UI resolves it, metadata) of the check's executions in the run."""
        out = {}
        for r in instance.event_log_storage.get_asset_check_execution_history(dg.AssetCheckKey(ORDERS, check), 50):
            if r.run_id == run_id:
                status = asyncio.run(r.resolve_status(LoadingContextForTest(instance))).value
                out[r.partition] = (status, {k: v.value for k, v in getattr(r.evaluation, "metadata", {}).items()})
        return out

    # the backfill compared every day's rows with Centra's own total, each on its own partition
    assert executions("row_count_matches_centra", refreshed.backfill) == {
        day: ("SUCCEEDED", {"warehouse": len(orders), "centra": len(orders), "rows_checked": len(orders)})
        for day, orders in refreshed.at_backfill.items()
    }
    # a refresh of a few records has no Centra total to compare a day's rows with: skipped, never "passed"
    assert executions("row_count_matches_centra", refreshed.refresh) == {day: ("SKIPPED", {}) for day in refreshed.days}
    # the days it changed are checked, and say how many rows; the others were not checked by it
    unique = executions("key_is_unique", refreshed.refresh)
    assert unique == {
        day: ("SUCCEEDED", {"duplicate_rows": 0, "rows_checked": len(refreshed.at_backfill[day])})
        if day in refreshed.changed
        else ("SKIPPED", {})
        for day in refreshed.days
    }


PROGRESS = re.compile(
    r"^orders (?P<day>\S+): (?:(?P<records>\d+)/(?P<total>\d+) records \((?P<day_share>\d+)%\)|.*); day (?P<n>\d+) of "
    r"(?P<of>\d+), (?P<so_far>\d+) records so far \((?P<share>\d+)% of the run\), \d+/s, about \d+ s left$"
)


def _progress(instance, run_id: str) -> list[dict]:
    """The orders' progress lines in the run's event log, in order."""
    lines = [PROGRESS.match(e.user_message) for e in instance.all_logs(run_id)]
    return [m.groupdict() for m in lines if m]


def test_a_run_logs_its_progress_over_its_days_records_so_far_percent_rate_and_time_left(refreshed):
    """A backfill run of several short days, and a refresh, say in their event log how far they are after each day
    (and within a day, on a long one): records so far, the share of the run, the rate, the time left."""
    lines = _progress(refreshed.instance, refreshed.backfill)
    within, after = [x for x in lines if x["records"]], [x for x in lines if not x["records"]]
    assert [x["day"] for x in after] == refreshed.days and [x["day"] for x in within] == refreshed.days  # one page
    so_far = 0
    for n, (page, done) in enumerate(zip(within, after, strict=True), 1):
        orders = len(refreshed.at_backfill[done["day"]])  # the simulator's own count of the day
        assert (int(page["records"]), int(page["total"]), page["day_share"]) == (orders, orders, "100")
        assert (int(page["n"]), int(page["so_far"]), page["share"]) == (n, so_far + orders, str(100 * n // 4))
        so_far += orders
        assert (int(done["n"]), int(done["of"]), int(done["so_far"]), done["share"]) == (n, 4, so_far, str(25 * n))
    refresh = _progress(refreshed.instance, refreshed.refresh)
    asked = [len(refreshed.asked[day]) for day in refreshed.days]
    assert [int(x["so_far"]) for x in refresh] == [sum(asked[:n]) for n in range(1, 5)]
    assert [x["share"] for x in refresh] == ["25", "50", "75", "100"]


def test_a_refresh_of_the_start_dates_purchase_orders_records_the_window_its_partition_holds(make_centra, tmp_path):
    """The start date's partition of purchase orders also holds those placed within their reach before it
    (entities/spec.py reach_before_start): a refresh of one of them records that window, as the sync does, not the
    start day's alone (the soak test: 2 of 223 latest materializations untrue)."""
    centra = make_centra(days=60, orders_per_day=2)
    start = sim_day(centra, 3)
    settings = settings_for(tmp_path, start=start)
    resource, instance = resource_for(centra, settings), dg.DagsterInstance.ephemeral()
    supply = [a for a in assets_of(settings, "event") if a.op.name == "centra_purchase_orders"]
    assert dg.materialize(supply, partition_key=start, resources={"centra": resource}, instance=instance).success
    earlier = {p["id"]: p for p in truth(centra, "purchase_orders") if p["created_at"][:10] < start}
    centra.admin("clock", {"advance": 7 * 24 * 3600})
    moved = {p["id"] for p in truth(centra, "purchase_orders") if p["id"] in earlier and p != earlier[p["id"]]}
    assert moved, "no purchase order placed before the start date changed"
    planned = refresh_announced({"purchase_orders": moved}, settings, settings.stores[0], None, "webhook")
    assert [p.days for p in planned] == [[start]]
    assert run(assets_of(settings), planned[0].request, resource, instance, raise_on_error=True)
    latest = _latest(instance, start, dg.AssetKey(["centra", "purchase_orders"]))
    (refresh,) = instance.get_runs(dg.RunsFilter(tags={"centra/reason": "webhook"}))
    assert latest.run_id == refresh.run_id  # the refresh's materialization, not the sync's
    reach = dt.date.fromisoformat(synced_from("purchase_orders", start))
    window = f"{day_window(reach, ZoneInfo(TZ))[0]} .. {day_window(dt.date.fromisoformat(start), ZoneInfo(TZ))[1]}"
    assert latest.asset_materialization.metadata["window"].value == window
