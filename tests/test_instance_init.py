"""`centra-assets init`: the instance settings the pipeline relies on, written once, completing what is there."""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path

import dagster as dg
import pytest
import yaml

from centra_assets.cli import INSTANCE_DEFAULTS, init_instance
from centra_assets.defs.marts.automation import marts_automation_sensor
from centra_assets.defs.policy import MARTS_BUILD_TAG, POOL

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def test_init_writes_the_settings_and_keeps_what_the_file_already_says(tmp_path):
    home = tmp_path / "home"
    path = init_instance(home)
    instance = dg.DagsterInstance.from_config(str(home))
    assert instance.get_concurrency_config().pool_config.default_pool_limit == 2
    assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 4
    # one build of the marts at a time, whoever asks for it (the automation tags its runs so)
    limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
    assert {"key": MARTS_BUILD_TAG, "limit": 1} in limits
    assert marts_automation_sensor().run_tags == {MARTS_BUILD_TAG: "automatic"}
    assert "centra_assets" in instance.managed_python_loggers
    assert not instance.telemetry_enabled
    assert instance.run_coordinator.dequeue_interval_seconds == 1  # a change waits in the queue twice (refresh, build)
    assert init_instance(home).read_text() == path.read_text()  # init again: nothing to add, nothing refused

    # a file with settings of its own: they stay, the missing ones are added, and the result loads
    path.write_text(
        yaml.safe_dump({"telemetry": {"enabled": True}, "concurrency": {"runs": {"max_concurrent_runs": 10}}})
    )
    init_instance(home)
    config = yaml.safe_load(path.read_text())
    assert config["telemetry"] == {"enabled": True}  # the operator's choice
    instance = dg.DagsterInstance.from_config(str(home))
    assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 10
    assert instance.get_concurrency_config().pool_config.default_pool_limit == 2

    # the run queue configured the older way: a clear error, the file untouched
    older = {"run_coordinator": {"module": "dagster.core.run_coordinator", "class": "QueuedRunCoordinator"}}
    path.write_text(yaml.safe_dump(older))
    with pytest.raises(SystemExit, match="older way. Move its max_concurrent_runs"):
        init_instance(home)
    assert yaml.safe_load(path.read_text()) == older
    older = {"run_queue": {"max_concurrent_runs": 3, "dequeue_interval_seconds": 2}}
    path.write_text(yaml.safe_dump(older))
    with pytest.raises(SystemExit, match="under run_queue, the older way"):
        init_instance(home)


def test_the_projects_info_lines_reach_the_runs_event_log(tmp_path):
    """What the project logs at INFO (a wait for the rate budget, a day synced whole instead of refreshed) shows in
    the run's event log of an instance `init` set up: Dagster manages the `centra_assets` loggers, and the
    Dagster layer lets their INFO lines through (a logger without a level passes warnings only)."""
    import logging

    import centra_assets.defs  # noqa: F401  (the code location: every run imports it)

    @dg.asset
    def logs_a_line():
        logging.getLogger("centra_assets.centra").info("waiting about 7 s for Centra's rate budget")

    instance = dg.DagsterInstance.from_config(str(init_instance(tmp_path / "home").parent))
    result = dg.materialize([logs_a_line], instance=instance)
    messages = [e.user_message for e in instance.all_logs(result.run_id)]
    assert "waiting about 7 s for Centra's rate budget" in messages


def _camel(config):
    """dagster.yaml's snake_case keys as the Helm chart spells them (camelCase)."""
    if isinstance(config, dict):
        return {re.sub(r"_(\w)", lambda m: m[1].upper(), k): _camel(v) for k, v in config.items()}
    return [_camel(v) for v in config] if isinstance(config, list) else config


def test_the_deployments_say_what_init_writes():
    """deploy/ (Docker's dagster.yaml, the Helm values) runs the pipeline with the instance settings `init` writes:
    the run cap, one marts build at a time, the pool and how the run queue leaves it to the steps, the logs, a
    thread per sensor."""
    docker = yaml.safe_load((DEPLOY / "docker" / "dagster.yaml").read_text())
    for key in ("concurrency", "python_logs", "sensors"):
        assert docker[key] == INSTANCE_DEFAULTS[key], key
    assert docker["run_coordinator"]["config"] == INSTANCE_DEFAULTS["run_queue"]
    helm = yaml.safe_load((DEPLOY / "k8s" / "values.yaml").read_text())
    assert helm["dagsterDaemon"]["sensors"] == _camel(INSTANCE_DEFAULTS["sensors"])
    assert {k: v for k, v in helm["concurrency"].items() if k != "enabled"} == _camel(INSTANCE_DEFAULTS["concurrency"])
    assert helm["pythonLogs"] == _camel(INSTANCE_DEFAULTS["python_logs"])


