"""When the marts build. On a new store whose raw tables land one data type at a time, the marts' automation
sensor `centra_marts_automation`, ticked as the daemon ticks it, asks for no dbt model before every raw table it
reads is in the warehouse, and for every model once they all are. With several stores "in the warehouse" means in
every store's: a store added beside a landed one holds the models back until its own tables have landed (one
warehouse, one build: the landed store's marts wait too, DECISIONLOG.md)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections import Counter

import dagster as dg
import pytest

from centra_assets.defs import build_definitions
from centra_assets.defs.raw.assets import sync_assets
from centra_assets.defs.raw.partitions import STORE, key, snapshot_key
from centra_assets.defs.realtime.locate import TAG, plan_refresh
from centra_assets.entities import BY_NAME
from centra_assets.settings import Settings, Store
from centra_assets.warehouse import files
from centra_sim.testing import runs as launched

from ..helpers import TZ, pin_clock, raw_path, resource_for, settings_for, sim_day, truth

Run = tuple[Store, str]
DAILY_SALES = dg.AssetKey(["analytics", "daily_sales"])
ORDERS = dg.AssetKey(["centra", BY_NAME["orders"].tables[0].name])  # the orders' own table of their data type


def land_and_evaluate(centra, settings: Settings, day: str, landing: list[list[Run]], built_over: tuple[Run, ...] = ()):
    """Lands each batch of runs, then ticks the marts' automation sensor (an empty batch: a tick alone), each run
    one store's data types: "events" (every event data type), "events_but_returns", "returns" or "snapshots".
    Each tick's requests are taken as built (the dbt build itself is tested in test_marts.py) before the next batch
    lands, as the sensor's run would; `built_over`: runs landed, and every model built over them, before the first
    tick. Asserts no tick asks for a model before every raw table it reads is in every store's warehouse, and that
    every model is asked for in the end."""
    resource, instance = resource_for(centra, settings), dg.DagsterInstance.ephemeral()
    defs = build_definitions(settings)
    graph = defs.resolve_asset_graph()
    automated = {k for k in graph.get_all_asset_keys() if graph.get(k).automation_condition is not None}
    assert {dg.AssetKey(["analytics", "daily_sales"]), dg.AssetKey(["analytics", "stg_return_lines"])} <= automated

    def raw_tables(model: dg.AssetKey) -> set[str]:
        parents = graph.get(model).parent_keys
        return {p.path[1] for p in parents if p.path[0] == "centra"} | {
            t for p in parents if p.path[0] == "analytics" for t in raw_tables(p)
        }

    def not_in_warehouse(table: str) -> list[str]:  # what dbt's staging view reads: the table's Parquet files
        return [s.name for s in settings.stores if not files.glob(raw_path(settings, table, store=s.name))]

    events = sync_assets(defs.assets, "event")
    runs = {
        "events": events,
        "events_but_returns": [a for a in events if a.op.name != "centra_returns"],
        "returns": [a for a in events if a.op.name == "centra_returns"],
        "snapshots": sync_assets(defs.assets, "snapshot"),
    }

    def land(batch: list[Run]):
        for store, run in batch:
            partition = snapshot_key(settings, store) if run == "snapshots" else key(settings, store, day)
            dg.materialize(runs[run], partition_key=partition, resources={"centra": resource}, instance=instance)

    land(built_over)
    for model in automated if built_over else ():
        instance.report_runless_asset_event(dg.AssetMaterialization(model))
    cursor, asked = None, set()
    for batch in landing:
        land(batch)
        cursor, requested = tick(defs, instance, cursor)
        too_early = {m.to_user_string(): {t: not_in_warehouse(t) for t in raw_tables(m)} for m in requested}
        too_early = {m: {t: s for t, s in tables.items() if s} for m, tables in too_early.items()}
        assert not {m: t for m, t in too_early.items() if t}, f"after {[(s.name, r) for s, r in batch]} landed"
        asked |= {m.to_user_string() for m in requested}
    assert asked == {k.to_user_string() for k in automated}, sorted(k.to_user_string() for k in automated - asked)


def tick(defs: dg.Definitions, instance: dg.DagsterInstance, cursor: str | None) -> tuple[str, set[dg.AssetKey]]:
    """One tick of the marts' automation sensor, as the daemon ticks it; the models it asks for are taken as built
    (the dbt build itself is tested in test_marts.py), and then seen by the sensor's next tick, which asks for
    nothing (a change pending meanwhile waits for the tick after: conditions.py MartsBuildInFlight). Returns the
    next cursor and the models asked for."""
    sensor = defs.get_sensor_def("centra_marts_automation")

    def evaluate(cursor: str | None) -> tuple[str, set[dg.AssetKey]]:
        context = dg.build_sensor_context(instance=instance, cursor=cursor, repository_def=defs.get_repository_def())
        result = sensor.evaluate_tick(context)
        return result.cursor, {k for r in result.run_requests for k in r.asset_selection}

    cursor, requested = evaluate(cursor)
    if requested:
        for model in requested:
            instance.report_runless_asset_event(dg.AssetMaterialization(model))
        cursor, seeing = evaluate(cursor)
        assert not seeing, f"the tick that sees a build asked for {sorted(k.to_user_string() for k in seeing)}"
    return cursor, requested


def test_no_model_is_asked_for_until_every_raw_table_it_reads_has_landed(make_centra, tmp_path):
    centra = make_centra(days=2, orders_per_day=20)
    day = sim_day(centra, 0)
    settings = settings_for(tmp_path, start=day)  # a new store: one day of event data
    store = settings.stores[0]
    land_and_evaluate(
        centra, settings, day, [[], [(store, "events_but_returns")], [(store, "snapshots")], [(store, "returns")]]
    )


def test_a_store_added_beside_a_landed_one_holds_the_models_back_until_its_own_tables_have_landed(
    make_centra, tmp_path
):
    centra = make_centra(days=2, orders_per_day=10)
    day = sim_day(centra, 0)
    # both stores read the one simulator; each has a past day never synced, which holds nothing back
    landed, added = Store("landed", TZ, sim_day(centra, 1)), Store("added", TZ, sim_day(centra, 1))
    settings = Settings(warehouse_dir=str(tmp_path / "warehouse"), stores_file_stores=(landed, added))
    # every model built over the first store when the second is added to the stores file; the sensor ticks once
    # on the new code location before the second store's first run lands, and then as its data types land
    landing = [[], [(added, "events_but_returns")], [(added, "snapshots")], [(added, "returns")]]
    land_and_evaluate(centra, settings, day, landing, built_over=((landed, "events"), (landed, "snapshots")))


def landed_and_built(centra, tmp_path, day: str, listed: str = ""):
    """A store whose first day (`day`) landed, and every model built over it as the marts' automation asks: its
    settings, resource, instance, definitions, and the sensor's cursor after the tick that saw the build. `listed`:
    the store's name in a stores file (partitions by day and store)."""
    settings = settings_for(tmp_path, start=day)
    if listed:
        settings = dataclasses.replace(settings, stores_file_stores=(Store(listed, TZ, day),))
    store = settings.stores[0]
    resource, instance = resource_for(centra, settings), dg.DagsterInstance.ephemeral()
    defs = build_definitions(settings)
    cursor, _ = tick(defs, instance, None)  # the sensor's first tick, before anything landed
    for kind, partition in (("event", key(settings, store, day)), ("snapshot", snapshot_key(settings, store))):
        dg.materialize(
            sync_assets(defs.assets, kind), partition_key=partition, resources={"centra": resource}, instance=instance
        )
    cursor, requested = tick(defs, instance, cursor)
    assert DAILY_SALES in requested  # every model built over the landed day
    cursor, _ = tick(defs, instance, cursor)  # the next tick sees the build's own materializations
    return settings, resource, instance, defs, cursor


