"""The sweep: every 15 minutes, what Centra changed since the last sweep, refreshed in one run per store.

Catches what no webhook or event announced: orders, shipments and purchase orders by `updatedAt`; returns and
deliveries (no updatedAt filter) when new, and when their state moves on. Its cursor keeps each store's marks
(data type -> {since, seen}), so a daemon down for days misses nothing.
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple
from zoneinfo import ZoneInfo

import dagster as dg
from dagster._core.execution.backfill import BulkActionsFilter, BulkActionStatus
from dagster._core.storage.tags import BACKFILL_ID_TAG

from centra_assets import calendar
from centra_assets.calendar import day_of
from centra_assets.centra.client import CentraClient
from centra_assets.centra.errors import CentraQueryError
from centra_assets.centra.schema import lacking_inputs_from_errors
from centra_assets.entities.spec import EntitySpec, to_utc
from centra_assets.settings import Settings, Store
from centra_assets.warehouse import files, layout

from .. import policy
from ..policy import (
    FIRST_SWEEP,
    LATE_CHANGES,
    REREAD_BATCH,
    STORE_CONCURRENCY,
    SWEEP_INTERVAL,
    SWEEP_OVERLAP,
    TICK_SECONDS,
)
from ..resources import CentraResource
from .cursor import RefreshCursor, sensor_result
from .fanout import longest_waiting, serve_stores
from .locate import (
    CHANGING,
    Planned,
    has_column,
    held_in_warehouse,
    light_by_key,
    light_records,
    plan_refresh,
    refreshable_keys,
)


def _updated_since(client: CentraClient, spec: EntitySpec, since: dt.datetime, tz: ZoneInfo) -> list[dict] | None:
    """The records updated since `since` (light rows); None when the store's filter has no `sweep_field`: known
    from its schema, or learnt from its answer where it refuses introspection (kept for its Centra version)."""
    schema = client.store_schema()
    if not spec.sweep_field or schema.input_has(spec.filter_type, spec.sweep_field) is False:
        return None
    try:
        return light_records(client, spec, {spec.sweep_field: {"from": since.isoformat()}}, tz)
    except CentraQueryError as exc:
        lacking = lacking_inputs_from_errors(exc.errors)
        if not lacking or f"{spec.filter_type}.{spec.sweep_field}" not in lacking:
            raise
        schema.learn(lacking)
        client.remember_schema()
        return None


def _utc(value):
    """A warehouse or light-row value, comparable: datetimes in UTC (DuckDB may answer in its own zone)."""
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    return value


def _next_batch(keys: list, after) -> tuple[list, object]:
    """At most REREAD_BATCH of the sorted `keys`, from the first after `after` on, wrapping round; and where the
    next tick goes on (None: every key fit)."""
    if len(keys) <= REREAD_BATCH:
        return keys, None
    start = bisect.bisect_right(keys, after) if after is not None else 0
    batch = (keys[start:] + keys[:start])[:REREAD_BATCH]
    return batch, batch[-1]


def _changes(
    client: CentraClient, spec: EntitySpec, root: str, tz: ZoneInfo, mark: dict, now: dt.datetime
) -> tuple[dict, dict]:
    """day -> keys of the records changed since the mark, each change once; and the next mark.

    What the store's schema offers decides how (the light query is fitted to it, `spec.changes`):
    - its filter has the data type's `sweep_field` (updatedAt: orders, shipments, purchase orders): the records
      updated since the last sweep;
    - otherwise: the records created since the last sweep, and, read again by key, the records the warehouse
      holds that may still change: those in a state that is not final (`settled`: returns, deliveries; Centra
      documents no updatedAt for them), or, on a store whose filter lacks `sweep_field`, those created within
      LATE_CHANGES. Each is refreshed where Centra's last change or state differs from the warehouse's. At most
      REREAD_BATCH are read again a tick, in key order from where the last tick stopped: their cost stays bounded
      however many there are, and each is read again every few ticks.
    The mark's `fallback` says, in words, when a store's schema forces the second way (the sensor logs it)."""
    since = dt.datetime.fromisoformat(mark["since"])
    key, created = spec.tables[0].key[0], spec.column_of(spec.date_field)
    stamp = has_column(client, spec, spec.column_of(spec.sweep_field))
    state = has_column(client, spec, spec.column_of(spec.settled[0] if spec.settled else None))
    found = _updated_since(client, spec, since - SWEEP_OVERLAP, tz)
    by_update = found is not None
    if not by_update:
        found = light_records(client, spec, {spec.date_field: {"from": (since - SWEEP_OVERLAP).isoformat()}}, tz)
    lacks = None
    if spec.sweep_field and not by_update:
        lacks = f"the store's {spec.filter_type} has no `{spec.sweep_field}` filter"
        lacks += "" if stamp else f" and its {spec.root} no `{spec.sweep_field}` field"
    elif spec.settled and not state:
        lacks = f"the store's {spec.root} have no `{spec.settled[0]}` field"
    fallback = lacks and (
        f"{spec.name}: {lacks}. The sweep refreshes the {spec.name} created since its last tick"
        + (
            f", and those created in the last {LATE_CHANGES.days} days whose `{spec.sweep_field}` moved (read "
            f"again by key, at most {REREAD_BATCH} a tick)"
            if stamp
            else "; later changes of the others reach the warehouse through webhooks, the event queue and the "
            "daily schedule only"
        )
    )

    def when(row: dict) -> dt.datetime | None:
        return row[stamp] if by_update else row[created]

    seen = mark.get("seen", {})
    changed = [r for r in found if not (when(r) and seen.get(str(r[key])) and to_utc(seen[str(r[key])]) == when(r))]
    compared = [c for c in (stamp, state) if c]
    if state:  # records in a state that may still change
        where, params = f"{state} NOT IN (SELECT unnest(?))", [list(spec.settled[1])]
    elif stamp and not by_update:  # no updatedAt filter: the records of the last weeks
        where, params = f"{created} >= ?", [now - LATE_CHANGES]
    else:
        where = None
    after = None
    if where:
        held = {
            r[0]: tuple(map(_utc, r[1:]))
            for r in held_in_warehouse(root, spec, ", ".join([key, *compared]), where, params)
        }
        batch, after = _next_batch(sorted(set(held) - {r[key] for r in changed}), mark.get("reread_after"))
        changed += [
            r for r in light_by_key(client, spec, batch, tz) if tuple(_utc(r[c]) for c in compared) != held[r[key]]
        ]
    # Centra's own clock where the rows tell it; our clock only where the store filters by a field it never shows
    latest = max(since, now) if by_update and not stamp else max([since, *(w for w in map(when, found) if w)])
    days: dict[str, set[int]] = defaultdict(set)
    for r in changed:
        days[day_of(r[created], tz).isoformat()].add(r[key])
    recent = {str(r[key]): when(r).isoformat() for r in found if when(r) and when(r) >= latest - SWEEP_OVERLAP}
    after_mark = {"since": latest.isoformat(), "seen": recent}
    after_mark |= {"reread_after": after} if after is not None else {}
    return days, after_mark | ({"fallback": fallback} if fallback else {})


class WaitingForBackfill(Exception):
    """A store's first sweep waits: its history has not landed yet (the message says what is missing)."""