def test_a_refresh_is_not_held_in_the_queue_by_waiting_pool_steps(tmp_path):
    """The run queue holds a run back while the pool's limit, less every step waiting for it, plus the buffer is
    not above 0 (Dagster's op granularity); the steps of the runs in progress (at most the run cap, each at most
    every Centra asset of the largest job) must never reach the buffer, or a refresh waits in the queue behind
    them whatever its priority, where its steps would go first (issue #27: a refresh waited behind a snapshot
    sync's steps)."""
    from centra_assets.defs import build_definitions
    from centra_assets.settings import Settings

    instance = dg.DagsterInstance.from_config(str(init_instance(tmp_path / "home").parent))
    pools = instance.get_concurrency_config().pool_config
    defs = build_definitions(Settings(warehouse_dir=str(tmp_path / "w"), start_date="2026-11-01"))
    largest = max(
        sum(1 for node in defs.resolve_job_def(job).graph.node_defs if getattr(node, "pool", None) == POOL)
        for job in ("centra_events", "centra_snapshots")
    )
    cap = instance.get_concurrency_config().run_queue_config.max_concurrent_runs
    assert pools.op_granularity_run_buffer > cap * largest - pools.default_pool_limit, (largest, cap)


def _signal(name: str) -> Path:
    return Path(os.environ["CENTRA_TEST_SIGNALS"]) / name


@dg.sensor(minimum_interval_seconds=1, default_status=dg.DefaultSensorStatus.RUNNING)
def slow_sweep():
    """A sweep tick that takes long (the real one may take up to policy.TICK_SECONDS): it waits for the webhook
    sensor to tick while it runs, for at most 30 s."""
    _signal("sweep-started").touch()
    for _ in range(300):
        if _signal("webhook-ticked").exists():
            return dg.SkipReason("the webhook sensor ticked meanwhile")
        time.sleep(0.1)
    return dg.SkipReason("the webhook sensor was held back")


@dg.sensor(minimum_interval_seconds=1, default_status=dg.DefaultSensorStatus.RUNNING)
def quick_webhooks():
    if _signal("sweep-started").exists():
        _signal("webhook-ticked").touch()
    return dg.SkipReason("no new webhook events")


SENSORS = dg.Definitions(sensors=[slow_sweep, quick_webhooks])


@pytest.mark.slow  # the sensor daemon's own loop: a few seconds between its passes
def test_a_slow_sweep_tick_does_not_hold_the_webhook_sensor_back(tmp_path, monkeypatch):
    """The sensor daemon of an instance `init` set up ticks each sensor in a thread of its own: while a sweep tick
    runs, the webhook sensor still ticks (by default the daemon evaluates sensors one after the other, and a
    webhook's refresh waited for the sweep's tick: issue #27, ~50 s beyond the sensor's interval)."""
    from dagster._core.remote_origin import InProcessCodeLocationOrigin
    from dagster._core.test_utils import create_test_daemon_workspace_context
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
    from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
    from dagster._daemon.daemon import SensorDaemon

    monkeypatch.setenv("CENTRA_TEST_SIGNALS", str(tmp_path))
    instance = dg.DagsterInstance.from_config(str(init_instance(tmp_path / "home").parent))
    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(python_file=__file__, attribute="SENSORS", working_directory=str(DEPLOY.parent)),
        location_name="sensors",
    )
    with (
        create_test_daemon_workspace_context(InProcessWorkspaceLoadTarget(origin), instance) as workspace,
        SensorDaemon(instance.get_sensor_settings()) as daemon,
    ):
        state = next(
            s for s in workspace.create_request_context().get_code_location("sensors").get_repositories().values()
        ).get_sensor("slow_sweep")
        loop = daemon.core_loop(workspace, threading.Event())
        ticks: list = []
        while not ticks:  # the daemon's loop until the sweep's first tick has ended
            next(loop)
            ticks = [t for t in instance.get_ticks(state.get_remote_origin_id(), state.selector_id) if t.end_timestamp]
        loop.close()
    assert ticks[-1].skip_reason == "the webhook sensor ticked meanwhile"
