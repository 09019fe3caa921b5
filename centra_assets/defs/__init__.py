"""The Dagster layer: partitions, the asset factory, checks, resources, jobs."""

from __future__ import annotations

import dagster as dg

from .assets import build_sync_assets
from .resources import centra_resource
from .settings import Settings


def build_definitions(settings: Settings) -> dg.Definitions:
    assets = build_sync_assets(settings)
    centra = dg.AssetSelection.key_prefixes(["centra"])
    return dg.Definitions(
        assets=assets,
        jobs=[
            dg.define_asset_job(
                "centra_sync", selection=centra, description="Every Centra data type for the chosen day(s)"
            )
        ],
        resources={"centra": centra_resource(settings.warehouse_dir)},
    )