def test_a_refresh_asks_for_the_models_again_when_it_changed_a_day_and_only_then(make_centra, tmp_path):
    """A refresh run records a materialization only for the days whose records changed (raw/assets.py): the marts
    must still see it as an update of the raw tables, and a refresh that changed nothing asks for no build."""
    centra = make_centra(days=3, orders_per_day=20)
    day = sim_day(centra, 1)
    settings, resource, instance, defs, cursor = landed_and_built(centra, tmp_path, day)
    store = settings.stores[0]
    since = centra.sim.clock.now()
    centra.admin("clock", {"advance": 24 * 3600})
    orders = {
        o["number"]: dt.datetime.fromisoformat(o["updated_at"]).timestamp() > since
        for o in truth(centra, "orders", day)
    }
    unchanged, changed = (next(n for n, moved in orders.items() if moved is want) for want in (False, True))
    for number, rebuilds in ((unchanged, False), (changed, True)):
        (planned,) = plan_refresh({"orders": {day: {number}}}, settings, store, "webhook")
        assert launched.run(sync_assets(defs.assets), planned.request, resource, instance, raise_on_error=True)
        cursor, requested = tick(defs, instance, cursor)
        assert (DAILY_SALES in requested) is rebuilds, (number, sorted(m.to_user_string() for m in requested))


