"""What every refresh sensor's cursor holds, written once for the three of them: the refresh runs it asked for and
is waiting on, and when it last served each store (the fan-out's turn order). Each sensor's own cursor type adds
where it is in its source (webhooks.py, event_queue.py, sweep.py); a cursor is kept as JSON between ticks.

At least once: a run that fails is asked for again (with a new run key); what it covers counts as handled only
when its run succeeded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import dagster as dg

from centra_assets.settings import Settings

from .locate import TAG, Planned, refresh_request

# a run asked for that has not started: still in the run queue (behind the cap of runs, or the pool), or not launched
WAITING_TO_START = (dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED)


@dataclass
class RefreshCursor:
    # run key -> {keys, store, days, reason, attempt, events}: the refresh runs asked for and not yet succeeded
    pending: dict[str, dict] = field(default_factory=dict)
    served: dict[str, float] = field(default_factory=dict)  # store -> when last served (epoch seconds)
    # stores with a refresh run of this sensor still waiting to start (queued in the run queue, or not yet launched),
    # found by follow_up at each tick; not kept in the cursor
    waiting_to_start: set[str] = field(default_factory=set, compare=False, repr=False)

    def follow_up(self, context, settings: Settings) -> tuple[list[dg.RunRequest], list[dict]]:
        """Drop requests whose run succeeded (returned as done); ask again for failed ones (returned as run
        requests); keep the rest waiting, and note the stores whose run has not started yet (`waiting_to_start`)."""
        again, still, done = [], {}, []
        statuses: dict[str, dg.DagsterRunStatus] = {}  # one query for every pending run, newest first
        pending = self.pending
        for found in context.instance.get_runs(filters=dg.RunsFilter(tags={TAG: sorted(pending)})) if pending else []:
            statuses.setdefault(found.tags.get(TAG), found.status)
        for run_key, req in pending.items():
            status = statuses.get(run_key)
            if status == dg.DagsterRunStatus.SUCCESS:
                done.append(req)
                continue
            if status in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED):
                store = settings.store(req.get("store") or settings.stores[0].name)
                retry = refresh_request(settings, store, req["keys"], req["days"], req["reason"], req["attempt"] + 1)
                context.log.warning(f"refresh run {run_key} failed; asking again as {retry.run_key}")
                again.append(retry)
                still[retry.run_key] = {**req, "attempt": req["attempt"] + 1}
            else:
                still[run_key] = req
                if status in WAITING_TO_START:
                    self.waiting_to_start.add(req.get("store") or settings.stores[0].name)
        self.pending = still
        return again, done

    def remember(self, planned: list[Planned], events: dict[str, list[int]] | None = None) -> None:
        """Wait on the planned refresh runs (`events`: run key -> the queue's events it covers)."""
        for p in planned:
            self.pending[p.request.run_key] = {
                "keys": p.keys,
                "store": p.store,
                "days": p.days,
                "reason": p.request.tags["centra/reason"],
                "attempt": 1,
                "events": (events or {}).get(p.request.run_key, []),
            }

    def to_json(self, settings: Settings) -> str:
        """The cursor to keep, of the stores there are now (a store removed from the stores file is forgotten)."""
        self.served = {s.name: self.served.get(s.name, 0.0) for s in settings.stores}
        return json.dumps(self.state())

    def state(self) -> dict:
        """The cursor as JSON-ready data, in the order it is written; each sensor's cursor type adds its own."""
        raise NotImplementedError


def sensor_result(requests: list[dg.RunRequest], skip: str) -> dg.SensorResult | dg.SkipReason:
    """The tick's refresh runs, or why there are none."""
    return dg.SensorResult(run_requests=requests) if requests else dg.SkipReason(skip)
