"""The marts' automation conditions Dagster has no building block for: has every input and every store's data landed
(`EveryInputLanded`), is a build of the marts already queued or running (`MartsBuildInFlight`), is a sync of the raw
data still asked for or writing (`RawSyncInFlight`), was a raw table updated after the model was built
(`RawUpdatedAfterBuild`); and one Dagster has, in one node instead of seven per input: has an input changed since
the previous tick (`InputUpdated`).

Dagster maps a partitioned raw table onto an unpartitioned dbt model through all of its partitions, so
`all_deps_match(~missing())` reads "any partition landed": with several stores, any store's. And it looks at a
model's direct inputs only: a mart's staging views, built long ago for the stores there were then, never missing
again when a store is added. This condition groups a raw table's partitions by store, and looks at every raw table
a model reads, directly or through other models.
"""

import weakref
from collections.abc import Sequence
from functools import cache

import dagster as dg
from dagster._core.definitions.assets.graph.asset_graph import executable_in_same_run

from ..raw.partitions import STORE
from .changes import planned_keys

# per evaluation (one AssetGraphView a tick): a raw table is read by many models, its partitions counted once
_LANDED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _stores(partitions_def: dg.PartitionsDefinition | None) -> tuple[str | None, ...]:
    """The stores a raw table is partitioned by: day × store, a snapshot by store, or one store (None)."""
    if isinstance(partitions_def, dg.MultiPartitionsDefinition):
        return tuple(partitions_def.get_partitions_def_for_dimension(STORE).get_partition_keys())
    return (
        tuple(partitions_def.get_partition_keys())
        if isinstance(partitions_def, dg.StaticPartitionsDefinition)
        else (None,)
    )


def _store(partitions_def: dg.PartitionsDefinition | None, partition_key: str) -> str | None:
    if isinstance(partitions_def, dg.MultiPartitionsDefinition):
        return partitions_def.get_partition_key_from_str(partition_key).keys_by_dimension[STORE]
    return partition_key if isinstance(partitions_def, dg.StaticPartitionsDefinition) else None


async def _landed_for_every_store(context: dg.AutomationContext, table: dg.AssetKey) -> bool:
    """At least one partition of the table materialized for each store (a day of event data; its snapshot)."""
    view = context.asset_graph_view
    known = _LANDED.setdefault(view, {})
    if table not in known:
        everything = view.get_full_subset(key=table)
        missing = await view.compute_missing_subset(key=table, from_subset=everything)
        partitions_def = context.asset_graph.get(table).partitions_def
        if partitions_def is None:
            known[table] = missing.is_empty
        else:
            materialized = everything.compute_difference(missing).expensively_compute_partition_keys()
            known[table] = set(_stores(partitions_def)) <= {_store(partitions_def, k) for k in materialized}
    return known[table]


@cache
def compared_together() -> dict[dg.AssetKey, frozenset[dg.AssetKey]]:
    """Each dbt model's build group: itself and every model a dbt test compares it with, transitively (a test reads
    them all: `assert_daily_sales_reconcile_with_orders` reads daily_sales and fct_orders, a relationship reads both
    ends). A condition that holds one model back holds its group back: in the soak test a sync of the customers
    snapshot held fct_orders back while daily_sales was built, and the check of daily_sales compared it with the
    fct_orders of the build before (`assert_daily_sales_reconcile_with_orders`, `relationships_order_number` failed
    on the orders of the change). A warning (a link to the catalogue) fails no build: it groups nothing. From dbt's
    manifest, so that it cannot drift from the tests."""
    from .dbt import CentraDbtTranslator, dbt_manifest  # (dbt imports policy, which imports this module)

    nodes, translator = dbt_manifest()["nodes"], CentraDbtTranslator()
    group = {uid: {uid} for uid, node in nodes.items() if node["resource_type"] == "model"}
    for node in nodes.values():
        fails = node["resource_type"] == "test" and str(node["config"].get("severity", "")).lower() != "warn"
        models = [n for n in node["depends_on"]["nodes"] if n in group] if fails else []
        merged = set().union(*(group[m] for m in models)) if models else set()
        for member in merged:
            group[member] = merged
    return {
        translator.get_asset_key(nodes[uid]): frozenset(translator.get_asset_key(nodes[m]) for m in members)
        for uid, members in group.items()
    }


