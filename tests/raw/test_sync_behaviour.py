"""Idempotent, refreshable, fault-tolerant, and failing fast with the exact reason."""

from __future__ import annotations

import datetime as dt
import logging
import time
from concurrent.futures import ThreadPoolExecutor

import dagster as dg
import pyarrow.parquet as pq
import pytest

from centra_assets.warehouse import files, layout, publish, turns

from ..helpers import (
    LOCAL_ONLY,
    assets_of,
    materialize,
    new_instance,
    pin_clock,
    raw_path,
    resource_for,
    rows,
    settings_for,
    sim_day,
    snapshot_day,
    today,
    truth,
)

pytestmark = pytest.mark.usefixtures("backend")
# Each test says why it runs on both backends (a local disk; S3 with PostgreSQL) or on the local one only: the S3 and
# PostgreSQL run costs 3-5x the local one, so it runs where the backend changes what is proved. What happens between
# Centra and the sync (retries, refusals, records arriving mid-run) is the same wherever the partition lands.

ORDER_TABLES = ("orders", "order_lines", "order_discounts", "order_payments")
NO_AUDIT = "* EXCLUDE (_loaded_at)"


def snapshot_of(settings, day):
    return {t: rows(settings, t, day, NO_AUDIT) for t in ORDER_TABLES}


def test_a_second_run_adds_no_rows(make_centra, tmp_path):
    # Both backends: a partition published again replaces the object on S3 whole (no second copy beside it).
    centra = make_centra(orders_per_day=120)
    settings = settings_for(tmp_path)
    resource = resource_for(centra, settings)
    day = sim_day(centra, 1)
    materialize(settings, resource, day, "event")
    first = snapshot_of(settings, day)
    materialize(settings, resource, day, "event")
    assert snapshot_of(settings, day) == first and first["orders"]


def test_targeted_refresh_equals_full_rematerialization(make_centra, tmp_path):
    # Both backends: the refresh reads the partition back from S3, merges and publishes it again.
    centra = make_centra(orders_per_day=150)
    refreshed, full = settings_for(tmp_path / "refreshed"), settings_for(tmp_path / "full")
    day = sim_day(centra, 0)  # today in the simulator: orders are still arriving and moving on
    materialize(refreshed, resource_for(centra, refreshed), day, "event")
    before = centra.sim.clock.now()
    centra.admin("clock", {"advance": 5 * 3600})
    changed = [
        o["number"]
        for o in truth(centra, "orders", day)
        if dt.datetime.fromisoformat(o["updated_at"]).timestamp() > before
    ]
    assert len(changed) > 10, "orders were created, confirmed and shipped in those five hours"
    config = {"ops": {"centra_orders": {"config": {"refresh_keys": [str(n) for n in changed]}}}}
    dg.materialize(
        [a for a in assets_of(refreshed) if a.op.name == "centra_orders"],
        partition_key=day,
        resources={"centra": resource_for(centra, refreshed)},
        run_config=config,
        instance=new_instance(),
    )
    materialize(full, resource_for(centra, full), day, "event")
    assert snapshot_of(refreshed, day) == snapshot_of(full, day)


def test_two_refreshes_of_one_day_side_by_side_keep_the_later_read(make_centra, tmp_path, monkeypatch, caplog):
    # Both backends: the day's writers take turns through a lock file on a local disk, through PostgreSQL on S3.
    # Two refresh runs of one day (two webhooks a few seconds apart, the event queue and the sweep) run side by side.
    # The first reads Centra, its answer comes late; meanwhile orders change and the second reads and publishes them.
    # Publishing its older read last, the first would undo the change, and nothing would ask for the orders again.
    centra = make_centra(orders_per_day=150)
    refreshed, full = settings_for(tmp_path / "refreshed"), settings_for(tmp_path / "full")
    day = sim_day(centra, 1)  # yesterday: its orders keep changing (confirmed, shipped), none is added
    materialize(refreshed, resource_for(centra, refreshed), day, "event")
    keys = [str(o["number"]) for o in truth(centra, "orders", day)]

    def refresh() -> dg.ExecuteInProcessResult:
        return dg.materialize(
            [a for a in assets_of(refreshed) if a.op.name == "centra_orders"],
            partition_key=day,
            resources={"centra": resource_for(centra, refreshed)},
            run_config={"ops": {"centra_orders": {"config": {"refresh_keys": keys}}}},
            instance=new_instance(),
        )

    monkeypatch.setattr(turns, "WAIT_NOTICE_AFTER", 1.0)
    centra.admin("faults", {"hold_rate": 1.0, "hold_seconds": 4.0, "hold_root": "orders"})
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(refresh)  # its orders are answered as Centra holds them when asked, 4 s late
        deadline = time.monotonic() + 60
        while not centra.admin("info")["faults_fired"].get("hold_rate") and time.monotonic() < deadline:
            time.sleep(0.05)
        centra.admin("faults", {"hold_rate": 0.0})
        before = centra.sim.clock.now()
        centra.admin("clock", {"advance": 12 * 3600})
        changed = [
            o for o in truth(centra, "orders", day) if dt.datetime.fromisoformat(o["updated_at"]).timestamp() > before
        ]
        assert changed, "orders of the day changed after the first refresh read them"
        with caplog.at_level(logging.WARNING, logger="centra_assets.warehouse"):
            assert refresh().success  # reads the orders as they are now
        assert first.result().success
    materialize(full, resource_for(centra, full), day, "event")
    assert snapshot_of(refreshed, day) == snapshot_of(full, day)
    # the second run said it waited, and for whom (its run's event log shows it: `centra-assets init`)
    assert f"waiting for the turn to write orders {day} (held by a refresh of run " in caplog.text


