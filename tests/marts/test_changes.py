"""Which raw partitions a marts build is told changed (defs/marts/changes.py): none, so a whole build, after an
upgrade changed the SQL of an incremental model or of a model it reads."""

from __future__ import annotations

import dagster as dg

from centra_assets.defs.marts import changes
from centra_assets.settings import Settings


def _build(instance: dg.DagsterInstance, versions: dict[dg.AssetKey, str | None]) -> None:
    """Record a build of these models, each with this code version, as a run of Dagster's would."""
    assets = [
        dg.asset(key=key, code_version=version)(lambda: None)  # noqa: B023 - the body is the same for every model
        for key, version in versions.items()
    ]
    assert dg.materialize(assets, instance=instance).success


def test_a_build_after_the_sql_of_an_incremental_model_or_what_it_reads_changed_is_whole(tmp_path):
    settings = Settings(warehouse_dir=str(tmp_path), timezone="Europe/Stockholm", start_date="2026-11-01")
    current = changes._incremental_code()
    assert set(changes.incremental_models()) < set(current)  # the models they read count too
    with dg.DagsterInstance.ephemeral() as instance:
        _build(instance, current)
        assert changes.changed_partitions(instance, settings) == {}  # nothing changed: an incremental build

        read = next(key for key in current if key not in changes.incremental_models())
        _build(instance, {read: "the sql before the upgrade"})
        assert changes.changed_partitions(instance, settings) is None

        _build(instance, current)
        assert changes.changed_partitions(instance, settings) == {}


def test_a_build_of_part_of_the_marts_is_told_the_changes_since_its_own_models_were_built(tmp_path):
    """A build selecting some incremental models recomputes by day as soon as those were built, though another was
    never built (the build that selects that one is whole, and is told everything since its last build after)."""
    settings = Settings(warehouse_dir=str(tmp_path), timezone="Europe/Stockholm", start_date="2026-11-01")
    current = changes._incremental_code()
    # (one that no other reads: a build reading a table never built is whole, changes._last_build_began)
    read = set().union(*changes._tables_read().values())
    never = next(m for m in changes.incremental_models() if m not in read)
    built = [m for m in changes.incremental_models() if m != never]
    with dg.DagsterInstance.ephemeral() as instance:
        _build(instance, {key: version for key, version in current.items() if key != never})
        assert changes.changed_partitions(instance, settings, built) == {}
        assert changes.changed_partitions(instance, settings, [never, *built]) is None
        assert changes.changed_partitions(instance, settings) is None


def test_a_change_to_a_macro_an_incremental_model_calls_changes_its_code_version(monkeypatch):
    """int_orders' SQL is mostly macros' (order_lines_measured, centra_delete_changed, ...): an upgrade changing one
    left dagster-dbt's code version (a hash of the model's own SQL) as it was, and the next build recomputed only
    the changed days with the new macro, beside rows the old one wrote. The version recorded on each build, and
    compared before the next (changes._code_changed), hashes the macros the model calls, directly or not."""
    import copy

    from centra_assets.defs.marts import dbt

    manifest = dbt.dbt_manifest()
    node = manifest["nodes"]["model.centra.int_orders"]
    translator = dbt.CentraDbtTranslator()
    before = translator.get_code_version(node)
    assert changes._incremental_code()[dg.AssetKey(["analytics", "int_orders"])] == before
    for macro in ("macro.centra.order_lines_measured", "macro.centra.centra_staged"):  # called, and called by a call
        edited = copy.deepcopy(manifest)
        edited["macros"][macro]["macro_sql"] += "\n{# an upgrade #}"
        monkeypatch.setattr(dbt, "dbt_manifest", lambda edited=edited: edited)
        assert translator.get_code_version(node) != before, macro


def test_an_upgrade_changing_only_a_staging_views_sql_makes_the_build_whole(tmp_path):
    """The models compared are named as Dagster records them (analytics/stg_orders, not dbt's stg_centra__orders):
    an upgrade changing a staging view's own SQL alone went unseen, and the next build kept the rows the old view
    gave the incremental models."""
    from centra_assets.defs.marts import dbt

    settings = Settings(warehouse_dir=str(tmp_path), timezone="Europe/Stockholm", start_date="2026-11-01")
    translator = dbt.CentraDbtTranslator()
    models = [n for n in dbt.dbt_manifest()["nodes"].values() if n["resource_type"] == "model"]
    with dg.DagsterInstance.ephemeral() as instance:
        _build(instance, {translator.get_asset_key(n): translator.get_code_version(n) for n in models})
        assert changes.changed_partitions(instance, settings) == {}

        _build(instance, {dg.AssetKey(["analytics", "stg_orders"]): "the staging view's sql before the upgrade"})
        assert changes.changed_partitions(instance, settings) is None


def test_a_stale_table_a_build_left_out_moves_since_back_and_only_a_stale_one(tmp_path):
    """A build that leaves out a table its incremental models read (int_returns, for a build of what reads the orders)
    recomputes their days from that table's rows. While the table's raw data is newer than its last build, every build
    is told the changes since that build, so the one rebuilding it recomputes them again; a table up to date with its
    raw data moves nothing back (the builds of a stream of order refreshes stay small)."""
    settings = Settings(warehouse_dir=str(tmp_path), timezone="Europe/Stockholm", start_date="2026-11-01")
    store = settings.stores[0].name
    int_returns = dg.AssetKey(["analytics", "int_returns"])
    current = changes._incremental_code()

    def landed(table: str, day: str) -> None:
        instance.report_runless_asset_event(dg.AssetMaterialization(["centra", table], partition=day))

    with dg.DagsterInstance.ephemeral() as instance:
        _build(instance, current)
        landed("orders", "2026-11-05")
        _build(instance, {key: version for key, version in current.items() if key != int_returns})
        assert changes.changed_partitions(instance, settings) == {}  # int_returns is up to date: nothing back

        landed("returns", "2026-11-06")
        _build(instance, {key: version for key, version in current.items() if key != int_returns})
        # int_returns is stale: every build is told the changes since its last build, the orders' day too
        assert changes.changed_partitions(instance, settings) == {
            store: {"orders": ["2026-11-05"], "returns": ["2026-11-06"]}
        }
        _build(instance, current)
        assert changes.changed_partitions(instance, settings) == {}