def test_builds_coalesce_no_model_is_asked_for_while_a_build_runs_and_then_all_in_one(
    make_centra, tmp_path, monkeypatch
):
    """Orders land again while a build of daily_sales runs: eager alone asked at once for every other model the
    orders feed (a second build, which waited for the first, and whose tests compared its marts with the first's).
    Builds coalesce: nothing is asked for while the build is in flight, and once it is done every model the change
    touched is asked for in one run."""
    centra = make_centra(days=1, orders_per_day=10)
    monkeypatch.setenv("CENTRA_API_URL", centra.graphql_url)  # the runs made below resolve the job's resources
    monkeypatch.setenv("CENTRA_API_TOKEN", "test-token-full")
    day = sim_day(centra, 0)
    settings = settings_for(tmp_path, start=day)
    store = settings.stores[0]
    resource, instance = resource_for(centra, settings), dg.DagsterInstance.ephemeral()
    defs = build_definitions(settings)
    events, snapshots = sync_assets(defs.assets, "event"), sync_assets(defs.assets, "snapshot")
    orders = [a for a in events if a.op.name == "centra_orders"]
    resources = {"centra": resource}

    def land(assets, partition):
        assert dg.materialize(assets, partition_key=partition, resources=resources, instance=instance).success

    cursor = None

    def next_tick() -> set[dg.AssetKey]:  # the models asked for are taken as built
        nonlocal cursor
        cursor, requested = tick(defs, instance, cursor)
        return requested

    assert not next_tick()  # the sensor's first tick, before anything lands
    land(events, key(settings, store, day))
    land(snapshots, snapshot_key(settings, store))
    everything = next_tick()
    assert dg.AssetKey(["analytics", "daily_sales"]) in everything, sorted(k.to_user_string() for k in everything)
    assert not next_tick()

    daily_sales = dg.AssetKey(["analytics", "daily_sales"])
    job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection={daily_sales})
    running = instance.create_run_for_job(job, asset_selection={daily_sales}, status=dg.DagsterRunStatus.STARTED)
    land(orders, key(settings, store, day))  # a refresh of the day's orders lands while the build runs
    assert not next_tick(), "a second build asked for while one runs"
    assert not next_tick()

    instance.report_run_canceled(running)
    after = next_tick()
    fed_by_orders = {k for k in everything if dg.AssetKey(["centra", "orders"]) in graph_roots(defs, k)}
    assert daily_sales in after and fed_by_orders <= after, sorted(k.to_user_string() for k in fed_by_orders - after)

    # A sync run (a schedule's, a backfill's) writes its data types step by step: the marts wait for it to end, not
    # build after each step. A refresh run holds nothing back.
    raw_orders = {dg.AssetKey(["centra", t.name]) for t in BY_NAME["orders"].tables}
    for tags, holds in (({}, True), ({TAG: "refresh:test"}, False)):
        next_tick()  # the tick that sees the last build's own materializations
        land(orders, key(settings, store, day))  # the sync's first steps landed...
        sync = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection=raw_orders)
        tags = {**tags, "dagster/partition": key(settings, store, day)}
        run = instance.create_run_for_job(
            sync, asset_selection=raw_orders, status=dg.DagsterRunStatus.STARTED, tags=tags
        )
        asked = next_tick()  # ...and it is still writing
        assert (daily_sales not in asked) is holds, (tags, sorted(k.to_user_string() for k in asked))
        instance.report_run_canceled(run)
        if holds:
            assert daily_sales in next_tick()  # once it ended, one build

    # A sync of the customers snapshot, which only some models read, holds every model back while it is queued or
    # running, those that do not read customers too (the soak test built the purchase order and stock staging
    # views during a snapshot sync, then everything again after it): one build after the last sync, with every
    # model the changes pending meanwhile touched, fct_orders and the marts its tests compare it with included
    # (daily_sales: assert_daily_sales_reconcile_with_orders; fct_order_lines: relationships_order_number).
    next_tick()
    land(orders, key(settings, store, day))
    raw_customers = {dg.AssetKey(["centra", t.name]) for t in BY_NAME["customers"].tables}
    assert not raw_customers & graph_roots(defs, daily_sales)  # (what the test is about)
    sync = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection=raw_customers)
    partition = {"dagster/partition": snapshot_key(settings, store)} if snapshot_key(settings, store) else {}
    for status in (dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTED):  # asked for (queued), running
        run = instance.create_run_for_job(sync, asset_selection=raw_customers, status=status, tags=partition)
        asked = next_tick()
        assert not asked, (status, sorted(k.to_user_string() for k in asked))
        instance.report_run_canceled(run)
    compared = {dg.AssetKey(["analytics", m]) for m in ("fct_orders", "daily_sales", "fct_order_lines")}
    asked = next_tick()
    assert compared | fed_by_orders <= asked, sorted(k.to_user_string() for k in (compared | fed_by_orders) - asked)

    # Orders land while a build runs, and its last model is updated after the sensor's previous tick: the change is
    # built in one build, with the mart the build just updated, not level by level in one build after another (the
    # soak test: five builds after the last change, each of the models the one before had left behind).
    next_tick()
    running = instance.create_run_for_job(job, asset_selection={daily_sales}, status=dg.DagsterRunStatus.STARTED)
    land(orders, key(settings, store, day))
    assert not next_tick()
    instance.report_runless_asset_event(dg.AssetMaterialization(daily_sales))
    instance.report_run_canceled(running)  # the build ends
    builds = [b for b in (next_tick() for _ in range(3)) if b]
    assert len(builds) == 1 and fed_by_orders <= builds[0], [sorted(k.path[-1] for k in b) for b in builds]

    # A refresh waiting for the build's turn publishes orders right after the build, before the sensor's next tick:
    # the tick sees the raw update and the models' own updates at once, and eager's `handled` (the models updated)
    # wins over the raw update (`any_deps_updated`): the change was dropped, the marts stale until the next one.
    running = instance.create_run_for_job(
        defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection=everything),
        asset_selection=everything,
        status=dg.DagsterRunStatus.STARTED,
    )
    assert not next_tick()
    for model in everything:  # the build's models are recorded while it holds the warehouse's turn ...
        instance.report_runless_asset_event(dg.AssetMaterialization(model))
    land(orders, key(settings, store, day))  # ... and the refresh publishes after it
    instance.report_run_canceled(running)
    builds = [b for b in (next_tick() for _ in range(3)) if b]
    assert len(builds) == 1 and fed_by_orders <= builds[0], [sorted(k.path[-1] for k in b) for b in builds]


