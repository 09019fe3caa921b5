"""A store's first sweep waits for its history, and no longer (issue #27: in the soak the sweep launched nothing).

Its history is every day from the start date to the newest day landed: the daily schedules land a day after it
ends, so waiting for yesterday kept the sweep off for a day (and for ever where the days pass faster than the
schedules). A backfill still running (the instance's own backfills) is what says "wait" instead. Fast tier: files
in `tmp_path` and Dagster's ephemeral instance; the sweep stops before it would call Centra."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill

from centra_assets.defs import build_definitions
from centra_assets.defs.realtime.locate import CHANGING
from centra_assets.defs.realtime.sweep import backfill_gap
from centra_assets.defs.resources import CentraResource
from centra_assets.warehouse import layout

from ..helpers import Local

FIRST = dt.date(2026, 11, 2)
NOW = dt.datetime(2026, 11, 9, 12, tzinfo=dt.UTC)  # the store's yesterday: 2026-11-08


def _land(settings, *days: dt.date, tables=None) -> None:
    """Days landed for the sweep's data types (a partition file each; the gate reads only their paths)."""
    root = layout.store_root(settings.warehouse_dir, settings.stores[0])
    for table in tables or [spec.tables[0].name for spec in CHANGING]:
        for day in days:
            path = Path(layout.partition_path(root, table, day.isoformat()))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()


def _days(n: int) -> list[dt.date]:
    return [FIRST + dt.timedelta(days=i) for i in range(n)]


@pytest.fixture
def settings(tmp_path):
    return Local().settings(tmp_path, FIRST.isoformat())


@pytest.fixture(scope="module")
def landed(tmp_path_factory):
    """A store whose history has landed, and its definitions (built once: a second or two each)."""
    settings = Local().settings(tmp_path_factory.mktemp("landed"), FIRST.isoformat())
    _land(settings, *_days(7))
    return settings, build_definitions(settings)


def test_history_is_landed_up_to_the_newest_day_not_to_yesterday(settings):
    store = settings.stores[0]
    assert "orders lacks 7 of the 7 days from 2026-11-02 to 2026-11-08" in backfill_gap(settings, store, NOW)
    _land(settings, *_days(5))  # the backfill landed to 11-06; the daily schedules have not run for 11-07, 11-08
    assert backfill_gap(settings, store, NOW) is None
    _land(settings, FIRST + dt.timedelta(days=6), tables=["orders"])  # a day landed past a hole: the hole counts
    assert "orders lacks 1 of the 7 days from 2026-11-02 to 2026-11-08 (the first: 2026-11-07)" in backfill_gap(
        settings, store, NOW
    )


def test_the_first_sweep_waits_while_a_backfill_runs(landed, tmp_path, monkeypatch):
    monkeypatch.setattr("centra_assets.calendar.now", lambda: NOW)
    _, defs = landed  # the history has landed: only the backfill still running holds the sweep
    sweep = defs.get_sensor_def("centra_sweep_sensor")
    # no Centra to reach: the sweep must decide before it calls Centra
    centra = CentraResource(pacer_path=str(tmp_path / "budget.sqlite"))
    with dg.DagsterInstance.ephemeral() as instance:
        backfill = PartitionBackfill(
            backfill_id="history",
            status=BulkActionStatus.REQUESTED,
            from_failure=False,
            tags={},
            backfill_timestamp=NOW.timestamp(),
            asset_selection=[dg.AssetKey("orders")],
            partition_names=[d.isoformat() for d in _days(7)],
        )
        instance.add_backfill(backfill)
        context = dg.build_sensor_context(instance=instance, resources={"centra": centra})
        result = sweep(context)
        assert isinstance(result, dg.SkipReason), result
        assert "waits for backfill history (REQUESTED) to end" in result.skip_message
        assert json.loads(context.cursor)["marks"] == {}  # its first sweep is still to come

        instance.update_backfill(backfill.with_status(BulkActionStatus.COMPLETED_SUCCESS))
        context = dg.build_sensor_context(instance=instance, resources={"centra": centra})
        with pytest.raises(RuntimeError, match="Set CENTRA_API_URL"):  # no longer waiting: it goes to Centra
            sweep(context)


def test_a_backfill_whose_runs_died_holds_the_first_sweep_no_longer(landed, tmp_path, monkeypatch):
    """A backfill run whose process was killed stays STARTED on a local instance, and Dagster keeps its backfill
    REQUESTED for ever: the new store's first sweep waited for it for ever. Its runs silent for SYNC_SILENT_SECONDS
    (policy.silent_for, as for the marts' automation) hold the sweep no longer; a live one, or one not started, still
    does."""
    from dagster._core.storage.tags import BACKFILL_ID_TAG
    from dagster._core.utils import make_new_run_id

    from centra_assets.defs import policy

    monkeypatch.setattr("centra_assets.calendar.now", lambda: NOW)
    _, defs = landed
    sweep = defs.get_sensor_def("centra_sweep_sensor")
    centra = CentraResource(pacer_path=str(tmp_path / "budget.sqlite"))
    with dg.DagsterInstance.ephemeral() as instance:
        orders = [dg.AssetKey("orders")]
        instance.add_backfill(
            PartitionBackfill("history", BulkActionStatus.REQUESTED, False, {}, NOW.timestamp(), None, orders)
        )

        def run(status: dg.DagsterRunStatus) -> dg.DagsterRun:
            tags = {BACKFILL_ID_TAG: "history"}
            made = instance.add_run(dg.DagsterRun("centra_events", make_new_run_id(), status=status, tags=tags))
            instance.report_engine_event("syncing", made)  # its latest event: now
            return made

        def waits() -> bool:
            context = dg.build_sensor_context(instance=instance, resources={"centra": centra})
            try:
                result = sweep(context)
            except RuntimeError as error:  # no longer waiting: it went to Centra
                assert "Set CENTRA_API_URL" in str(error)
                return False
            assert "waits for backfill history (REQUESTED) to end" in result.skip_message, result
            return True

        started = run(dg.DagsterRunStatus.STARTED)
        assert waits()  # its run is alive
        monkeypatch.setattr(policy, "SYNC_SILENT_SECONDS", 0.0)  # its last event is older than that now
        queued = run(dg.DagsterRunStatus.NOT_STARTED)
        assert waits()  # a run not started yet is waiting, not dead
        instance.report_run_canceled(queued)
        assert not waits(), started.run_id  # the started run is silent: taken for dead
