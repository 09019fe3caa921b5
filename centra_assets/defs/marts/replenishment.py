"""Replenishment suggestions per size and warehouse, from the marts: how many units to order now so that the stock
free to sell, plus what is already on its way, lasts until the next order can arrive.

For each size and warehouse on the latest stock day (inventory_health):
- demand = average daily units sold (shipped from that warehouse) over the sales window;
- lead time = the median days from purchase order to first arrival of the purchase orders of the size's latest
  supplier to that warehouse (fct_incoming_deliveries); the store's median where that supplier has none, else
  `default_lead_time_days`;
- cover target = lead time + review period (the days until the next weekly order) + safety days;
- suggested units = demand x cover target - (free to allocate + incoming units), rounded up, never negative.
Sizes that do not sell (dead stock) or are out of stock with no sales get no suggestion (0 units). A size whose demand
counts units of orders the warehouse does not hold carries inventory_health's `depends_on_history_before_start`: its
warehouse's demand may be off, and so may the suggestion.
"""

import dataclasses
import math
from typing import TYPE_CHECKING

import dagster as dg
from dagster_dbt import DbtCliResource
from dagster_duckdb import DuckDBResource

from centra_assets.settings import Settings
from centra_assets.warehouse import files, publish

from ..policy import REFRESH_WHEN_UPSTREAM_CHANGES, owners
from .dbt import dbt_target_path, dbt_vars
from .project import DBT_PROJECT

if TYPE_CHECKING:  # imported where used: every run's process loads the definitions, few of them run this asset
    import pandas as pd

