"""The code location loads: workspace.yaml and `dagster` can import the one Definitions object."""

from dagster import Definitions

from centra_assets.definitions import defs


def test_definitions_load():
    assert isinstance(defs, Definitions)
    repo = defs.get_repository_def()  # resolves every asset, sensor and schedule
    jobs = {j.name for j in repo.get_all_jobs()}
    assert {"centra_events", "centra_snapshots", "centra_stock"} <= jobs


def test_every_centra_table_feeds_the_dbt_models_and_only_the_marts_automation_and_the_sweep_run_by_default():
    from dagster import AssetKey, DefaultSensorStatus

    from centra_assets.entities import ALL

    graph = defs.resolve_asset_graph()
    for spec in ALL:
        for table in spec.tables:
            staging = AssetKey(["analytics", f"stg_centra__{table.name}"])
            assert graph.get(staging).parent_keys == {AssetKey(["centra", table.name])}
    running = {s.name for s in defs.get_repository_def().sensor_defs if s.default_status == DefaultSensorStatus.RUNNING}
    assert running == {"centra_marts_automation", "centra_sweep_sensor"}


def test_the_daily_schedules_ask_for_yesterday_and_today_in_the_store_timezone():
    import datetime as dt

    from dagster import DefaultScheduleStatus, build_schedule_context

    from centra_assets.defs import build_definitions
    from centra_assets.settings import Settings

    local = build_definitions(Settings(timezone="Europe/Stockholm", snapshot_cron="0 6 * * *"))
    at = dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC)  # already 2 March in Stockholm
    repo = local.get_repository_def()
    events = local.get_schedule_def("centra_daily_events")
    tick = build_schedule_context(scheduled_execution_time=at, repository_def=repo)
    requests = events.evaluate_tick(tick).run_requests
    assert [r.partition_key for r in requests] == ["2026-03-01", "2026-03-02"]
    snapshots = local.get_schedule_def("centra_daily_snapshots")
    assert snapshots.cron_schedule == "0 6 * * *"
    (request,) = snapshots.evaluate_tick(tick).run_requests
    assert request.partition_key is None  # a snapshot is today's: no day partition to choose
    running = {s.name for s in local.schedules if s.default_status == DefaultScheduleStatus.RUNNING}
    assert running == {"centra_daily_events", "centra_daily_snapshots"}


def test_with_several_stores_everything_loads_and_each_store_has_its_schedules_in_its_timezone():
    import datetime as dt

    from dagster import MultiPartitionKey, build_schedule_context

    from centra_assets.defs import build_definitions
    from centra_assets.settings import Settings, Store

    stores = (
        Store("nordic", "Europe/Stockholm", "2026-01-01", "https://n.example/graphql", "T_NORDIC"),
        Store("us", "America/New_York", "2026-02-01", "https://u.example/graphql", "T_US"),
    )
    several = build_definitions(Settings(stores_file_stores=stores))
    repo = several.get_repository_def()  # every job resolves against the day x store partitions
    assert {"centra_events", "centra_snapshots", "centra_stock"} <= {j.name for j in repo.get_all_jobs()}
    at = dt.datetime(2026, 3, 2, 3, 30, tzinfo=dt.UTC)  # 2 March in Stockholm, still 1 March in New York
    tick = build_schedule_context(scheduled_execution_time=at, repository_def=repo)
    for name, today in (("nordic", "2026-03-02"), ("us", "2026-03-01")):
        schedule = several.get_schedule_def(f"centra_daily_events_{name}")
        assert schedule.execution_timezone == dict((s.name, s.timezone) for s in stores)[name]
        keys = [r.partition_key for r in schedule.evaluate_tick(tick).run_requests]
        assert keys[-1] == MultiPartitionKey({"date": today, "store": name})
        (snapshot,) = several.get_schedule_def(f"centra_daily_snapshots_{name}").evaluate_tick(tick).run_requests
        assert snapshot.partition_key == name  # a snapshot is partitioned by store only


def test_a_refresh_leaves_out_records_of_days_before_the_start_date():
    """A purchase order placed before CENTRA_START_DATE may be delivered now: its day has no partition to refresh."""
    from centra_assets.defs.realtime import _plan
    from centra_assets.settings import Settings

    settings = Settings(timezone="Europe/Stockholm", start_date="2026-03-01")
    located = {"purchase_orders": {"2026-02-20": {7}, "2026-03-02": {8}}, "orders": {"2026-02-27": {1001}}}
    (planned,) = _plan(located, settings, settings.stores[0], "sweep")
    assert planned.keys == {"purchase_orders": [8]} and planned.days == ["2026-03-02"]
    assert planned.request.partition_key == "2026-03-02"
    assert _plan({"orders": {"2026-02-27": {1001}}}, settings, settings.stores[0], "sweep") == []
