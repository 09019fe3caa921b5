"""How the pipeline runs, in one place: how fresh each asset must be, when the marts rebuild, what may run at once,
how often the sensors tick and how much one tick may do, the schedules' times, the backfills' run size, who owns
the assets. The modules of raw/, realtime/ and marts/ read their policy here and define none of their own.

Instance settings live with the instance, not here: the `centra_api` pool's limit and the cap of concurrent runs
are written to dagster.yaml by `centra-assets init` (cli.py INSTANCE_DEFAULTS; deploy/ has the same for its
instances). cli.py does not import this module: importing the Dagster layer costs seconds on every command.
"""

import datetime as dt

import dagster as dg

from centra_assets.calendar import longest_day
from centra_assets.settings import Settings

from .marts.conditions import (
    EveryInputLanded,
    InputUpdated,
    MartsBuildInFlight,
    RawSyncInFlight,
    RawUpdatedAfterBuild,
)


def owners(settings: Settings) -> list[str]:
    """Every asset's owner: the one the deployment names (CENTRA_ASSET_OWNER), or none. A placeholder owner would
    tell the UI's reader whom to ask when nobody answers to that name."""
    return [settings.asset_owner] if settings.asset_owner else []


# --- Raw assets -----------------------------------------------------------------------------------------------------
# Ops that talk to Centra draw on this pool: parallel backfill runs cannot outgrow the store's rate budget.
POOL = "centra_api"
# Backfills run a week of partitions per run: one run's start-up is paid per week, and a failed run retries a week,
# not a year.
PARTITIONS_PER_BACKFILL_RUN = 7
# A sync's run logs how far it is after each day, and within a long day this often (raw/assets.py Progress).
PROGRESS_EVERY_SECONDS = 10
# Hourly inventory (off by default); the daily events and snapshots run at CENTRA_EVENTS_CRON and
# CENTRA_SNAPSHOT_CRON (settings), each in every store's own timezone.
INVENTORY_CRON = "5 * * * *"
# Daily, in UTC, after the small hours' syncs: every raw file's footer is read to find a truncated or foreign one.
FILE_CHECK_CRON = "50 4 * * *"
HOUR = dt.timedelta(hours=1)


def raw_freshness(settings: Settings) -> dg.FreshnessPolicy:
    """The daily schedules bring every raw asset up to date once a day, at the same time on each store's clock (the
    sweep and the sensors more often): two syncs on time are one store day apart, 25 hours on the day the clock
    goes back. The sync has stalled when the longest day of any store's calendar and an hour pass without a new
    materialization (warn), or that day and two hours (fail). The marts follow the store's calendar too."""
    day = max(longest_day(store.timezone) for store in settings.stores)
    return dg.FreshnessPolicy.time_window(fail_window=day + 2 * HOUR, warn_window=day + HOUR)


# --- Realtime: the webhook and event queue sensors, and the sweep ---------------------------------------------------
SENSOR_INTERVAL = 30  # seconds between the event queue's ticks (each polls Centra): a change refreshed within a minute
# The webhook sensor reads the receiver's own event store, not Centra: a tick costs nothing without events. It ticks
# as often as the sensor daemon looks (every 5 s at most), and coalesces its refreshes (one waiting to start per
# store: realtime/webhooks.py), so a short interval asks for no more runs than a long one under a burst of webhooks.
WEBHOOK_SENSOR_INTERVAL = 5
SWEEP_INTERVAL = 15 * 60
# Bounded work per tick, whatever the number of stores: stores are served `STORE_CONCURRENCY` at a time (each on
# its own rate budget), longest-waiting first, and no store is started after `TICK_SECONDS` (Dagster gives a tick
# 60 s); the others keep their cursor and come first next tick. Read at each tick (fanout.py): tests and the bench
# change them.
TICK_SECONDS = 40.0
STORE_CONCURRENCY = 8
MAX_EVENTS_PER_TICK = 20_000  # webhook events read per store and tick
EVENT_PAGE = 200  # events per poll of Centra's queue (Centra's documented example uses 200)
SWEEP_OVERLAP = dt.timedelta(minutes=5)  # changes committed late are still seen; each is refreshed once
FIRST_SWEEP = dt.timedelta(days=1)  # how far back a store's first sweep looks (the daily sync covers the rest)
# Where the store gives no way to ask what changed (no updatedAt filter), records that may still change are read
# again by key: those of the last LATE_CHANGES (orders ship and are returned within about five weeks, purchase
# orders are delivered three to seven weeks after they are placed), at most REREAD_BATCH per data type and tick.
LATE_CHANGES = dt.timedelta(days=60)
REREAD_BATCH = 1000

