"""The Dagster layer: partitions, the asset factory, checks, resources, jobs."""

from __future__ import annotations

import dagster as dg

from centra_assets.settings import Settings

from .analytics import build_dbt_assets, build_replenishment_asset, dbt_resource, warehouse_reader
from .assets import build_sync_assets
from .realtime import build_event_queue_sensor, build_sweep_sensor, build_webhook_sensor
from .resources import centra_resource
from .schedules import build_jobs, build_schedules


def build_definitions(settings: Settings) -> dg.Definitions:
    assets = build_sync_assets(settings)
    jobs = build_jobs()
    # Python assets over the marts read the local DuckDB file dbt publishes (not a shared warehouse of deploy/)
    readers = [build_replenishment_asset(settings)] if settings.dbt_target == "local" else []
    return dg.Definitions(
        assets=[*assets, build_dbt_assets(settings), *readers],
        sensors=[
            build_webhook_sensor(settings, assets),
            build_event_queue_sensor(settings, assets),
            build_sweep_sensor(settings, assets),
            dg.AutomationConditionSensorDefinition(
                "centra_marts_automation",
                target=dg.AssetSelection.key_prefixes("analytics"),
                default_status=dg.DefaultSensorStatus.RUNNING,  # costs nothing until raw data changes
                minimum_interval_seconds=15,  # landed raw data starts its dbt build within 15 s (make bench)
                description="Asks for a dbt build of the models whose raw data changed (each model's "
                "automation condition); on by default",
            ),
        ],
        schedules=build_schedules(settings, jobs),
        jobs=list(jobs.values()),
        resources={"centra": centra_resource(settings), "dbt": dbt_resource(), "warehouse": warehouse_reader(settings)},
    )