@LOCAL_ONLY  # Centra's faults and the client's retries happen before anything is written
def test_faults_do_not_change_the_result(make_centra, tmp_path, monkeypatch):
    centra = make_centra(orders_per_day=100, rate_limits=True, plan="enterprise")
    pin_clock(monkeypatch, centra.sim.clock.now())  # the product's today is the simulator's
    settings = settings_for(tmp_path)
    resource = resource_for(centra, settings, read_timeout=0.5, backoff_base=0.05)
    centra.admin(
        "faults",
        {
            "error_rate": 0.12,
            "html_error_rate": 0.05,
            "reset_rate": 0.05,
            "rate_limit_rate": 0.08,
            "slow_rate": 0.03,
            "slow_seconds": 2.0,
            "latency_ms": 5,
        },
    )
    days = [sim_day(centra, 2), sim_day(centra, 1)]
    for day in days:
        materialize(settings, resource, day, "event")
    materialize(settings, resource, today(), "snapshot")
    fired = centra.admin("info")["faults_fired"]
    assert sum(fired.values()) >= 5, fired
    centra.admin(
        "faults",
        {k: 0 for k in ("error_rate", "html_error_rate", "reset_rate", "rate_limit_rate", "slow_rate", "latency_ms")},
    )
    for day in days:
        assert [r[0] for r in rows(settings, "orders", day, "order_number")] == [
            o["number"] for o in truth(centra, "orders", day)
        ]
        assert rows(settings, "order_lines", day, "sum(line_value)")[0][0] == pytest.approx(
            sum(r["line_value"] for r in truth(centra, "order_lines", day))
        )
    assert rows(settings, "inventory", snapshot_day(settings), "sum(physical)")[0][0] == sum(
        s["physical"] for s in truth(centra, "stock")
    )


def _failure(result) -> str:
    return "\n".join(
        str(e.event_specific_data.error)
        for e in result.all_events
        if e.is_step_failure and e.event_specific_data and e.event_specific_data.error
    )


@LOCAL_ONLY  # the refusal comes before any storage; the messages checked are the run's events, the same on both
def test_expired_token_fails_at_once_with_what_to_do(make_centra, tmp_path):
    centra = make_centra()
    secret = "expired-token-0123456789abcdef"
    centra.admin("tokens", {"token": secret, "expiresIn": 0})
    settings = settings_for(tmp_path)
    before = centra.sim.stats["requests"]
    result = materialize(
        settings, resource_for(centra, settings, token=secret), sim_day(centra, 1), "event", raise_on_error=False
    )
    assert not result.success
    message = _failure(result)
    assert "Centra rejected the API token: Access token has expired" in message
    assert "System → API Tokens" in message and "CENTRA_API_TOKEN" in message
    assert centra.sim.stats["requests"] - before <= 7  # one try per asset at most: no retry storm
    logs = "\n".join(str(e) for e in result.all_events)
    assert secret not in logs


