"""What the sync does without each UNCONFIRMED name is what `centra-assets queries --evidence` says it does (derived
from the specs by evidence.without, not written per name): on a simulated store lacking every such name, each stated
effect holds. A column is written empty, a list's table is written empty, another name is read instead, or the data
type cannot be synced (its run fails naming what the store lacks) while the other data types sync."""

from __future__ import annotations

from collections import defaultdict

import dagster as dg
import pytest

from centra_assets.defs.raw.partitions import snapshot_key
from centra_assets.entities import ALL
from centra_assets.entities.evidence import FIELDS, UNCONFIRMED, evidence_of, without
from centra_sim.api.schema import default_schema

from ..helpers import assets_of, new_instance, pinned_clock, resource_for, rows, settings_for, sim_day

pytestmark = pytest.mark.slow

UNCONFIRMED_NAMES = sorted(name for name in FIELDS if evidence_of(name) == UNCONFIRMED)
SPEC_OF_TABLE = {table.name: spec.name for spec in ALL for table in spec.tables}


def stores_lacking(names: list[str]) -> list[list[str]]:
    """The names split between as few stores as a schema allows: a type keeps at least one field, so where one store
    would lack every field of a type (Supplier, PurchaseOrderLine), a second store lacks one of them."""
    first, second = list(names), []
    by_type = defaultdict(list)
    for name in names:
        by_type[name.split(".")[0]].append(name)
    for type_name, lacked in by_type.items():
        fields = default_schema().type_map[type_name].fields
        if set(fields) <= {name.split(".")[1] for name in lacked}:
            first.remove(lacked[0])
            second.append(lacked[0])
    return [first, second]


@pytest.mark.parametrize("lacking", stores_lacking(UNCONFIRMED_NAMES), ids=["most", "the-rest"])
def test_the_sync_does_without_each_unconfirmed_name_what_the_evidence_says(lacking, make_centra, tmp_path):
    effects = without(ALL)
    unsyncable = {e.removesuffix(" cannot be synced") for n in lacking for e in effects[n] if "cannot be" in e}
    touched = unsyncable | {
        SPEC_OF_TABLE[e.removeprefix("table ").split(".")[0].split(" ")[0]]
        for n in lacking
        for e in effects[n]
        if "cannot be" not in e
    }
    tables = {t for t, spec in SPEC_OF_TABLE.items() if spec in touched}  # the data types the names touch
    centra = make_centra(seed=11, days=8, orders_per_day=6, schema_variant={"hide": lacking})
    with pinned_clock(centra.sim.clock.now()):
        settings = settings_for(tmp_path, start=sim_day(centra, 2))
        resource = resource_for(centra, settings)
        event, snapshot = (
            [a for a in assets_of(settings, partition) if {k.path[-1] for k in a.keys} & tables]
            for partition in ("event", "snapshot")
        )
        first, last = sim_day(centra, 2), sim_day(centra, 0)
        runs = [  # a failing data type leaves the others running
            dg.materialize(
                event,
                resources={"centra": resource},
                instance=new_instance(),
                tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last},
                raise_on_error=False,
            ),
            dg.materialize(
                snapshot,
                resources={"centra": resource},
                instance=new_instance(),
                partition_key=snapshot_key(settings, settings.stores[0]),
                raise_on_error=False,
            ),
        ]
    synced, alternatives, failures = set(), {}, []
    for run in runs:
        for event in run.get_asset_materialization_events():
            synced.add(event.materialization.asset_key.path[-1])
            alternatives.update(event.materialization.metadata["alternative_fields"].value)
        failures += [event.event_specific_data.error.to_string() for event in run.get_step_failure_events()]

    for spec in unsyncable:  # its run fails, saying why; nothing of it is written
        assert any(f"{spec} cannot be synced from this store" in failure for failure in failures), spec
    assert synced == {t for t in tables if SPEC_OF_TABLE[t] not in unsyncable}  # the other data types sync
    checked = 0
    for name in lacking:
        for effect in effects[name]:
            table = effect.removeprefix("table ").split(".")[0].split(" ")[0]
            if "cannot be synced" in effect or SPEC_OF_TABLE.get(table) in unsyncable:
                continue
            if effect.startswith("table "):  # the list is left out: the table is written without rows
                assert rows(settings, table, None, "count(*)") == [(0,)], (name, effect)
            elif " read from `" in effect:  # another name is read instead where the store has it, else empty
                column, alternative = effect.removesuffix(" (else empty)").split(" read from ")
                if column in alternatives:
                    assert alternatives[column] == alternative.strip("`"), (name, effect)
                else:
                    assert effect.endswith(" (else empty)"), (name, effect)
                    assert rows(settings, table, None, f"count({column.split('.')[1]})") == [(0,)], (name, effect)
            else:  # the column is written empty, on every row
                column = effect.removesuffix(" empty").split(".")[1]
                assert rows(settings, table, None, f"count({column})") == [(0,)], (name, effect)
                checked += bool(rows(settings, table, None, "count(*)")[0][0])
    assert checked > 0  # columns emptied on tables with rows