def held_roots(context: dg.AutomationContext) -> set[dg.AssetKey]:
    """The raw tables whose state holds the asset back (EveryInputLanded, RawSyncInFlight): those its build group
    reads (compared_together), directly or through other models."""
    graph = context.asset_graph
    group = [k for k in compared_together().get(context.key, frozenset({context.key})) if graph.has(k)]
    return set().union(*(graph.get_materializable_roots(k) for k in group or [context.key])) - set(group)


def _inputs(context: dg.AutomationContext) -> list[dg.AssetKey]:
    return sorted(context.asset_graph.get(context.key).parent_keys)


def _will_be_requested(context: dg.AutomationContext, parent: dg.AssetKey) -> bool:
    """Whether the input is asked for on this tick, in a run that can build the asset too (Dagster's
    `will_be_requested`: the tick evaluates an asset's inputs before the asset)."""
    asked = context.request_subsets_by_key.get(parent)
    return (
        asked is not None
        and not asked.is_empty
        and executable_in_same_run(asset_graph=context.asset_graph, child_key=context.key, parent_key=parent)
        and context.asset_graph.get(parent).is_materializable
    )


class EveryInputLanded(dg.AutomationCondition):
    """True when each input of the asset has been built (a model) or landed (a raw table: any day), or is asked for
    on this tick, and every raw table its build group reads (held_roots: its materializable roots, through any
    models between, and those of the models its tests compare it with) has landed for every store: at least one day
    of event data, or its snapshot.

    One node for all the inputs: Dagster's `all_deps_match(~missing() | will_be_requested())` evaluates (and stores
    in the sensor's cursor) five nodes per input, 196 inputs of 93 models on every tick."""

    @property
    def name(self) -> str:
        return "every_input_landed"

    @property
    def description(self) -> str:
        return (
            "Every input built or asked for on this tick, and every raw table read, directly or through other models, "
            "landed for every store"
        )

    @property
    def requires_cursor(self) -> bool:
        return False

    async def evaluate(self, context: dg.AutomationContext) -> dg.AutomationResult:
        landed = _materialized(context)
        if any(landed.get(p) is None and not _will_be_requested(context, p) for p in _inputs(context)):
            return dg.AutomationResult(context, context.get_empty_subset())
        for table in sorted(held_roots(context)):
            if not await _landed_for_every_store(context, table):
                return dg.AutomationResult(context, context.get_empty_subset())
        return dg.AutomationResult(context, context.candidate_subset)


# per evaluation: each input's partitions updated since the previous tick
_UPDATED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


async def _updated_since_previous_tick(context: dg.AutomationContext, parent: dg.AssetKey):
    """The input's partitions updated since the previous tick's snapshot and within this tick's (Dagster's
    `newly_updated`), or None; asked of Dagster only when its latest update (the tick's one query, `_materialized`)
    is newer than the previous tick's snapshot: a quiet tick asks nothing."""
    view, since = context.asset_graph_view, context.previous_temporal_context
    latest = _materialized(context).get(parent)
    if (
        since is None
        or latest is None
        or (since.last_event_id is not None and latest.storage_id <= since.last_event_id)
    ):
        return None
    known = _UPDATED.setdefault(view, {})
    if parent not in known:
        updated = await view.compute_updated_since_temporal_context_subset(key=parent, temporal_context=since)
        updated = updated.compute_intersection(view.get_full_subset(key=parent))
        known[parent] = None if updated.is_empty else updated
    return known[parent]


class InputUpdated(dg.AutomationCondition):
    """True when an input of the asset was updated since the previous tick by a run that did not build the asset
    too, or is asked for on this tick: Dagster's `any_deps_updated` (eager's trigger), in one node for all the
    inputs instead of seven per input."""

    @property
    def name(self) -> str:
        return "input_updated"

    @property
    def description(self) -> str:
        return "An input updated since the previous tick (not in a run that built this asset too), or asked for"

    @property
    def requires_cursor(self) -> bool:
        return False

    async def evaluate(self, context: dg.AutomationContext) -> dg.AutomationResult:
        me = context.key

        def built_me_too(record) -> bool:  # Dagster's executed_with_root_target
            run = record.dagster_run
            return me in (run.asset_selection or set()) | (run.asset_check_selection or set())

        for parent in _inputs(context):
            if _will_be_requested(context, parent):
                return dg.AutomationResult(context, context.candidate_subset)
            updated = await _updated_since_previous_tick(context, parent)
            if updated is None:
                continue
            with_me = await context.asset_graph_view.compute_latest_run_matches_subset(
                from_subset=updated, filter_fn=built_me_too
            )
            if not updated.compute_difference(with_me).is_empty:
                return dg.AutomationResult(context, context.candidate_subset)
        return dg.AutomationResult(context, context.get_empty_subset())


