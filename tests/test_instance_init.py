"""`centra-assets init`: the instance settings the pipeline relies on, written once, completing what is there."""

from __future__ import annotations

import dagster as dg
import pytest
import yaml

from centra_assets.cli import init_instance
from centra_assets.defs.marts.automation import marts_automation_sensor
from centra_assets.defs.policy import MARTS_BUILD_TAG


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
