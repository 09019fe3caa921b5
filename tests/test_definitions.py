"""The code location loads: workspace.yaml and `dagster` can import the one Definitions object."""

from dagster import Definitions

from centra_assets.definitions import defs


def test_definitions_load():
    assert isinstance(defs, Definitions)
    defs.get_repository_def()  # resolves every asset, job, sensor and schedule


def test_every_centra_table_feeds_the_dbt_models_and_only_the_marts_automation_runs_by_default():
    from dagster import AssetKey, DefaultSensorStatus

    from centra_assets.entities import ALL

    graph = defs.resolve_asset_graph()
    for spec in ALL:
        for table in spec.tables:
            staging = AssetKey(["analytics", f"stg_centra__{table.name}"])
            assert graph.get(staging).parent_keys == {AssetKey(["centra", table.name])}
    running = {s.name for s in defs.get_repository_def().sensor_defs if s.default_status == DefaultSensorStatus.RUNNING}
    assert running == {"centra_marts_automation"}
