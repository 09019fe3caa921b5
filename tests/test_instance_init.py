"""`centra-assets init`: the instance settings the pipeline relies on, written once, completing what is there."""

from __future__ import annotations

import dagster as dg
import pytest
import yaml

from centra_assets.cli import init_instance


def test_init_writes_the_settings_and_keeps_what_the_file_already_says(tmp_path):
    home = tmp_path / "home"
    path = init_instance(home)
    instance = dg.DagsterInstance.from_config(str(home))
    assert instance.get_concurrency_config().pool_config.default_pool_limit == 2
    assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 4
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