# per evaluation: the runs queued or running, the data of a run's planned materializations, and whether any dbt model
# is in one of them, or was updated since the last tick
_RUNS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_PLANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_IN_FLIGHT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# a build holds the marts while Dagster counts it in progress, or queued
_BUILD_IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
    dg.DagsterRunStatus.SUSPENDED,
]


def _runs_in_flight(context: dg.AutomationContext) -> list[dg.DagsterRun]:
    """The runs a build or a sync in flight may be: one query a tick."""
    from .. import policy  # (policy imports this module)

    view = context.asset_graph_view
    if view not in _RUNS:
        statuses = list(dict.fromkeys(_BUILD_IN_FLIGHT + policy.SYNC_IN_FLIGHT))
        _RUNS[view] = view.instance.get_runs(dg.RunsFilter(statuses=statuses))
    return _RUNS[view]


def _plans(context: dg.AutomationContext, run: dg.DagsterRun) -> list:
    """The data of the run's ASSET_MATERIALIZATION_PLANNED events (a run plans its assets when it is asked for)."""
    known = _PLANS.setdefault(context.asset_graph_view, {})
    if run.run_id not in known:
        of_type = dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED
        records = context.asset_graph_view.instance.get_records_for_run(run.run_id, of_type=of_type, limit=10_000)
        known[run.run_id] = [r.event_log_entry.dagster_event.event_specific_data for r in records.records]
    return known[run.run_id]


def _builds_a_model(context: dg.AutomationContext, run: dg.DagsterRun) -> bool:
    """Whether the run builds a dbt model of this deployment: from its asset selection, or, for a run of a whole job,
    from the assets it plans (a query; a queue of backfill runs, each with its selection, asks none)."""
    graph = context.asset_graph
    keys = run.asset_selection if run.asset_selection is not None else [d.asset_key for d in _plans(context, run)]
    return any(k.path[0] == "analytics" and graph.has(k) for k in keys)


def _marts_build_in_flight(context: dg.AutomationContext) -> bool:
    """Whether a run queued or running builds a dbt model, or a model was updated since the previous tick's snapshot
    (from `_materialized`, the tick's one query of every asset's latest materialization). Asking Dagster model by
    model (its `in_progress` and `newly_updated`, two queries a model) made 0.8 s of a 4 s tick of the soak's
    instance, on every tick."""
    view, since = context.asset_graph_view, context.previous_temporal_context
    if view not in _IN_FLIGHT:
        seen = since.last_event_id if since is not None else None
        unseen = seen is not None and any(
            _storage_id(record) > seen for key, record in _materialized(context).items() if key.path[0] == "analytics"
        )
        _IN_FLIGHT[view] = unseen or any(
            run.status in _BUILD_IN_FLIGHT and _builds_a_model(context, run) for run in _runs_in_flight(context)
        )
    return _IN_FLIGHT[view]


class MartsBuildInFlight(dg.AutomationCondition):
    """True while any dbt model is in a run that is queued or running, and on the tick that first sees a build's last
    models updated: builds coalesce. Eager's own `~in_progress()` holds back only the models of the build in
    progress, so a change landing during a build asked for a second build of the other models at once, which then
    waited for the first, and its tests compared marts of two different builds. Held back instead, every change
    stays pending (eager's `since_last_handled`) and the next tick after the build asks for everything it touched in
    one build. At most one build runs; none waits.

    The tick that sees the build's last models updated is held too: on it, a model's own update (`handled`) wins
    over an upstream model asked for on the same tick (`will_be_requested`, which carries no time to compare), so a
    change pending since the build asked for its staging and intermediate models without the marts the build had
    just updated; those followed in a build of their own, whose marts' updates left the models after them behind
    again, level by level (the soak test: five builds, 40 s each, after the last change; the last still running
    five minutes later). One tick later the build's updates are handled, and the change asks for every model it
    touches, in one build."""

    @property
    def name(self) -> str:
        return "marts_build_in_flight"

    @property
    def description(self) -> str:
        return "A build of the marts is queued or running, or its updates are not yet seen"

    @property
    def requires_cursor(self) -> bool:
        return False

    async def evaluate(self, context: dg.AutomationContext) -> dg.AutomationResult:
        in_flight = _marts_build_in_flight(context)
        return dg.AutomationResult(context, context.candidate_subset if in_flight else context.get_empty_subset())


