"""The dbt models as Dagster assets: lineage from every Centra asset to every mart, dbt tests as asset checks,
marts that refresh themselves when the raw data they read changes, and one atomic publish per build."""

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from centra_assets.analytics.project import DBT_PROJECT
from centra_assets.analytics.publish import building
from centra_assets.settings import Settings

from .assets import OWNER, RAW_FRESHNESS

# Eager, except that missing upstream partitions do not hold a model back: the raw assets are daily partitions
# since CENTRA_START_DATE, and some (snapshots of past days) can never exist. Staging views are cheap to
# re-create and carry the change on to the marts in the same run.
REFRESH_WHEN_UPSTREAM_CHANGES = dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing())


class CentraDbtTranslator(DagsterDbtTranslator):
    """dbt source `centra.<table>` is the Centra asset `centra/<table>`; models are `analytics/<model>`."""

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: Any) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        return spec if spec.key.path[0] == "centra" else spec.replace_attributes(freshness_policy=RAW_FRESHNESS)

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey(["centra", dbt_resource_props["name"]])
        return dg.AssetKey(["analytics", dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str:
        return "analytics" if "marts" in dbt_resource_props.get("fqn", []) else "analytics_staging"

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str]:
        return [OWNER]

    def get_automation_condition(self, dbt_resource_props: Mapping[str, Any]) -> dg.AutomationCondition | None:
        return REFRESH_WHEN_UPSTREAM_CHANGES


def dbt_vars(settings: Settings, duckdb_path: str) -> str:
    return json.dumps(
        {
            "duckdb_path": duckdb_path,
            "centra_warehouse_dir": settings.warehouse_url,
            "store_timezones": {s.name: s.timezone for s in settings.stores},
        }
    )


def build_dbt_assets(settings: Settings) -> dg.AssetsDefinition:
    @dbt_assets(
        manifest=DBT_PROJECT.manifest_path,
        project=DBT_PROJECT,
        dagster_dbt_translator=CentraDbtTranslator(),
        name="centra_dbt",
        op_tags={"centra/writer": "duckdb"},
    )
    def centra_dbt(context: dg.AssetExecutionContext, dbt: DbtCliResource):
        """Builds the selected dbt models and runs their tests into a copy of the warehouse, and publishes it
        only if everything passed: the events are reported once the new warehouse is in place."""
        if settings.dbt_target != "local":  # a shared warehouse (deploy/): dbt builds each model in place
            yield from dbt.cli(
                ["build", "--target", settings.dbt_target, "--vars", dbt_vars(settings, "")], context=context
            ).stream()
            return
        with building(settings.duckdb_file) as build:
            invocation = dbt.cli(["build", "--vars", dbt_vars(settings, str(build))], context=context)
            events = list(invocation.stream())
        context.log.info(f"published {settings.duckdb_file}")
        yield from events

    return centra_dbt


def dbt_resource() -> DbtCliResource:
    beside_python = Path(sys.executable).with_name("dbt")  # the virtualenv's dbt, also when it is not on PATH
    executable = str(beside_python) if beside_python.exists() else "dbt"
    return DbtCliResource(project_dir=DBT_PROJECT, dbt_executable=executable)
