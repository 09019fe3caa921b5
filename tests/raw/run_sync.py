"""A separate process that materializes event assets for some days: `python -m tests.raw.run_sync URL TOKEN
WAREHOUSE SCALE DAY...`. Used to run backfills side by side, as Dagster runs are separate processes."""

import sys
from pathlib import Path

from ..helpers import materialize, resource_for, settings_for


class _Centra:
    def __init__(self, url: str):
        self.graphql_url = url


def main(url: str, token: str, warehouse: str, scale: str, *days: str) -> None:
    settings = settings_for(Path(warehouse))
    resource = resource_for(
        _Centra(url),
        settings,
        token=token,
        rate_window_scale=float(scale),
        pacer_path=str(Path(warehouse) / "shared-budget.sqlite"),
    )
    for day in days:
        materialize(settings, resource, day, "event")


if __name__ == "__main__":
    main(*sys.argv[1:])
