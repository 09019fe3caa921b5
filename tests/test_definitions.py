"""The code location loads: workspace.yaml and `dagster` can import the one Definitions object."""

import datetime as dt

import pytest
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
            staging = AssetKey(["analytics", f"stg_{table.name}"])
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
    (request,) = events.evaluate_tick(tick).run_requests  # one run for both days
    assert (request.tags["dagster/asset_partition_range_start"], request.tags["dagster/asset_partition_range_end"]) == (
        "2026-03-01",
        "2026-03-02",
    )
    snapshots = local.get_schedule_def("centra_daily_snapshots")
    assert snapshots.cron_schedule == "0 6 * * *"
    at_six = build_schedule_context(
        scheduled_execution_time=dt.datetime(2026, 3, 2, 5, tzinfo=dt.UTC), repository_def=repo
    )
    (request,) = snapshots.evaluate_tick(at_six).run_requests
    assert request.partition_key is None  # a snapshot is today's: no day partition to choose
    running = {s.name for s in local.schedules if s.default_status == DefaultScheduleStatus.RUNNING}
    assert running == {"centra_daily_events", "centra_daily_snapshots", "centra_daily_file_checks"}


def test_with_several_stores_one_schedule_serves_each_store_at_its_time_in_its_timezone():
    import datetime as dt

    from dagster import build_schedule_context
    from dagster._utils.schedules import cron_string_iterator

    from centra_assets.defs import build_definitions
    from centra_assets.settings import Settings, Store

    stores = (
        Store("nordic", "Europe/Stockholm", "2026-01-01", "https://n.example/graphql", "T_NORDIC"),
        Store("us", "America/New_York", "2026-02-01", "https://u.example/graphql", "T_US"),
        Store("india", "Asia/Kolkata", "2026-02-01", "https://i.example/graphql", "T_IN"),
        Store("nordic_b2b", "Europe/Stockholm", "2026-02-01", "https://b.example/graphql", "T_B2B"),
    )
    several = build_definitions(
        Settings(stores_file_stores=stores, snapshot_cron="30 1 * * *", events_cron="30 1 * * *")
    )
    repo = several.get_repository_def()  # every job resolves against the day x store partitions
    assert {"centra_events", "centra_snapshots", "centra_stock"} <= {j.name for j in repo.get_all_jobs()}
    assert {s.name for s in several.schedules} == {
        "centra_daily_events",
        "centra_daily_snapshots",
        "centra_inventory_hourly",
        "centra_daily_file_checks",  # one check of every store's files
    }
    zone = {s.name: s.tz for s in stores}
    asked: dict[tuple[str, str], list] = {}
    day = dt.datetime(2026, 3, 28, tzinfo=dt.UTC)  # Europe moves its clocks on the 29th, New York did on the 8th
    for name in ("centra_daily_snapshots", "centra_daily_events"):
        schedule = several.get_schedule_def(name)
        for tick in cron_string_iterator(day.timestamp(), schedule.cron_schedule, schedule.execution_timezone):
            if tick >= day + dt.timedelta(days=3):
                break
            context = build_schedule_context(scheduled_execution_time=tick, repository_def=repo)
            for r in schedule.evaluate_tick(context).run_requests:
                if name == "centra_daily_snapshots":  # partitioned by store only: a snapshot is today's
                    store, asked_day = r.partition_key, None
                else:  # yesterday and today, in the store's own calendar
                    end = several.get_repository_def().get_job("centra_events").partitions_def
                    by = end.get_partition_key_from_str(r.tags["dagster/asset_partition_range_end"])
                    store, asked_day = by.keys_by_dimension["store"], by.keys_by_dimension["date"]
                asked.setdefault((name, store), []).append((tick.astimezone(zone[store]), asked_day))
    for store in stores:  # once a day each, at 01:30 on its own clock (summer time or not), for its own day
        for name in ("centra_daily_snapshots", "centra_daily_events"):
            ticks = asked[(name, store.name)]
            assert {t.strftime("%H:%M") for t, _ in ticks} == {"01:30"}, (name, store.name)
            days = [t.date() for t, _ in ticks]
            assert len(days) >= 3 and days == [days[0] + dt.timedelta(days=i) for i in range(len(days))], store.name
            if name == "centra_daily_events":
                assert [d for _, d in ticks] == [t.date().isoformat() for t, _ in ticks]