# --- Marts ------------------------------------------------------------------------------------------------------------
# Every build of the marts carries this run tag, which the instance lets one run at a time (`centra-assets init`
# writes the limit: cli.py INSTANCE_DEFAULTS, deploy/docker/dagster.yaml): a build asked for by hand while another
# runs waits in the run queue, not in a run slot.
MARTS_BUILD_TAG = "centra/marts_build"
# Refresh runs go first in the run queue: a webhook's refresh is seconds of work that a queue of backfill weeks
# would otherwise hold up (Dagster starts the highest `dagster/priority` first).
REFRESH_PRIORITY = 10
# Seconds between the marts' automation ticks: landed raw data asks for its dbt build within 5 s, the sensor daemon's
# own loop (it looks no more often). A quiet tick reads the instance in a few queries (marts/conditions.py), and
# builds coalesce whatever the interval (MartsBuildInFlight): ticking more often asks for no more builds.
MARTS_AUTOMATION_INTERVAL = 5
# Each automation tick reads the event log as it was when the tick began (Dagster's `last_event_id`), and waits this
# long before evaluating so that writes begun before it land first (PostgreSQL commits them out of order). Dagster
# enforces the snapshot only with a settle delay set (DAGSTER_AUTOMATION_TICK_SETTLE_SECONDS, automation.py); without
# it, a refresh landing during a tick's seconds of reads was half seen and built in two builds (conditions.py
# _in_snapshot).
MARTS_TICK_SETTLE_SECONDS = 0.5
# A started sync run that has written nothing to its event log for this long is taken for dead, and holds the marts
# no longer (marts/conditions.py RawSyncInFlight; a queued one holds them until it starts): a run whose process was
# killed stays STARTED for ever on a local instance (Dagster's DefaultRunLauncher cannot tell, so run monitoring does
# not end it), and held every mart for ever. A live sync writes far more often: a line after each day and every
# PROGRESS_EVERY_SECONDS within one (after a page), a warning before each retry of a request (a page waits 60 s for an
# answer at most, and 30 s before its retry), one as a wait of 5 s or more for the rate budget or the warehouse's
# turn begins, and Dagster's every 5 minutes for a step waiting for a slot of the centra_api pool. The one longer
# silence, a wait for the warehouse's turn, is behind a build (which holds the marts itself) or another writer of
# the day (which logs its own progress). A live sync taken for dead costs a build in its middle, followed by another
# after it; a dead one taken for live stopped the marts.
SYNC_SILENT_SECONDS = 10 * 60
# A sync run in these states may still land raw data (RawSyncInFlight holds the marts for it; a backfill with one holds
# a store's first sweep, realtime/sweep.py); a started one silent for SYNC_SILENT_SECONDS no longer does. Queued ones
# count: the daily schedules' runs and a backfill's wait in the queue for a run slot or the centra_api pool, and a
# build started before them would be followed by another after them.
SYNC_IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def silent_for(instance: dg.DagsterInstance, run: dg.DagsterRun, now: float) -> float | None:
    """Seconds the started run has written nothing to its event log, once that is SYNC_SILENT_SECONDS or more: its
    process died, and on a local instance nothing marks it failed. None for a live or queued run. One query, its latest
    event (an index on run id and event id, in SQLite and PostgreSQL alike); the run record's update time moves with
    its status only."""
    if run.status != dg.DagsterRunStatus.STARTED:
        return None  # queued: waiting, not dead
    latest = instance.get_records_for_run(run.run_id, limit=1, ascending=False).records
    quiet = now - (latest[0].timestamp if latest else 0.0)
    return quiet if quiet >= SYNC_SILENT_SECONDS else None