# a backfill in these states may still land days: a store's first sweep waits for it
BACKFILLING = [BulkActionStatus.REQUESTED, BulkActionStatus.CANCELING, BulkActionStatus.FAILING]


def backfills_in_progress(instance: dg.DagsterInstance, now: float) -> str | None:
    """The backfill the instance is still running (its run storage's backfills), in words; None when none is. One
    whose runs in flight have all started and written nothing for SYNC_SILENT_SECONDS (policy.silent_for, `now` the
    time in seconds) is taken for dead: its processes were killed, on a local instance nothing ends such runs, and
    Dagster keeps the backfill REQUESTED for ever, so a new store was never swept. The first sweep still waits for the
    history to land (backfill_gap)."""
    for backfill in instance.get_backfills(filters=BulkActionsFilter(statuses=BACKFILLING)):
        runs = instance.get_runs(
            dg.RunsFilter(tags={BACKFILL_ID_TAG: backfill.backfill_id}, statuses=policy.SYNC_IN_FLIGHT)
        )
        if not runs or any(policy.silent_for(instance, run, now) is None for run in runs):
            return f"backfill {backfill.backfill_id} ({backfill.status.value})"
    return None


def backfill_gap(settings: Settings, store: Store, now: dt.datetime) -> str | None:
    """What the store's warehouse still lacks of its history, in words; None once it has landed.

    Its history: every day of each data type the sweep refreshes, from its start date to the newest day landed
    (to yesterday while none has). Not to yesterday: the daily schedules land a day after it ends, so a store
    whose backfill is done would wait for them a day (and for ever where days pass faster, as in the soak).
    A backfill still running is the sweep's other reason to wait (`backfills_in_progress`)."""
    yesterday = day_of(now, store.tz) - dt.timedelta(days=1)
    first = dt.date.fromisoformat(str(store.start_date))
    root = layout.store_root(settings.warehouse_dir, store)
    for spec in CHANGING:
        table = spec.tables[0].name
        held = {path.rsplit("date=", 1)[1][:10] for path in files.glob(layout.partition_path(root, table, "*"))}
        last = max((dt.date.fromisoformat(d) for d in held), default=yesterday)
        wanted = {(first + dt.timedelta(days=n)).isoformat() for n in range((last - first).days + 1)}
        missing = sorted(wanted - held)
        if missing:
            return (
                f"the first sweep of store {store.name!r} waits for its history to land: {table} lacks "
                f"{len(missing)} of the {len(wanted)} days from {first} to {last} (the first: {missing[0]}). "
                "Backfill them (docs/operating.md, the first production day); the sweep starts once they have landed"
            )
    return None