def test_every_stores_today_is_a_partition_all_year_even_when_daylight_saving_swaps_which_is_furthest_east():
    import datetime as dt

    from dagster._core.definitions.partitions.context import partition_loading_context

    from centra_assets.defs.raw.partitions import DATE, partitions
    from centra_assets.settings import Settings, Store

    # Santiago is east of Halifax in January (southern summer time), Halifax east of Santiago in July
    for zones in (("America/Santiago", "America/Halifax"), ("Europe/Stockholm", "America/New_York")):
        stores = tuple(Store(f"s{i}", z, "2026-01-01") for i, z in enumerate(zones))
        (days,) = [
            d.partitions_def for d in partitions(Settings(stores_file_stores=stores)).partitions_defs if d.name == DATE
        ]
        for hour in range(0, 365 * 24, 23):  # every hour of the day comes round over the year
            now = dt.datetime(2027, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=hour, minutes=30)
            with partition_loading_context(now):
                last = days.get_last_partition_key()
            for store in stores:
                assert now.astimezone(store.tz).date().isoformat() <= last, (zones, store.name, now)


def test_a_refresh_files_records_of_the_reach_before_the_start_date_under_it_and_leaves_out_older_ones():
    """A purchase order placed before CENTRA_START_DATE, within its data type's reach, lives in the start date's
    partition (the start's sync reads it): its delivery now refreshes that partition. An older record, or an order
    (no reach) from before the start date, has no partition to refresh."""
    from centra_assets.defs.realtime.locate import plan_refresh
    from centra_assets.entities.supply import REACH_BEFORE_START
    from centra_assets.settings import Settings

    settings = Settings(timezone="Europe/Stockholm", start_date="2026-03-01")
    older = (dt.date(2026, 3, 1) - dt.timedelta(days=REACH_BEFORE_START + 1)).isoformat()
    located = {
        "purchase_orders": {"2026-02-20": {7}, "2026-03-02": {8}, older: {6}},
        "purchase_order_deliveries": {"2026-02-28": {70}},
        "orders": {"2026-02-27": {1001}},
    }
    (planned,) = plan_refresh(located, settings, settings.stores[0], "sweep")
    assert planned.keys == {"purchase_order_deliveries": [70], "purchase_orders": [7, 8]}
    assert planned.days == ["2026-03-01", "2026-03-02"]
    assert plan_refresh({"orders": {"2026-02-27": {1001}}}, settings, settings.stores[0], "sweep") == []


def test_multiprocess_runs_fork_their_steps_from_a_forkserver_that_loaded_the_code_location(monkeypatch, tmp_path):
    import dagster as dg
    from dagster._core.definitions.reconstruct import ReconstructableRepository

    monkeypatch.setenv("CENTRA_API_URL", "http://127.0.0.1:9/graphql")
    monkeypatch.setenv("CENTRA_API_TOKEN", "t")
    recon = ReconstructableRepository.for_module("centra_assets.definitions", "defs").get_reconstructable_job(
        "centra_stock"
    )
    job = recon.get_definition()

    def executor_for(run_config: dict, run_job=recon):
        config = dg.validate_run_config(job, run_config)["execution"][job.executor_def.name]
        with dg.DagsterInstance.local_temp(str(tmp_path)) as instance:
            context = dg.InitExecutorContext(
                job=run_job, executor_def=job.executor_def, executor_config=config, instance=instance
            )
            return job.executor_def.executor_creation_fn(context)

    default = executor_for({})  # what the UI, schedules, sensors and backfills launch
    assert type(default).__name__ == "MultiprocessExecutor" and default._start_method == "forkserver"
    preload = default._explicit_forkserver_preload
    # the code location itself (Dagster would preload only itself), then the instance's storage classes
    assert preload[0] == "centra_assets.definitions" and "dagster._core.storage.runs" in preload
    # the run config Dagster's default executor takes still works: in process (deploy/tests), or chosen otherwise
    assert type(executor_for({"execution": {"config": {"in_process": {}}}})).__name__ == "InProcessExecutor"
    spawn = executor_for(
        {"execution": {"config": {"multiprocess": {"start_method": {"spawn": {}}, "max_concurrent": 3}}}}
    )
    assert spawn._start_method == "spawn" and spawn._max_concurrent == 3

    # a build of the marts alone (the automation's) runs in the run's own process: nothing to run side by side
    marts = ReconstructableRepository.for_module("centra_assets.definitions", "defs").get_reconstructable_job(
        "__ASSET_JOB"
    )
    marts = marts.get_subset(asset_selection={dg.AssetKey(["analytics", n]) for n in ("daily_sales", "fct_orders")})
    assert type(executor_for({}, marts)).__name__ == "InProcessExecutor"