# A run holds the marts this long at most after its last raw update: a refresh's data types land a second or two
# apart, and a run that then waits (for the centra_api pool, the warehouse's turn) or hangs holds nothing
# (marts/conditions.py `_half_published`).
PUBLISHING_SECONDS = 15.0

# Eager, except that missing upstream partitions do not hold a model back: the raw assets are daily partitions
# since CENTRA_START_DATE, and some (snapshots of past days) can never exist. Staging views are cheap to
# re-create and carry the change on to the marts in the same run.
# But a model waits until every table it reads has landed at least once: every raw table it reads, directly or
# through other models, for every store (at least one day of event data; its snapshot: marts/conditions.py), and each
# model it reads built, or asked for on this tick (so a new store's staging and marts come in one run). On a store
# whose raw tables are still landing, a mart would otherwise be built over half of them, silently wrong. One
# warehouse, one build: while a store's tables land, the other stores' marts wait with it (DECISIONLOG.md).
# Nor does a refresh run waiting or reading Centra hold a build back (eager's `~any_deps_in_progress`): raw data holds
# still while a build reads it (builds and publishes take turns, `centra_dbt`), and what a refresh publishes after the
# build started asks for the next one. A build starts within one automation tick of its first input landing.
# Builds coalesce: while one is queued or running, and on the tick that first sees its last models updated, no model
# is asked for; the changes stay pending and the tick after asks for every model they touched, in one build
# (marts/conditions.py MartsBuildInFlight). One build runs
# at a time and none waits behind it, so refresh runs wait for one build at most, and a test comparing two marts
# compares two marts of one build.
# A sync run of the deployment's raw data (the daily schedules, a backfill), queued or running, holds every model
# back until it ends: one build after the last sync, not one after each of its data types, nor one of the models
# that read other data types (marts/conditions.py RawSyncInFlight). A long backfill holds the marts until it ends;
# a started sync silent for SYNC_SILENT_SECONDS, taken for dead, no longer does.
# A refresh does not, but for the seconds between its first data type landing and its end (PUBLISHING_SECONDS at
# most): a build asked for in between would be followed by another for the rest.
# A raw table updated after the model was last built or asked for asks for it too, though the tick that saw the raw
# update saw the model's own update as well (a refresh published right after a build): eager alone let the model's
# update win, and dropped the change (marts/conditions.py RawUpdatedAfterBuild). Only an update of the deployment's
# own stores counts: another deployment sharing the instance writes the same raw tables for its stores.
# An upgrade changing a model's code (its SQL or a macro it calls: marts/changes.py code_version) asks for the model,
# and so for what reads it: eager asks on updates alone, and the marts stayed as the old code built them until their
# raw data changed again. (A model added by an upgrade is missing: eager asks for it.)
# Eager's trigger "an input updated since the previous tick, or asked for on this one" (`any_deps_updated`) and "every
# input built or asked for" are one node each for all of a model's inputs (marts/conditions.py InputUpdated,
# EveryInputLanded): Dagster's own evaluated, and kept in the sensor's cursor, a sub-tree per input, 12 nodes for
# each of the 196 inputs of 93 models on every tick, half of its nodes.
REFRESH_WHEN_UPSTREAM_CHANGES = (
    dg.AutomationCondition.eager()
    .replace(
        "any_deps_updated",
        InputUpdated() | RawUpdatedAfterBuild() | dg.AutomationCondition.code_version_changed(),
    )
    .without(~dg.AutomationCondition.any_deps_missing())
    .without(~dg.AutomationCondition.any_deps_in_progress())
    & EveryInputLanded()
    & ~MartsBuildInFlight()
    & ~RawSyncInFlight()
)
# A failed build is tried again once, in the same run, after a pause: a passing failure (a disk, a connection) does
# not leave the marts stale until raw data changes again. A failing dbt test is not tried again (centra_dbt): it
# would fail the same way; the marts wait for the next change.
BUILD_RETRY = dg.RetryPolicy(max_retries=1, delay=10)