def graph_roots(defs: dg.Definitions, model: dg.AssetKey) -> set[dg.AssetKey]:
    graph = defs.resolve_asset_graph()
    return graph.get_materializable_roots(model)


@pytest.mark.slow  # every model's condition evaluated, twice: seconds
def test_a_tick_reads_the_builds_and_raw_updates_of_every_model_in_one_query(tmp_path, monkeypatch):
    """A tick compares each model's latest build with the latest updates of the raw tables it reads
    (conditions.py RawUpdatedAfterBuild): every asset's latest materialization in one query a tick, and the latest run
    planning a model only for the models whose raw tables are newer than their build. A query per model (~140) made
    15 s of a 25 s tick on a busy machine, and the webhook sensor's ticks waited behind it (issue #27)."""
    pin_clock(monkeypatch, dt.datetime(2026, 12, 6, 12, tzinfo=dt.UTC))
    settings = settings_for(tmp_path, start="2026-12-01")
    store, instance = settings.stores[0], dg.DagsterInstance.ephemeral()
    defs = build_definitions(settings)
    graph = defs.resolve_asset_graph()
    models = [k for k in graph.get_all_asset_keys() if graph.get(k).automation_condition is not None]

    def landed(assets):
        for asset in assets:
            partition = snapshot_key(settings, store) if asset in snapshots else key(settings, store, "2026-12-02")
            for table in asset.keys:
                instance.report_runless_asset_event(dg.AssetMaterialization(table, partition=partition))

    snapshots = sync_assets(defs.assets, "snapshot")
    landed(sync_assets(defs.assets, "event") + snapshots)
    for model in models:  # every model built over them
        instance.report_runless_asset_event(dg.AssetMaterialization(model))
    cursor, _ = tick(defs, instance, None)
    orders = next(a for a in defs.assets if getattr(a, "op", None) is not None and a.op.name == "centra_orders")
    landed([orders])  # then a refresh of an order

    queries: Counter = Counter()

    def counted(name: str):
        method = getattr(instance, name)
        return lambda *args, **kwargs: queries.update([name]) or method(*args, **kwargs)

    for name in ("get_asset_records", "get_latest_planned_materialization_info"):
        monkeypatch.setattr(instance, name, counted(name))
    context = dg.build_sensor_context(instance=instance, cursor=cursor, repository_def=defs.get_repository_def())
    requested = {
        k
        for r in defs.get_sensor_def("centra_marts_automation").evaluate_tick(context).run_requests
        for k in r.asset_selection
    }
    assert DAILY_SALES in requested
    # a few queries, not one a model (the condition's, and Dagster's own); the runs planning a model are asked of the
    # few models reading orders (each evaluated in a few branches of its condition), not of every model
    assert queries["get_asset_records"] <= 3, queries
    assert queries["get_latest_planned_materialization_info"] < len(models) / 3, (queries, len(models))


@pytest.mark.slow  # every model's condition evaluated: seconds
def test_a_models_condition_is_as_many_nodes_whatever_the_number_of_its_inputs(tmp_path):
    """Every node of every model's condition is evaluated on every tick and kept in the sensor's cursor. Dagster's
    `any_deps_updated` and `all_deps_match` evaluate a sub-tree per input (12 nodes an input: 196 inputs of 93
    models, half of a tick's nodes; the quiet tick took twice as long, its cursor three times the size): the
    project's InputUpdated and EveryInputLanded decide for all the inputs in one node each (conditions.py)."""
    settings = settings_for(tmp_path, start="2026-12-01")
    defs = build_definitions(settings)
    graph = defs.resolve_asset_graph()
    evaluated = dg.evaluate_automation_conditions(defs=defs, instance=dg.DagsterInstance.ephemeral()).results

    def nodes(result) -> int:
        return 1 + sum(nodes(child) for child in result.child_results)

    by_inputs = {len(graph.get(r.key).parent_keys): nodes(r) for r in evaluated}
    assert len(by_inputs) > 5 and max(by_inputs) >= 5, by_inputs  # models of one input, and of many
    assert len(set(by_inputs.values())) == 1, f"nodes by the number of a model's inputs: {by_inputs}"


