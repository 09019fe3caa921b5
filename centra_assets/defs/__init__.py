"""The Dagster layer: partitions, the asset factory, checks, resources, jobs."""

from __future__ import annotations

import dagster as dg

from centra_assets.entities import ALL

from .analytics import build_dbt_assets, dbt_resource
from .assets import build_sync_assets
from .realtime import build_event_queue_sensor, build_sweep_schedule, build_webhook_sensor
from .resources import centra_resource
from .settings import Settings


def _tables(partition: str) -> dg.AssetSelection:
    return dg.AssetSelection.assets(*[["centra", t.name] for s in ALL if s.partition == partition for t in s.tables])


def build_definitions(settings: Settings) -> dg.Definitions:
    assets = build_sync_assets(settings)
    return dg.Definitions(
        assets=[*assets, build_dbt_assets(settings)],
        sensors=[
            build_webhook_sensor(settings, assets),
            build_event_queue_sensor(settings, assets),
            dg.AutomationConditionSensorDefinition(
                "centra_marts_automation",
                target=dg.AssetSelection.key_prefixes("analytics"),
                default_status=dg.DefaultSensorStatus.RUNNING,  # costs nothing until raw data changes
                minimum_interval_seconds=60,
                description="Asks for a dbt build of the models whose raw data changed (each model's "
                "automation condition); on by default",
            ),
        ],
        schedules=[build_sweep_schedule(settings, assets)],
        jobs=[
            dg.define_asset_job(
                "centra_events",
                selection=_tables("event"),
                description="Orders, shipments, returns, purchase orders and deliveries for the "
                "chosen days: backfill any range since CENTRA_START_DATE",
            ),
            dg.define_asset_job(
                "centra_snapshots",
                selection=_tables("snapshot"),
                description="Inventory, catalogue and reference data as they are now (today's "
                "partition only: Centra does not know the past)",
            ),
        ],
        resources={"centra": centra_resource(settings.warehouse_dir), "dbt": dbt_resource()},
    )