@LOCAL_ONLY  # the refusal comes before any storage, as above
def test_missing_permission_names_it_exactly(make_centra, tmp_path):
    """A data type's permission (Return:read) or one field's (Customer.totalOrders:read): the run of the data type
    that needs it fails naming it, never with a bare GraphQL error; the others run."""
    from centra_sim.api.permissions import ALL_PERMISSIONS

    centra = make_centra()
    lacking = {"Return:read", "Customer.totalOrders:read"}
    centra.admin("tokens", {"token": "no-returns-token", "permissions": sorted(ALL_PERMISSIONS - lacking)})
    settings = settings_for(tmp_path)
    before = centra.sim.stats["requests"]
    result = materialize(
        settings,
        resource_for(centra, settings, token="no-returns-token"),
        sim_day(centra, 1),
        "event",
        raise_on_error=False,
    )
    failed = {e.step_key for e in result.all_events if e.is_step_failure}
    assert failed == {"centra_returns"}
    assert "lacks the permission Return:read (needed to read `returns`)" in _failure(result)
    assert centra.sim.stats["requests"] - before < 40  # the other assets ran; nothing retried the refusal

    customers = [a for a in assets_of(settings, "snapshot") if a.op.name == "centra_customers"]
    resource = resource_for(centra, settings, token="no-returns-token")
    result = dg.materialize(customers, resources={"centra": resource}, instance=new_instance(), raise_on_error=False)
    assert [e.step_key for e in result.all_events if e.is_step_failure] == ["centra_customers"]
    assert "lacks the permission Customer.totalOrders:read (needed to read `totalOrders`)" in _failure(result)
    assert "Add Customer.totalOrders:read to the token" in _failure(result)


def test_a_snapshot_has_no_past_day_to_miss_or_request_and_a_stored_one_is_kept(make_centra, tmp_path, monkeypatch):
    """Centra only knows the present: a snapshot asset has no day partitions (none can read "missing" or be asked
    for), each materialization is today's snapshot, and the sync itself refuses a past day it never stored."""
    # Both backends: whether a day's snapshot is stored is asked of S3, and a stored one is read back from it.
    from zoneinfo import ZoneInfo

    from centra_assets.defs.raw.partitions import snapshot_days
    from centra_assets.defs.raw.sync import SnapshotUnavailable, sync_partition
    from centra_assets.entities import BY_NAME
    from centra_assets.settings import clock_offset

    centra = make_centra()
    pin_clock(monkeypatch, centra.sim.clock.now())  # the product's today is the simulator's
    settings = settings_for(tmp_path)
    resource = resource_for(centra, settings)
    snapshots = assets_of(settings, "snapshot")
    assert snapshots and all(a.partitions_def is None for a in snapshots)
    with pytest.raises(Exception, match="no PartitionsDefinition"):  # Dagster refuses a day for a snapshot
        dg.materialize(snapshots, partition_key=today(), resources={"centra": resource}, instance=new_instance())
    assert materialize(settings, resource, today(), "snapshot").success
    taken = snapshot_day(settings)
    yesterday = (dt.date.fromisoformat(taken) - dt.timedelta(days=1)).isoformat()
    assert rows(settings, "inventory", taken) and not files.exists(raw_path(settings, "inventory", yesterday))

    # the sync: a past day never stored cannot be fetched; one stored on its day (today's, copied) is kept
    client, root, tz = (
        resource.client(),
        layout.store_root(settings.warehouse_dir, settings.stores[0]),
        ZoneInfo(settings.timezone),
    )
    audit = resource.audit(settings.stores[0])
    day = dt.date.fromisoformat(yesterday)
    with pytest.raises(SnapshotUnavailable, match=f"the brands snapshot for {yesterday} was not stored"):
        sync_partition(client, BY_NAME["brands"], root, day, tz, audit)
    for t in BY_NAME["inventory"].tables:
        copy = publish.staging_file(raw_path(settings, t.name, yesterday))
        pq.write_table(files.read_table(raw_path(settings, t.name, taken)), copy)
        publish.publish(copy, raw_path(settings, t.name, yesterday))
    stored = rows(settings, "inventory", yesterday)
    requests = centra.sim.stats["requests"]
    assert sync_partition(client, BY_NAME["inventory"], root, day, tz, audit).kept_existing
    assert rows(settings, "inventory", yesterday) == stored
    assert centra.sim.stats["requests"] == requests  # nothing fetched

    # a snapshot run that started before midnight stores every data type under the day it started, even a step
    # that runs after midnight (the run's day is passed down; the sync does not read the clock a second time); Dagster
    # records the run's start on the machine's clock, which the pinned offset shifts onto the product's
    started = dt.datetime.combine(day, dt.time(23, 59, 59), tz).timestamp() - clock_offset().total_seconds()
    assert snapshot_days(settings, [], started) == [(settings.stores[0], day)]
    assert snapshot_days(settings, [], started + 1) == [(settings.stores[0], day + dt.timedelta(days=1))]
    late = sync_partition(client, BY_NAME["brands"], root, day, tz, audit, today=day)
    assert not late.kept_existing and rows(settings, "brands", yesterday, "brand_id") == sorted(
        (b["id"],) for b in truth(centra, "brands")
    )
    client.close()