@pytest.mark.slow  # every model's condition evaluated, 4 ways, 7 times: seconds
def test_the_one_node_conditions_answer_as_dagsters_own(tmp_path):
    """InputUpdated answers as Dagster's `any_deps_updated`, and EveryInputLanded is at least as strict as
    `all_deps_match(~missing() | will_be_requested())`, tick after tick, each model's condition alone (what it asks
    for feeds `will_be_requested` of the models reading it): raw tables landing, a build of every model in one run
    (an input updated by a run that built the model too is no trigger), a quiet tick, a raw update, a build of part
    of the models, a run whose updates straddle a tick; a model whose input model is held back by a raw table the
    model itself does not read."""
    from centra_assets.defs.marts.conditions import EveryInputLanded, InputUpdated

    settings = settings_for(tmp_path, start="2026-12-01")
    store, instance = settings.stores[0], dg.DagsterInstance.ephemeral()
    defs = build_definitions(settings)
    graph = defs.resolve_asset_graph()
    models = sorted(k for k in graph.get_all_asset_keys() if graph.get(k).automation_condition is not None)
    dagsters = dg.AutomationCondition.all_deps_match(
        ~dg.AutomationCondition.missing() | dg.AutomationCondition.will_be_requested()
    )
    pairs = {
        "updated": (InputUpdated(), dg.AutomationCondition.any_deps_updated()),
        "landed": (EveryInputLanded(), dagsters & EveryInputLanded()),
    }
    variants = {
        (name, k): defs.map_resolved_asset_specs(
            func=lambda spec, c=condition: (
                spec.replace_attributes(automation_condition=c) if spec.key in models else spec
            )
        )
        for name, conditions in pairs.items()
        for k, condition in enumerate(conditions)
    }
    cursors: dict = dict.fromkeys(variants)

    def ticks_agree(step: str):
        asked = {}
        for variant, variant_defs in variants.items():
            result = dg.evaluate_automation_conditions(defs=variant_defs, instance=instance, cursor=cursors[variant])
            cursors[variant] = result.cursor
            asked[variant] = {r.key for r in result.results if not r.true_subset.is_empty}
        for name in pairs:
            ours, theirs = asked[(name, 0)], asked[(name, 1)]
            assert ours == theirs, (step, name, sorted(k.to_user_string() for k in ours ^ theirs))
        return {name: asked[(name, 0)] for name in pairs}

    def build(selection, recorded=None):
        job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection=set(selection))
        run = _run(instance, job, dg.DagsterRunStatus.STARTED, asset_selection=set(selection))
        for model in selection if recorded is None else recorded:
            _published(instance, run, model, None)
        return run

    snapshots = sync_assets(defs.assets, "snapshot")
    raw = sync_assets(defs.assets, "event") + snapshots
    orders = next(a for a in raw if a.op.name == "centra_orders")

    def landed(assets):
        for asset in assets:
            partition = snapshot_key(settings, store) if asset in snapshots else key(settings, store, "2026-12-02")
            for table in asset.keys:
                instance.report_runless_asset_event(dg.AssetMaterialization(table, partition=partition))

    ticks_agree("nothing landed")
    # stg_orders waits for the customers snapshot (a test compares it with a model reading customers), and int_orders,
    # which reads no customers, waits for its input stg_orders
    customers = next(a for a in raw if dg.AssetKey(["centra", "customers"]) in a.keys)
    landed([a for a in raw if a is not customers])
    assert dg.AssetKey(["analytics", "int_orders"]) not in ticks_agree("every raw table but customers landed")["landed"]
    landed([customers])
    assert DAILY_SALES in ticks_agree("every raw table landed")["landed"]
    build(models)
    assert not ticks_agree("every model built in one run")["updated"]
    assert not ticks_agree("quiet")["updated"]
    landed([orders])
    assert DAILY_SALES in ticks_agree("orders updated")["updated"]
    readers = [m for m in models if any(p.path[0] == "centra" for p in graph.get(m).parent_keys)]
    build(readers)
    assert DAILY_SALES in ticks_agree("the staging models built alone")["updated"]
    build(models, recorded=models[: len(models) // 2])
    ticks_agree("half of a build recorded")


def test_an_upgrade_changing_a_models_code_asks_for_it_and_what_reads_it(make_centra, tmp_path, monkeypatch):
    """An upgrade changing a model's SQL (or a macro it calls: changes.code_version) left the marts as the old code
    built them until the raw data they read changed again: eager asks on updates alone. On the first tick of the new
    code, the automation asks for the model and for what reads it, not for what it reads."""
    from centra_assets.defs.marts.dbt import CentraDbtTranslator

    centra = make_centra(days=2, orders_per_day=10)
    settings, _, instance, defs, cursor = landed_and_built(centra, tmp_path, sim_day(centra, 1))
    cursor, requested = tick(defs, instance, cursor)
    assert not requested  # quiet: nothing changed since

    int_orders = dg.AssetKey(["analytics", "int_orders"])
    version = CentraDbtTranslator.get_code_version
    monkeypatch.setattr(
        CentraDbtTranslator,
        "get_code_version",
        lambda self, props: "upgraded" if props["name"] == "int_orders" else version(self, props),
    )
    upgraded = build_definitions(settings)
    assert upgraded.resolve_asset_graph().get(int_orders).code_version == "upgraded"
    cursor, requested = tick(upgraded, instance, cursor)
    assert {int_orders, DAILY_SALES} <= requested, sorted(k.to_user_string() for k in requested)
    assert dg.AssetKey(["analytics", "stg_orders"]) not in requested


def _a_store_built(make_centra, tmp_path, monkeypatch, listed: str = ""):
    """A store's day landed and every model built over it (landed_and_built, `listed` as there), and the environment
    the runs a test makes resolve their resources from: the instance, definitions, the sensor's cursor and the day's
    partition."""
    centra = make_centra(days=2, orders_per_day=10)
    monkeypatch.setenv("CENTRA_API_URL", centra.graphql_url)
    monkeypatch.setenv("CENTRA_API_TOKEN", "test-token-full")
    day = sim_day(centra, 1)
    settings, _, instance, defs, cursor = landed_and_built(centra, tmp_path, day, listed)
    return instance, defs, cursor, key(settings, settings.stores[0], day)


def _refresh(instance: dg.DagsterInstance, defs: dg.Definitions, tables: set[dg.AssetKey]) -> dg.DagsterRun:
    """A refresh run of the raw tables, started."""
    job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection=tables)
    return instance.create_run_for_job(
        job, asset_selection=tables, status=dg.DagsterRunStatus.STARTED, tags={TAG: "refresh:test"}
    )


def _run(instance: dg.DagsterInstance, job: dg.JobDefinition, status: dg.DagsterRunStatus, **kwargs) -> dg.DagsterRun:
    """A run of the job in `status`, launched from the code location (Dagster queues only a run naming its job's
    origin there)."""
    from dagster._core.remote_origin import RegisteredCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin

    location = RemoteRepositoryOrigin(RegisteredCodeLocationOrigin("centra_assets"), "__repository__")
    origin = RemoteJobOrigin(location, job.name)
    return instance.create_run_for_job(job, status=status, remote_job_origin=origin, **kwargs)


def _published(instance: dg.DagsterInstance, run: dg.DagsterRun, table: dg.AssetKey, partition: str | None) -> None:
    """An asset's materialization in `run`'s event log, as the run's step records it (a raw table's when it
    publishes)."""
    from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData

    materialized = StepMaterializationData(dg.AssetMaterialization(table, partition=partition))
    event = DagsterEvent(DagsterEventType.ASSET_MATERIALIZATION.value, run.job_name, event_specific_data=materialized)
    instance.report_dagster_event(event, run_id=run.run_id)


def test_a_refresh_half_published_when_a_tick_began_is_built_in_one_build_once_it_ended(
    make_centra, tmp_path, monkeypatch
):
    """A refresh publishes its data types one after another, a second or two apart, and a tick takes seconds: the
    soak test's tick saw a refresh's purchase orders and not its stock, asked for a build of the purchase order
    models, and a second build of the stock view followed it. A tick whose snapshot of the event log holds part of
    a run's raw updates, the run not ended, asks for nothing; the tick after the run ended asks for everything it
    changed, in one build."""
    instance, defs, cursor, partition = _a_store_built(make_centra, tmp_path, monkeypatch)
    orders, returns = (dg.AssetKey(["centra", BY_NAME[name].tables[0].name]) for name in ("orders", "returns"))
    refresh = _refresh(instance, defs, {orders, returns})
    _published(instance, refresh, orders, partition)
    cursor, requested = tick(defs, instance, cursor)
    assert not requested, sorted(k.to_user_string() for k in requested)

    _published(instance, refresh, returns, partition)  # every data type it plans landed, but it has not ended
    cursor, requested = tick(defs, instance, cursor)
    assert not requested, sorted(k.to_user_string() for k in requested)

    instance.report_run_canceled(refresh)  # (how it ends does not matter: it published what it had)
    cursor, requested = tick(defs, instance, cursor)
    both = {dg.AssetKey(["analytics", "stg_orders"]), dg.AssetKey(["analytics", "stg_returns"]), DAILY_SALES}
    assert both <= requested, sorted(k.to_user_string() for k in both - requested)
    cursor, requested = tick(defs, instance, cursor)
    assert not requested


def test_a_tick_reads_the_event_log_as_it_was_when_the_tick_began(make_centra, tmp_path, monkeypatch):
    """Raw data landing during a tick's seconds of reads was seen by the conditions read after it and not by those
    read before (Dagster's own `newly_updated` too): a tick evaluates every model on the event log up to the storage
    id captured as it began, and the tick after sees the rest."""
    from centra_assets.defs import policy
    from centra_assets.defs.marts.automation import SETTLE_ENV, marts_automation_sensor

    monkeypatch.delenv(SETTLE_ENV)
    marts_automation_sensor()  # Dagster enforces the snapshot only with a settle delay: the sensor sets policy's
    assert float(os.environ[SETTLE_ENV]) == policy.MARTS_TICK_SETTLE_SECONDS > 0
    monkeypatch.setenv(SETTLE_ENV, "0.001")  # (without the wait)

    instance, defs, cursor, partition = _a_store_built(make_centra, tmp_path, monkeypatch)
    storage = instance.event_log_storage
    began = storage.get_maximum_record_id()
    instance.report_runless_asset_event(dg.AssetMaterialization(ORDERS, partition=partition))
    with monkeypatch.context() as during:  # the orders land after the tick captured its snapshot
        during.setattr(storage, "get_maximum_record_id", lambda: began)
        cursor, requested = tick(defs, instance, cursor)
    assert not requested, sorted(k.to_user_string() for k in requested)
    cursor, requested = tick(defs, instance, cursor)
    assert {dg.AssetKey(["analytics", "stg_orders"]), DAILY_SALES} <= requested, sorted(
        k.to_user_string() for k in requested
    )


def test_a_run_holds_the_marts_until_the_snapshot_holds_its_end_and_for_seconds_after_its_last_update_at_most(
    make_centra, tmp_path, monkeypatch
):
    """A run that ended after the tick's snapshot was taken was still publishing as far as the snapshot tells: it
    holds the marts on that tick. A run that published and then waits (for the centra_api pool, the warehouse's turn)
    or hangs holds them for PUBLISHING_SECONDS after its last raw update at most: a run stuck in STARTED (its process
    killed) held every mart until its tables were written again."""
    from centra_assets.defs import policy

    instance, defs, cursor, partition = _a_store_built(make_centra, tmp_path, monkeypatch)

    def refresh() -> dg.DagsterRun:
        run = _refresh(instance, defs, {ORDERS})
        _published(instance, run, ORDERS, partition)
        return run

    ended_after = refresh()
    storage = instance.event_log_storage
    snapshot = storage.get_maximum_record_id()  # the tick's snapshot holds the update, not the run's end
    instance.report_run_canceled(ended_after)
    with monkeypatch.context() as during:
        during.setattr(storage, "get_maximum_record_id", lambda: snapshot)
        cursor, requested = tick(defs, instance, cursor)
    assert not requested, sorted(k.to_user_string() for k in requested)
    cursor, requested = tick(defs, instance, cursor)
    assert DAILY_SALES in requested

    refresh()  # published, and then it waits, or hangs, in STARTED
    cursor, requested = tick(defs, instance, cursor)
    assert not requested
    monkeypatch.setattr(policy, "PUBLISHING_SECONDS", 0.0)  # its last update is older than that now
    cursor, requested = tick(defs, instance, cursor)
    assert DAILY_SALES in requested, sorted(k.to_user_string() for k in requested)


def test_a_refresh_of_a_store_not_in_the_deployments_holds_none_of_its_marts(make_centra, tmp_path, monkeypatch):
    """Another deployment sharing the instance writes the same raw tables for its own stores: its refresh, one data
    type landed and not ended, holds none of this deployment's marts (conditions.py `_ours`); the same refresh of a
    store of this deployment holds them until it ends."""
    instance, defs, cursor, partition = _a_store_built(make_centra, tmp_path, monkeypatch, listed="ours")
    theirs = dg.MultiPartitionKey({**partition.keys_by_dimension, STORE: "theirs"})
    instance.report_runless_asset_event(dg.AssetMaterialization(ORDERS, partition=partition))  # a change of ours
    for store_partition, holds in ((theirs, False), (partition, True)):
        refresh = _refresh(instance, defs, {ORDERS})
        _published(instance, refresh, ORDERS, store_partition)
        cursor, requested = tick(defs, instance, cursor)
        assert (DAILY_SALES not in requested) is holds, (store_partition, sorted(k.to_user_string() for k in requested))
        instance.report_run_canceled(refresh)
    cursor, requested = tick(defs, instance, cursor)
    assert DAILY_SALES in requested, sorted(k.to_user_string() for k in requested)


def test_a_run_of_a_whole_job_building_a_model_is_a_build_in_flight(make_centra, tmp_path, monkeypatch):
    """A run of a whole job (`centra_marts` launched by hand, `make demo`, a job of a few marts of an operator's own)
    has no asset selection: the models it builds are its planned materializations (conditions.py `_builds_a_model`).
    While it is queued or running no model is asked for, those it does not build included; once it ended, the
    change pending meanwhile is, in one build. (Dagster's own `in_progress` holds only the models the run plans: all
    of them in `centra_marts`.)"""
    from centra_assets.definitions import centra_marts

    instance, defs, cursor, partition = _a_store_built(make_centra, tmp_path, monkeypatch)
    categories = dg.define_asset_job("categories", selection=[dg.AssetKey(["analytics", "dim_categories"])])
    jobs = dg.Definitions.merge(defs, dg.Definitions(jobs=[centra_marts, categories]))
    for job in (centra_marts, categories):
        for status in (dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.STARTED):
            build = _run(instance, jobs.resolve_job_def(job.name), status)
            assert build.asset_selection is None
            instance.report_runless_asset_event(dg.AssetMaterialization(ORDERS, partition=partition))
            cursor, requested = tick(defs, instance, cursor)
            assert not requested, (job.name, status, sorted(k.to_user_string() for k in requested))
            instance.report_run_canceled(build)
            cursor, requested = tick(defs, instance, cursor)
            assert DAILY_SALES in requested, (job.name, status, sorted(k.to_user_string() for k in requested))


def test_a_sync_run_silent_for_minutes_holds_the_marts_no_longer(make_centra, tmp_path, monkeypatch, caplog):
    """A sync run whose process died stays STARTED for ever on a local instance (Dagster's DefaultRunLauncher cannot
    tell, so run monitoring does not end it): it held every mart for ever, and the marts silently stopped updating.
    A started sync that has written nothing to its event log for policy.SYNC_SILENT_SECONDS holds them no longer,
    and the tick says so, naming the run; a queued one is waiting, not dead, and holds them still."""
    from centra_assets.defs import policy

    instance, defs, cursor, partition = _a_store_built(make_centra, tmp_path, monkeypatch)
    raw_orders = {dg.AssetKey(["centra", t.name]) for t in BY_NAME["orders"].tables}
    job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection=raw_orders)

    def sync(status: dg.DagsterRunStatus) -> dg.DagsterRun:
        return _run(instance, job, status, asset_selection=raw_orders, tags={"dagster/partition": partition})

    started = sync(dg.DagsterRunStatus.STARTED)
    instance.report_runless_asset_event(dg.AssetMaterialization(ORDERS, partition=partition))  # a change pending
    cursor, requested = tick(defs, instance, cursor)
    assert not requested, sorted(k.to_user_string() for k in requested)  # its last event: a moment ago

    monkeypatch.setattr(policy, "SYNC_SILENT_SECONDS", 0.0)  # its last event is older than that now
    queued = sync(dg.DagsterRunStatus.QUEUED)
    cursor, requested = tick(defs, instance, cursor)
    assert not requested, sorted(k.to_user_string() for k in requested)
    assert started.run_id not in caplog.text  # (the queued run held the marts)

    instance.report_run_canceled(queued)
    cursor, requested = tick(defs, instance, cursor)
    assert DAILY_SALES in requested, sorted(k.to_user_string() for k in requested)
    assert started.run_id in caplog.text


def test_a_raw_update_of_a_store_not_in_the_deployments_asks_for_none_of_its_marts(make_centra, tmp_path, monkeypatch):
    """Another deployment sharing the instance writes the same raw tables for its own stores: a raw update of its
    store alone asked for a build of every model reading the table (conditions.py RawUpdatedAfterBuild compared the
    table's latest update, of any store, with the models' builds). It asks for none of this deployment's marts; an
    update of a store of this deployment, followed by another deployment's before the tick, asks for the models
    reading the table."""
    instance, defs, cursor, partition = _a_store_built(make_centra, tmp_path, monkeypatch, listed="ours")
    theirs = dg.MultiPartitionKey({**partition.keys_by_dimension, STORE: "theirs"})
    for landed, asks in (((theirs,), False), ((partition, theirs), True)):
        for store_partition in landed:
            instance.report_runless_asset_event(dg.AssetMaterialization(ORDERS, partition=store_partition))
        cursor, requested = tick(defs, instance, cursor)
        fed = {dg.AssetKey(["analytics", "stg_orders"]), DAILY_SALES} <= requested if asks else not requested
        assert fed, (landed, sorted(k.to_user_string() for k in requested))