def sweep_store(
    centra: CentraResource,
    settings: Settings,
    store: Store,
    before: dict,
    now: dt.datetime,
    backfilling: str | None = None,
):
    """One store's refresh run (or none) for everything Centra changed since its marks (`before`: data type ->
    {since, seen}; a first sweep looks back FIRST_SWEEP from `now`); and its next marks.

    A store's first sweep waits (WaitingForBackfill) until its history from the start date has landed, and while
    a backfill is still running (`backfilling` says which): started with an empty warehouse, it would sync whole
    every day its changed records belong to, in one run racing the backfill the operator is about to launch (the
    first production day, docs/operating.md)."""
    if not before and backfilling:
        raise WaitingForBackfill(f"the first sweep of store {store.name!r} waits for {backfilling} to end")
    if not before and (gap := backfill_gap(settings, store, now)):
        raise WaitingForBackfill(gap)
    client = centra.client(store)
    try:
        after, located = {}, {}
        for spec in CHANGING:
            mark = before.get(spec.name) or {"since": (now - FIRST_SWEEP).isoformat()}
            located[spec.name], after[spec.name] = _changes(
                client, spec, layout.store_root(settings.warehouse_dir, store), store.tz, mark, now
            )
        start = min(dt.datetime.fromisoformat(m["since"]) for m in after.values())
        return plan_refresh(located, settings, store, f"sweep-{int(start.timestamp())}"), after
    finally:
        client.close()


class Swept(NamedTuple):
    planned: list[Planned]
    marks: dict  # every store's next marks (a store not swept, or whose sweep failed, keeps its own)
    swept: list[str]  # the stores swept, failures included
    failed: dict[str, BaseException]
    waiting: dict[str, str]  # store -> why its first sweep waits (WaitingForBackfill)


def sweep_stores(
    centra: CentraResource,
    settings: Settings,
    marks: dict,
    now: dt.datetime,
    stores: Sequence[Store],
    seconds: float | None = None,
    concurrency: int = 1,
    backfilling: str | None = None,
) -> Swept:
    """`stores` swept in that order, `concurrency` at a time, none started after `seconds` (None: all); a store's
    first sweep waits while `backfilling` (a backfill still running, in words) is set."""
    results = serve_stores(
        stores,
        lambda s: sweep_store(centra, settings, s, marks.get(s.name, {}), now, backfilling),
        seconds,
        concurrency,
    )
    out = Swept([], {s.name: marks[s.name] for s in settings.stores if s.name in marks}, [], {}, {})
    for store in stores:
        if store.name not in results:
            continue
        out.swept.append(store.name)
        result = results[store.name]
        if isinstance(result, WaitingForBackfill):
            out.waiting[store.name] = str(result)
        elif isinstance(result, BaseException):
            out.failed[store.name] = result
        else:
            out.planned.extend(result[0])
            out.marks[store.name] = result[1]
    return out


