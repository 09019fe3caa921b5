"""Dagster runs launched in process the way the daemon would, for what a sensor requests (tests and benchmarks)."""

from __future__ import annotations

import dagster as dg


def run(assets, request: dg.RunRequest, resource, instance, raise_on_error: bool = False) -> bool:
    """The run a sensor's request asks for, as the daemon would launch it (in process)."""
    selected = [a for a in assets if set(a.keys) & set(request.asset_selection)]
    return dg.materialize(
        selected,
        partition_key=request.partition_key,
        run_config=request.run_config,
        tags=request.tags,
        resources={"centra": resource},
        instance=instance,
        raise_on_error=raise_on_error,
    ).success