@LOCAL_ONLY  # the recount while pages are read is between Centra and the sync; publishing to S3: the tests above
def test_orders_created_while_the_pages_are_read_reach_the_partition_and_its_count(make_centra, tmp_path, monkeypatch):
    """Today's orders keep arriving during a run: the partition and its row-count check are taken after the
    pages, so an order created between the count and the last page is neither missed nor hidden by the check."""
    from zoneinfo import ZoneInfo

    from centra_assets.defs.raw.sync import sync_partition
    from centra_assets.entities import BY_NAME
    from centra_sim.testing.simulator import NOW

    day = dt.datetime.fromtimestamp(NOW, ZoneInfo("Europe/Stockholm")).date()  # a fixed day: the simulator's
    noon = dt.datetime.combine(day, dt.time(12), ZoneInfo("Europe/Stockholm"))
    pin_clock(monkeypatch, noon)  # the product's today too: the day's window is still open
    centra = make_centra(orders_per_day=900, now=noon.timestamp())
    settings = settings_for(tmp_path)
    resource, store = resource_for(centra, settings), settings.stores[0]
    spec = BY_NAME["orders"]
    counted_at_start = len(truth(centra, "orders", day.isoformat()))

    def three_hours_pass(records: int, _total, _elapsed) -> None:  # after the first page, orders keep coming
        if records <= spec.page_size:
            centra.admin("clock", {"advance": 3 * 3600})

    client = resource.client(store)
    try:
        result = sync_partition(
            client,
            spec,
            layout.store_root(settings.warehouse_dir, store),
            day,
            store.tz,
            resource.audit(store),
            1,
            three_hours_pass,
        )
    finally:
        client.close()
    expected = [o["number"] for o in truth(centra, "orders", day.isoformat())]
    assert len(expected) > counted_at_start > spec.page_size
    assert [r[0] for r in rows(settings, "orders", day.isoformat(), "order_number")] == expected
    assert result.centra_total == result.rows["orders"] == len(expected)


def test_a_refresh_of_a_day_never_synced_syncs_it_whole(make_centra, tmp_path):
    """A refresh names a few records; on a day the warehouse never synced, the partition it leaves behind must
    still hold the whole day (not just those records behind a green materialization and row-count check)."""
    # Both backends: "never synced" is a partition S3 does not have (a missing object, not a missing file).
    centra = make_centra(orders_per_day=150)
    settings = settings_for(tmp_path)
    day = sim_day(centra, 3)
    expected = [o["number"] for o in truth(centra, "orders", day)]
    config = {"ops": {"centra_orders": {"config": {"refresh_keys": [str(n) for n in expected[:2]]}}}}
    result = dg.materialize(
        [a for a in assets_of(settings) if a.op.name == "centra_orders"],
        partition_key=day,
        resources={"centra": resource_for(centra, settings)},
        run_config=config,
        instance=new_instance(),
    )
    assert result.success
    assert [r[0] for r in rows(settings, "orders", day, "order_number")] == expected
    assert len(expected) > 100


@LOCAL_ONLY  # what is read back is the file's columns, the same on S3
def test_a_refresh_of_a_day_written_before_a_column_was_added_syncs_it_whole(make_centra, tmp_path):
    """A day synced by an older version lacks a column the spec declares now (here: the shipping tax, added to
    `orders` in an upgrade). A webhook's refresh of one order on that day must not fail (it did: `Field
    "shipping_tax_included" does not exist in schema`, and every later refresh of the day with it), nor leave the
    column empty for the day's other orders: it syncs the day whole, every order with the new column."""
    centra = make_centra(orders_per_day=60)
    settings = settings_for(tmp_path)
    resource = resource_for(centra, settings)
    day = sim_day(centra, 2)
    materialize(settings, resource, day, "event")
    path = raw_path(settings, "orders", day)
    older = pq.read_table(path).drop_columns(["shipping_tax_included"])  # as the version before the upgrade wrote it
    pq.write_table(older, path)
    expected = {o["number"]: o["shipping_tax"] for o in truth(centra, "orders", day)}
    config = {"ops": {"centra_orders": {"config": {"refresh_keys": [str(next(iter(expected)))]}}}}
    result = dg.materialize(
        [a for a in assets_of(settings) if a.op.name == "centra_orders"],
        partition_key=day,
        resources={
            "centra": resource,
        },
        run_config=config,
        instance=new_instance(),
    )
    assert result.success
    got = dict(rows(settings, "orders", day, "order_number, shipping_tax_included"))
    assert got == pytest.approx(expected) and len(got) > 30