def sweep(centra: CentraResource, settings: Settings, marks: dict, now: dt.datetime) -> tuple[list[Planned], dict]:
    """One refresh run per store for everything Centra changed since that store's last sweep (`marks`: store ->
    data type -> {since, seen}; a store's first sweep looks back FIRST_SWEEP from `now`); and the next marks.
    Every store, one after the other; the first failure raises."""
    done = sweep_stores(centra, settings, marks, now, settings.stores)
    if done.failed:
        raise next(iter(done.failed.values()))
    return done.planned, done.marks


def marks_since(settings: Settings, when: dt.datetime) -> dict:
    """Sweep marks as if every store's last sweep had run at `when`."""
    return {s.name: {spec.name: {"since": when.isoformat()} for spec in CHANGING} for s in settings.stores}


@dataclass
class SweepCursor(RefreshCursor):
    marks: dict[str, dict] = field(default_factory=dict)  # store -> data type -> {since, seen, ...}

    @classmethod
    def load(cls, text: str | None) -> SweepCursor:
        state = json.loads(text) if text else {"marks": {}, "pending": {}}
        return cls(pending=state["pending"], served=state.get("served", {}), marks=state["marks"])

    def state(self) -> dict:
        return {"marks": self.marks, "pending": self.pending, "served": self.served}


def build_sweep_sensor(settings: Settings, assets: list) -> dg.SensorDefinition:
    targets = refreshable_keys(assets)

    @dg.sensor(
        name="centra_sweep_sensor",
        minimum_interval_seconds=SWEEP_INTERVAL,
        asset_selection=targets,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Every {SWEEP_INTERVAL // 60} minutes, refreshes what Centra changed since the last sweep, in "
        f"one run per store (stores swept {STORE_CONCURRENCY} at a time, longest-waiting first, for at most "
        f"{TICK_SECONDS:.0f} s a tick): "
        "orders, shipments and purchase orders by updatedAt; returns and deliveries (no updatedAt filter) when "
        "new, and when their state moves on. Catches what no webhook or event announced; its cursor keeps the "
        "last sweep, so a daemon down for days misses nothing. On by default: it needs nothing but the API. A "
        "store's first sweep waits until its history from the start date has landed (the backfill).",
    )
    def centra_sweep_sensor(context: dg.SensorEvaluationContext, centra: CentraResource):
        cursor = SweepCursor.load(context.cursor)
        requests, _ = cursor.follow_up(context, settings)
        started = time.time()
        order = longest_waiting(settings.stores, cursor.served)
        planned, marks, swept, failed, waiting = sweep_stores(
            centra,
            settings,
            cursor.marks,
            calendar.now(),
            order,
            policy.TICK_SECONDS,  # read at each tick: tests and the bench change them
            policy.STORE_CONCURRENCY,
            # only a store's first sweep asks: later sweeps never wait for a backfill
            backfills_in_progress(context.instance, time.time()) if len(cursor.marks) < len(settings.stores) else None,
        )
        for name, error in failed.items():  # its marks stay: the next sweep of the store covers its changes
            context.log.error(f"sweep of store {name!r} failed: {type(error).__name__}: {error}")
        # a store whose schema makes the sweep fall back, when it starts to
        for name in set(swept) - set(failed) - set(waiting):
            for kind, mark in marks[name].items():
                if mark.get("fallback") and mark["fallback"] != cursor.marks.get(name, {}).get(kind, {}).get(
                    "fallback"
                ):
                    context.log.warning(f"store {name!r}: {mark['fallback']}")
        if failed and len(failed) == len(swept):
            raise next(iter(failed.values()))  # nothing could be swept: the tick fails, as it should show
        cursor.remember(planned)
        requests += [p.request for p in planned]
        cursor.served.update(dict.fromkeys(swept, started))
        cursor.marks = marks
        context.update_cursor(cursor.to_json(settings))
        if len(swept) < len(settings.stores):
            context.log.info(f"swept {len(swept)} of {len(settings.stores)} stores; the others come first next tick")
        for reason in waiting.values():
            context.log.info(reason)
        return sensor_result(
            requests,
            "; ".join(waiting.values())
            or f"nothing changed since the last sweep ({len(cursor.pending)} refreshes still running)",
        )

    return centra_sweep_sensor