def _planned_stores(planned, graph) -> set[str | None]:
    """The stores of this deployment whose raw data a run plans to write, from the data of one of its
    ASSET_MATERIALIZATION_PLANNED events (None: the one store of a deployment of one store). A raw table of another
    deployment sharing the instance, or a store not in this one's stores file, is none of its own."""
    key = planned.asset_key
    if key.path[0] != "centra" or not graph.has(key):
        return set()
    partitions_def = graph.get(key).partitions_def
    if partitions_def is None:
        return {None}
    keys = planned_keys(planned)
    if keys is None:  # a run over every partition
        return set(_stores(partitions_def))
    return {_store(partitions_def, k) for k in keys} & set(_stores(partitions_def))


# per evaluation: whether a sync holds the marts; and the runs a tick said were silent (once each)
_SYNCING: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_SAID_SILENT: set[str] = set()


def _sync_in_flight(context: dg.AutomationContext) -> bool:
    """Whether a run that is not a refresh is queued or running to write raw data of this deployment's stores (from
    its planned materializations), and not silent for minutes (`_silent`)."""
    from .. import policy  # (policy imports this module)
    from ..realtime.locate import TAG as REFRESH_TAG  # (locate imports policy, which imports this module)

    view = context.asset_graph_view
    if view not in _SYNCING:
        _SYNCING[view] = any(
            run.status in policy.SYNC_IN_FLIGHT
            and REFRESH_TAG not in run.tags
            and any(_planned_stores(d, context.asset_graph) for d in _plans(context, run))
            and not _silent(context, run)
            for run in _runs_in_flight(context)
        )
    return _SYNCING[view]


def _silent(context: dg.AutomationContext, run: dg.DagsterRun) -> bool:
    """Whether the run started and has written nothing to its event log for SYNC_SILENT_SECONDS (policy.silent_for): its
    process died, and it would hold the marts for ever. The tick says so, once per run."""
    from .. import policy  # (policy imports this module)

    view = context.asset_graph_view
    quiet = policy.silent_for(view.instance, run, view.effective_dt.timestamp())
    if quiet is None:
        return False
    if run.run_id not in _SAID_SILENT:
        _SAID_SILENT.add(run.run_id)
        context.log.warning(
            f"Sync run {run.run_id} has written nothing for {quiet / 60:.0f} min (SYNC_SILENT_SECONDS): taken for "
            "dead, it holds the marts no longer. If its process is gone, terminate the run in the UI."
        )
    return True


# per evaluation: whether a run had published part of its raw data, and not ended, at the tick's snapshot
_HALF_PUBLISHED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_ENDED = {dg.DagsterEventType.RUN_SUCCESS, dg.DagsterEventType.RUN_FAILURE, dg.DagsterEventType.RUN_CANCELED}


def _ours(context: dg.AutomationContext, record: dg.EventLogRecord) -> bool:
    """Whether a raw table's materialization is of one of this deployment's stores."""
    partitions_def = context.asset_graph.get(record.asset_key).partitions_def
    if partitions_def is None or record.partition_key is None:
        return True
    return _store(partitions_def, record.partition_key) in _stores(partitions_def)


