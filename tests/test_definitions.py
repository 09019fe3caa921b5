"""The code location loads: workspace.yaml and `dagster` can import the one Definitions object."""

from dagster import Definitions

from centra_assets.definitions import defs


def test_definitions_load():
    assert isinstance(defs, Definitions)
    defs.get_repository_def()  # resolves every asset, job, sensor and schedule