def test_every_raw_column_is_described_every_raw_asset_versions_its_spec_and_the_deployment_names_the_owner():
    """The UI's reader sees what each raw column holds (its words in the spec, else its Centra field), which spec
    wrote a materialization (a code version that changes with the spec's query or columns), and whom to ask (the
    deployment's owner, or none: no placeholder)."""
    from dataclasses import replace

    import pytest

    from centra_assets.defs import build_definitions
    from centra_assets.defs.raw.assets import code_version
    from centra_assets.entities import ALL, BY_NAME
    from centra_assets.entities.spec import f64
    from centra_assets.settings import Settings, settings_from_env

    owned = build_definitions(Settings(asset_owner="team:merchandising")).resolve_all_asset_specs()
    raw = {s.key.path[1]: s for s in owned if s.key.path[0] == "centra"}
    assert set(raw) == {t.name for spec in ALL for t in spec.tables}
    for spec in raw.values():
        columns = spec.metadata["dagster/column_schema"].columns
        assert all(c.description for c in columns), [c.name for c in columns if not c.description]
        assert spec.code_version
    described = {c.name: c.description for c in raw["orders"].metadata["dagster/column_schema"].columns}
    assert described["grand_total"] == "Centra `orders.grandTotal.value`"
    assert described["items_subtotal"] == (
        "Centra `orders.totals.lineValues.value` (in other Centra versions `orders.totals.itemsSubtotal.value`)"
    )
    lines = {c.name: c.description for c in raw["order_lines"].metadata["dagster/column_schema"].columns}
    assert lines["product_id"] == "Centra `orders.lines(includeFullyCancelled: true).product.id`"
    team = ("team:merchandising",)
    assert {s.key.path[0]: tuple(s.owners) for s in owned} == {"centra": team, "analytics": team}
    assert all(s.owners == [] for s in build_definitions(Settings()).resolve_all_asset_specs())

    orders = BY_NAME["orders"]
    versions = {code_version(spec) for spec in ALL}
    assert len(versions) == len(ALL) and code_version(orders) == raw["orders"].code_version
    first = orders.tables[0]
    moved = replace(first, columns=(*first.columns[:-1], f64(first.columns[-1].name, "allocationRule.priority")))
    assert code_version(replace(orders, tables=(moved, *orders.tables[1:]))) != code_version(orders)

    with pytest.raises(ValueError, match="CENTRA_ASSET_OWNER 'data' is not an asset owner"):
        settings_from_env({"CENTRA_ASSET_OWNER": "data"})
    assert settings_from_env({"CENTRA_ASSET_OWNER": "ops@example.com"}).asset_owner == "ops@example.com"


@pytest.mark.slow  # a process importing dbt (1-3 s)
def test_the_dbt_resource_knows_the_version_of_the_dbt_it_runs_without_asking_it_each_build():
    # the dbt executable's own interpreter says which dbt-core it runs (`dbt --version` would ask PyPI too)
    import subprocess
    from pathlib import Path

    from centra_assets.defs.marts.dbt import dbt_resource

    resource = dbt_resource()
    interpreter = Path(resource.dbt_executable).read_text().splitlines()[0].removeprefix("#!")
    asked = [interpreter, "-c", "import dbt.version; print(dbt.version.__version__)"]
    told = subprocess.run(asked, capture_output=True, text=True, check=True).stdout.strip()
    assert str(resource._cli_version) == told