def _half_published(context: dg.AutomationContext) -> bool:
    """Whether a run that wrote a raw table's latest update of this deployment's stores in the tick's snapshot
    (`_in_snapshot`), within policy.PUBLISHING_SECONDS of the tick's start, had not ended by the snapshot: its other
    data types were still to land (a refresh publishes one data type after another, a second or two apart). A build
    asked for on that half was followed by a second one for the other half (the soak test: the purchase order views of a
    refresh built, its stock view in a build of its own after). One query of the runs, and one per run that ended
    since, to order its end with the snapshot."""
    from .. import policy  # (policy imports this module)

    view = context.asset_graph_view
    if view not in _HALF_PUBLISHED:
        graph, instance, bound = context.asset_graph, view.instance, view.last_event_id
        since = view.effective_dt.timestamp() - policy.PUBLISHING_SECONDS
        tables = [k for k in graph.get_all_asset_keys() if k.path[0] == "centra" and graph.get(k).is_materializable]
        latest = [r for t in tables if (r := _in_snapshot(context, t)) and r.timestamp >= since]
        runs = {r.run_id for r in latest} - {""}  # "": a runless report, which no run follows

        def open_at_snapshot(record: dg.RunRecord) -> bool:
            if not record.dagster_run.is_finished:
                return True
            end = instance.get_records_for_run(record.dagster_run.run_id, of_type=_ENDED, limit=1).records
            return bool(end) and bound is not None and end[0].storage_id > bound

        found = instance.get_run_records(dg.RunsFilter(run_ids=sorted(runs))) if runs else []
        _HALF_PUBLISHED[view] = any(open_at_snapshot(r) for r in found)
    return _HALF_PUBLISHED[view]


class RawSyncInFlight(dg.AutomationCondition):
    """True for every model that reads raw data while a sync run (the daily schedules, a backfill; not a refresh)
    of this deployment's raw data is queued or running: one build after the last sync. Such a run writes its data
    types one step after another, each publishing in its own turn of the warehouse. A build asked for meanwhile
    builds on half the change and is followed by another anyway: holding only the models that read the tables
    being synced (and those their tests compare them with) still built the other models mid-sync (the soak test:
    five staging views of purchase orders and stock during a snapshot sync, then everything again after it). All
    the stores' marts are one dbt build over one warehouse, so a sync of any of the deployment's stores holds them
    all; a run of another deployment sharing the instance holds none. A long backfill holds the marts until it
    ends; a started sync silent for policy.SYNC_SILENT_SECONDS (its process died: on a local instance nothing marks
    such a run failed) holds them no longer (`_silent`), and the tick says so. A refresh, seconds of work arriving
    at any moment, does not hold the marts while it waits or reads Centra: only from a raw update of its own in the
    tick's snapshot until it ends, for policy.PUBLISHING_SECONDS after that update at most (`_half_published`: its data
    types land a second or two apart), so a stream of refreshes cannot starve the marts."""

    @property
    def name(self) -> str:
        return "raw_sync_in_flight"

    @property
    def description(self) -> str:
        return (
            "A sync of raw data (a schedule's or a backfill's) is queued or running (and wrote to its log in the last "
            "minutes), or a refresh has published part of its data seconds ago and not ended: the marts build once "
            "after it ends (a long backfill holds them until it ends)"
        )

    @property
    def requires_cursor(self) -> bool:
        return False

    async def evaluate(self, context: dg.AutomationContext) -> dg.AutomationResult:
        syncing = bool(held_roots(context)) and (_sync_in_flight(context) or _half_published(context))
        return dg.AutomationResult(context, context.candidate_subset if syncing else context.get_empty_subset())


# per evaluation: every asset's latest materialization (one query for all), a raw table's latest of this deployment's
# stores in the tick's snapshot when a newer one, or another deployment's, landed after it, this deployment's
# partitions of the raw tables (17 event tables share one definition), and a model's latest planned run
_MATERIALIZED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_SNAPSHOT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_PARTITIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_PLANNED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _materialized(context: dg.AutomationContext) -> dict[dg.AssetKey, dg.EventLogRecord | None]:
    """Each asset's latest materialization (None: never), read in one query per tick: a query per model (~140 of
    them, each a round trip to the event log) made most of the tick's time, 15 of its 25 s on a busy machine, and the
    daemon's other sensors waited behind it (issue #27)."""
    view = context.asset_graph_view
    if view not in _MATERIALIZED:
        records = view.instance.get_asset_records(list(context.asset_graph.get_all_asset_keys()))
        _MATERIALIZED[view] = {r.asset_entry.asset_key: r.asset_entry.last_materialization_record for r in records}
    return _MATERIALIZED[view]


