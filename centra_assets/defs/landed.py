"""Has a store's data landed? The one automation condition Dagster has no building block for.

Dagster maps a partitioned raw table onto an unpartitioned dbt model through all of its partitions, so
`all_deps_match(~missing())` reads "any partition landed": with several stores, any store's. A store's data has
landed when at least one of its partitions of the table has (a day of event data; its snapshot), whatever the
other stores have: that grouping of partitions by store is what this condition adds.
"""

import dagster as dg

from .partitions import STORE


def _store(partitions_def: dg.PartitionsDefinition | None, partition_key: str) -> str | None:
    """The store of a raw partition: its store dimension (day × store), the key itself (a snapshot, by store), or
    None (one store: daily partitions, or none)."""
    if isinstance(partitions_def, dg.MultiPartitionsDefinition):
        return partitions_def.get_partition_key_from_str(partition_key).keys_by_dimension[STORE]
    return partition_key if isinstance(partitions_def, dg.StaticPartitionsDefinition) else None


class StoreNotLanded(dg.AutomationCondition):
    """True for each partition of an asset whose store has no partition of that asset materialized yet; for an
    unpartitioned asset, `missing()`. Through `any_deps_match`, true when some store has not landed some input."""

    @property
    def name(self) -> str:
        return "store_not_landed"

    @property
    def requires_cursor(self) -> bool:
        return False

    async def evaluate(self, context: dg.AutomationContext) -> dg.AutomationResult:
        view, candidates = context.asset_graph_view, context.candidate_subset
        everything = view.get_full_subset(key=context.key)
        missing = await view.compute_missing_subset(key=context.key, from_subset=everything)
        if not candidates.is_partitioned or missing.is_empty:
            return dg.AutomationResult(context, candidates.compute_intersection(missing))
        partitions_def = context.partitions_def
        landed = {
            _store(partitions_def, k)
            for k in everything.compute_difference(missing).expensively_compute_partition_keys()
        }
        waiting = {
            k for k in candidates.expensively_compute_partition_keys() if _store(partitions_def, k) not in landed
        }
        return dg.AutomationResult(context, view.get_subset_from_partition_keys(context.key, partitions_def, waiting))
