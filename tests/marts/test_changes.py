"""Which raw partitions a marts build is told changed (defs/marts/changes.py): none, so a whole build, after an
upgrade changed the SQL of an incremental model or of a model it reads."""

from __future__ import annotations

import dagster as dg

from centra_assets.defs.marts import changes
from centra_assets.settings import Settings


def _build(instance: dg.DagsterInstance, versions: dict[dg.AssetKey, str | None]) -> None:
    """Record a build of these models, each with this code version, as a run of Dagster's would."""
    assets = [
        dg.asset(key=key, code_version=version)(lambda: None)  # noqa: B023 - the body is the same for every model
        for key, version in versions.items()
    ]
    assert dg.materialize(assets, instance=instance).success


def test_a_build_after_the_sql_of_an_incremental_model_or_what_it_reads_changed_is_whole(tmp_path):
    settings = Settings(warehouse_dir=str(tmp_path), timezone="Europe/Stockholm", start_date="2026-11-01")
    current = changes._incremental_code()
    assert set(changes.incremental_models()) < set(current)  # the models they read count too
    with dg.DagsterInstance.ephemeral() as instance:
        _build(instance, current)
        assert changes.changed_partitions(instance, settings) == {}  # nothing changed: an incremental build

        read = next(key for key in current if key not in changes.incremental_models())
        _build(instance, {read: "the sql before the upgrade"})
        assert changes.changed_partitions(instance, settings) is None

        _build(instance, current)
        assert changes.changed_partitions(instance, settings) == {}