def _storage_id(record: dg.EventLogRecord | None) -> int:
    return record.storage_id if record else 0


def _in_snapshot(context: dg.AutomationContext, table: dg.AssetKey) -> dg.EventLogRecord | None:
    """The raw table's latest materialization of this deployment's stores (`_ours`) in the tick's snapshot of the
    event log: its events up to the storage id Dagster captured as the tick began (`last_event_id`, which Dagster's
    own conditions respect too: automation.py sets its settle delay). A tick takes seconds, and a refresh landing
    meanwhile was seen by the conditions read after it and not by those read before: the soak test's build 97d24154
    had the purchase order views of a refresh, and not its stock view, whose build followed alone. Another deployment
    sharing the instance writes the same raw tables for its own stores: its update asked for a build of every model
    reading the table (Dagster's own `newly_updated` leaves out a partition not in the asset's partitions). From the
    tick's one query (`_materialized`), or, when the table's latest update is newer than the snapshot or another
    deployment's, one query filtered by this deployment's partitions of the table."""
    view, latest = context.asset_graph_view, _materialized(context).get(table)
    bound = view.last_event_id
    if latest is None or ((bound is None or latest.storage_id <= bound) and _ours(context, latest)):
        return latest
    known = _SNAPSHOT.setdefault(view, {})
    if table not in known:
        before = bound + 1 if bound is not None else None
        records = view.instance.fetch_materializations(
            dg.AssetRecordsFilter(
                asset_key=table, asset_partitions=_partitions(context, table), before_storage_id=before
            ),
            limit=1,
            ascending=False,
        ).records
        known[table] = records[0] if records else None
    return known[table]


def _partitions(context: dg.AutomationContext, table: dg.AssetKey) -> Sequence[str] | None:
    """This deployment's partitions of the raw table (None: every partition is of its one store), once a tick for the
    tables sharing a definition: every day of each store, thousands of keys, 0.1 s on a busy machine."""
    partitions_def = context.asset_graph.get(table).partitions_def
    known = _PARTITIONS.setdefault(context.asset_graph_view, {})
    if partitions_def not in known:
        known[partitions_def] = None if _stores(partitions_def) == (None,) else partitions_def.get_partition_keys()
    return known[partitions_def]


def _planned(context: dg.AutomationContext, key: dg.AssetKey) -> int:
    """The storage id of the latest run planning the asset (0: none): asked only of a model whose raw table is newer
    than its latest build, so a quiet tick asks nothing."""
    known = _PLANNED.setdefault(context.asset_graph_view, {})
    if key not in known:
        info = context.asset_graph_view.instance.get_latest_planned_materialization_info(key)
        known[key] = info.storage_id if info else 0
    return known[key]


class RawUpdatedAfterBuild(dg.AutomationCondition):
    """True while a raw table the model reads was updated, for a store of this deployment (`_in_snapshot`), after
    the model was last built or asked for. Eager's `any_deps_updated` tells only that the raw table was updated since
    the previous tick, and a tick that also sees the model updated lets the model's update win (`since_last_handled`):
    a refresh waiting for a build's turn publishes right after the build (marts/dbt.py), often before the next tick,
    and its change was dropped, the marts stale until the next change. Event ids order the two, as ticks cannot; a
    build asked for again, or failed, ends it (a failing model is not asked for again and again)."""

    @property
    def name(self) -> str:
        return "raw_updated_after_build"

    @property
    def description(self) -> str:
        return "A raw table read was updated after the model was last built or asked for"

    @property
    def requires_cursor(self) -> bool:
        return False

    async def evaluate(self, context: dg.AutomationContext) -> dg.AutomationResult:
        raw = [k for k in context.asset_graph.get(context.key).parent_keys if k.path[0] == "centra"]
        # the raw table's latest update in the tick's snapshot against the model's latest build, or its latest run
        # planning it if later (a raw table's planned materialization is not an update: its data lands later)
        newest = max((_storage_id(_in_snapshot(context, table)) for table in raw), default=0)
        built = _storage_id(_materialized(context).get(context.key)) if raw else 0
        newer = newest > built and newest > _planned(context, context.key)
        return dg.AutomationResult(context, context.candidate_subset if newer else context.get_empty_subset())