HEALTH = """
SELECT store, stock_day, size_id, warehouse_id, sku, variant_id, product_id, free_to_allocate, incoming_units,
    next_expected_arrival_day, window_days, is_full_window, depends_on_history_before_start, units_sold_in_window,
    average_daily_units_sold, stock_status
FROM inventory_health
"""
PURCHASES = """
SELECT store, purchase_order_id, supplier_id, warehouse_id, size_id, ordered_at, lead_time_days
FROM fct_incoming_deliveries
"""
COLUMNS = (
    "store", "stock_day", "size_id", "warehouse_id", "sku", "variant_id", "product_id", "free_to_allocate",
    "incoming_units", "next_expected_arrival_day", "average_daily_units_sold", "window_days", "is_full_window",
    "depends_on_history_before_start",
    "supplier_id", "lead_time_days", "lead_time_source", "cover_target_days", "target_units", "days_until_stockout",
    "suggested_units",
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Policy:
    review_period_days: float = 7.0  # ordered weekly
    safety_days: float = 7.0
    default_lead_time_days: float = 35.0  # no purchase order has arrived yet


def suggest(health: "pd.DataFrame", purchases: "pd.DataFrame", policy: Policy = Policy()) -> "pd.DataFrame":
    """One row per size and warehouse of `health` (inventory_health), with the units to order now."""
    import pandas as pd

    lead = _lead_times(purchases, policy)
    out = health.merge(lead, on=["store", "size_id", "warehouse_id"], how="left")
    by_store = (
        purchases.dropna(subset=["lead_time_days"])
        .drop_duplicates("purchase_order_id")
        .groupby("store")["lead_time_days"]
        .median()
        .rename("store_lead_time_days")
    )
    out = out.merge(by_store, left_on="store", right_index=True, how="left")
    source = pd.Series("supplier", index=out.index)
    source[out["lead_time_days"].isna() & out["store_lead_time_days"].notna()] = "store"
    source[out["lead_time_days"].isna() & out["store_lead_time_days"].isna()] = "default"
    out["lead_time_source"] = source
    out["lead_time_days"] = (
        out["lead_time_days"].fillna(out["store_lead_time_days"]).fillna(policy.default_lead_time_days).astype(float)
    )
    demand = out["average_daily_units_sold"].fillna(0.0).astype(float)
    out["cover_target_days"] = out["lead_time_days"] + policy.review_period_days + policy.safety_days
    out["target_units"] = (demand * out["cover_target_days"]).map(math.ceil).astype("int64")
    available = out["free_to_allocate"].clip(lower=0) + out["incoming_units"]
    out["suggested_units"] = (out["target_units"] - available).clip(lower=0).astype("int64")
    out["days_until_stockout"] = (out["free_to_allocate"].clip(lower=0) / demand.where(demand > 0)).round(1)
    out["supplier_id"] = out["supplier_id"].astype("Int64")
    return out[list(COLUMNS)].sort_values(["store", "warehouse_id", "size_id"]).reset_index(drop=True)


def _lead_times(purchases: "pd.DataFrame", policy: Policy) -> "pd.DataFrame":
    """Per store, size and warehouse: the latest supplier of the size there, and the median lead time of that
    supplier's purchase orders to that warehouse."""
    latest = (
        purchases.sort_values("ordered_at")
        .groupby(["store", "size_id", "warehouse_id"], as_index=False)
        .last()[["store", "size_id", "warehouse_id", "supplier_id"]]
    )
    per_supplier = (
        purchases.dropna(subset=["lead_time_days"])
        .drop_duplicates(["store", "purchase_order_id"])
        .groupby(["store", "supplier_id", "warehouse_id"], as_index=False)["lead_time_days"]
        .median()
    )
    return latest.merge(per_supplier, on=["store", "supplier_id", "warehouse_id"], how="left")


# The asset: the suggestions above, computed by Dagster over the published warehouse.
VIEW_EXISTS = "SELECT count(*) FROM duckdb_views() WHERE view_name = 'replenishment_suggestions'"


def make_views(settings: Settings, dbt: DbtCliResource) -> None:
    """The views over the Python assets' Parquet (dbt macro python_asset_views), made in a copy of the DuckDB file
    and published as a build publishes it (one writer: builds and this take turns on the file's lock)."""
    with publish.building(settings.duckdb_file) as database:
        args = ["run-operation", "python_asset_views", "--vars", dbt_vars(settings, str(database))]
        dbt.cli(args, manifest=DBT_PROJECT.manifest_path, target_path=dbt_target_path(settings)).wait()


def replenishment_path(settings: Settings) -> str:
    return files.join(settings.warehouse_url, "analytics", "replenishment_suggestions", "data.parquet")


class ReplenishmentPolicy(dg.Config):
    """The brand's ordering policy (run config of `analytics/replenishment_suggestions`)."""

    review_period_days: float = Policy.review_period_days
    safety_days: float = Policy.safety_days
    default_lead_time_days: float = Policy.default_lead_time_days


def build_replenishment_asset(settings: Settings) -> dg.AssetsDefinition:
    @dg.asset(
        key=["analytics", "replenishment_suggestions"],
        deps=[dg.AssetKey(["analytics", "inventory_health"]), dg.AssetKey(["analytics", "fct_incoming_deliveries"])],
        group_name="analytics",
        owners=owners(settings),
        kinds={"python", "pandas", "parquet"},
        automation_condition=REFRESH_WHEN_UPSTREAM_CHANGES,
        description=(__doc__ or "").strip()
        + f"\n\nWritten as Parquet to `{replenishment_path(settings)}`, read by the view `replenishment_suggestions`"
        " in the DuckDB file (dbt macro python_asset_views: each build of the marts makes it again; the asset's first"
        " run makes it at once, in a copy of the file published as a build is).",
    )
    def replenishment_suggestions(warehouse: DuckDBResource, dbt: DbtCliResource, config: ReplenishmentPolicy):
        with warehouse.get_connection() as con:
            health = con.execute(HEALTH).df()
            purchases = con.execute(PURCHASES).df()
            has_view = con.execute(VIEW_EXISTS).fetchone()[0] > 0
        suggestions = suggest(health, purchases, Policy(**config.model_dump()))
        target = replenishment_path(settings)
        staged = publish.staging_file(target)
        suggestions.to_parquet(staged, index=False)
        publish.publish(staged, target)
        if not has_view:  # an analyst finds it now, not after the next build of the marts
            make_views(settings, dbt)
        ordering = suggestions[suggestions["suggested_units"] > 0]
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(target),
                "dagster/row_count": len(suggestions),
                "sizes_to_order": len(ordering),
                "units_to_order": int(ordering["suggested_units"].sum()),
                "dagster/column_schema": dg.TableSchema(
                    [dg.TableColumn(c, str(t)) for c, t in suggestions.dtypes.items()]
                ),
                "preview": dg.MetadataValue.md(
                    ordering.sort_values("days_until_stockout").head(10).to_markdown(index=False)
                    if len(ordering)
                    else "Nothing to order."
                ),
            }
        )

    return replenishment_suggestions
