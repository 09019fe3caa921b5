"""The event queue sensor: polls Centra's own event queue (Integration API, Event:read and Event:write) and
refreshes the orders, shipments, returns, purchase orders and deliveries it names.

An event is confirmed to Centra (which may then forget it) only once its refresh run succeeded: its cursor holds
the stores listening for events, the refresh runs asked for with the events each covers, and the events whose
refresh succeeded, confirmed at their store's next turn. A store that fails leaves its events in Centra's queue.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass, field

import dagster as dg

from centra_assets.entities.spec import read_query
from centra_assets.settings import Settings, Store

from ..policy import EVENT_PAGE, SENSOR_INTERVAL, STORE_CONCURRENCY, TICK_SECONDS
from ..resources import CentraResource
from .cursor import RefreshCursor, sensor_result
from .fanout import serve_tick
from .locate import CHANGING, Planned, refresh_announced, refreshable_keys

BY_EVENT_OBJECT = {s.event_object: s for s in CHANGING if s.event_object}


@dataclass
class EventQueueCursor(RefreshCursor):
    listening: set[str] = field(default_factory=set)  # stores whose event listeners are set
    unconfirmed: dict[str, list[int]] = field(default_factory=dict)  # store -> events to confirm at its next turn

    @classmethod
    def load(cls, text: str | None, settings: Settings) -> EventQueueCursor:
        state = json.loads(text) if text else {"listening": [], "pending": {}}
        listening = state["listening"]
        if isinstance(listening, bool):  # a cursor from before several stores
            listening = [settings.stores[0].name] if listening else []
        return cls(
            pending=state["pending"],
            served=state.get("served", {}),
            listening=set(listening),
            unconfirmed=state.get("unconfirmed", {}),
        )

    def state(self) -> dict:
        return {
            "listening": sorted(self.listening),
            "pending": self.pending,
            "unconfirmed": self.unconfirmed,
            "served": self.served,
        }


def build_event_queue_sensor(settings: Settings, assets: list) -> dg.SensorDefinition:
    targets = refreshable_keys(assets)

    @dg.sensor(
        name="centra_event_queue_sensor",
        minimum_interval_seconds=SENSOR_INTERVAL,
        asset_selection=targets,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Polls Centra's Integration API event queue (needs Event:read and Event:write) and "
        "refreshes the orders, shipments, returns, purchase orders and deliveries it names; confirms events only "
        f"after their refresh run succeeded. Stores are polled {STORE_CONCURRENCY} at a time, longest-waiting "
        f"first, for at most {TICK_SECONDS:.0f} s a tick.",
    )
    def centra_event_queue_sensor(context: dg.SensorEvaluationContext, centra: CentraResource):
        cursor = EventQueueCursor.load(context.cursor, settings)
        requests, done = cursor.follow_up(context, settings)
        started = time.time()
        # events whose refresh succeeded, confirmed at their store's next turn
        for req in done:
            cursor.unconfirmed.setdefault(req.get("store") or settings.stores[0].name, []).extend(req["events"])

        def one_store(store: Store) -> tuple[list[Planned], dict, list[int]]:
            """(refresh runs, the events each covers, the events confirmed) for the store's queue."""
            client = centra.client(store)
            try:
                if store.name not in cursor.listening:
                    client.execute(read_query("set_event_listeners.graphql"))
                confirmed = sorted(set(cursor.unconfirmed.get(store.name, [])))
                if confirmed:  # their refresh succeeded: Centra may forget them now
                    client.execute(read_query("confirm_events.graphql"), {"ids": confirmed})
                waiting = {
                    i
                    for req in cursor.pending.values()
                    if req.get("store", store.name) == store.name
                    for i in req["events"]
                }
                waiting |= set(confirmed)
                events = [
                    e
                    for e in client.execute(read_query("events.graphql"), {"limit": EVENT_PAGE}).data["events"]
                    if e["id"] not in waiting
                ]
                announced: dict[str, set[int]] = defaultdict(set)
                ids_by_key: dict[tuple[str, int], list[int]] = defaultdict(list)
                for e in events:
                    spec = BY_EVENT_OBJECT.get(e["objectType"])
                    if spec:  # DELETED too: the refresh drops rows of records Centra no longer returns
                        announced[spec.name].add(int(e["objectReference"]))
                        ids_by_key[(spec.name, int(e["objectReference"]))].append(e["id"])
                planned = refresh_announced(
                    announced,
                    settings,
                    store,
                    client,
                    f"event-queue-{min(e['id'] for e in events)}" if events else "event-queue",
                )
                covered = {
                    p.request.run_key: sorted(
                        i for name, ks in p.keys.items() for k in ks for i in ids_by_key[(name, k)]
                    )
                    for p in planned
                }
                # events of other types, or of records found nowhere, have nothing to refresh: confirm them now,
                # or they would come back on every poll and fill the page
                handled = {i for ids in covered.values() for i in ids}
                nothing_to_do = [e["id"] for e in events if e["id"] not in handled]
                if nothing_to_do:
                    client.execute(read_query("confirm_events.graphql"), {"ids": nothing_to_do})
                return planned, covered, confirmed
            finally:
                client.close()

        # a store that fails leaves its events in Centra's queue until a later tick
        results, confirmed_total = serve_tick(context, settings, cursor.served, started, one_store, "event queue"), 0
        for store, (planned, covered, confirmed) in results:
            cursor.listening.add(store.name)
            confirmed_total += len(confirmed)
            cursor.unconfirmed.pop(store.name, None)
            cursor.remember(planned, covered)
            requests += [p.request for p in planned]
        context.update_cursor(cursor.to_json(settings))
        if confirmed_total:
            context.log.info(f"confirmed {confirmed_total} events whose refresh succeeded")
        return sensor_result(requests, f"no new events ({len(cursor.pending)} refreshes still running)")

    return centra_event_queue_sensor
