"""A raw file no run wrote (truncated, or another table's dropped in the wrong folder) is named by the check
`files_are_sound`; the sensors' record location skips it and carries on for every other day; a sync of its day
replaces it. (Which files are sound: warehouse/parquet.py `table_files`.)"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg

from centra_assets.centra.client import CentraClient
from centra_assets.defs import build_definitions
from centra_assets.defs.raw.sync import sync_partition
from centra_assets.defs.realtime.locate import locate
from centra_assets.entities.sales import ORDERS
from centra_assets.warehouse import layout

from ..helpers import TZ, settings_for, sim_day, truth

TOKEN = "test-token-full"
AUDIT = {"_store": "test", "_source": "simulator"}


def file_checks(job: dg.JobDefinition) -> dict[str, dg.AssetCheckEvaluation]:
    """The check job as the daily schedule runs it: table -> its evaluation."""
    result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral())
    return {e.asset_key.path[-1]: e for e in result.get_asset_check_evaluations()}


def test_an_unsound_file_is_named_skipped_by_the_sensors_and_repaired_by_a_sync(centra, tmp_path, caplog):
    days = [sim_day(centra, n) for n in (4, 3, 2)]
    settings = settings_for(tmp_path, start=days[0])
    root = layout.store_root(settings.warehouse_dir, settings.stores[0])
    job = build_definitions(settings).resolve_job_def("centra_file_checks")
    client = CentraClient(centra.graphql_url, TOKEN, schema_cache_dir=str(tmp_path / "schema"))

    def sync(day: str) -> None:
        sync_partition(client, ORDERS, root, dt.date.fromisoformat(day), ZoneInfo(TZ), AUDIT)

    for day in days:
        sync(day)
    truly = {day: {o["number"] for o in truth(centra, "orders", day)} for day in days}
    everyone = set().union(*truly.values())
    assert all(truly.values())

    truncated = Path(layout.partition_path(root, "orders", days[1]))
    truncated.write_bytes(truncated.read_bytes()[: truncated.stat().st_size // 2])
    foreign = Path(layout.partition_path(root, "orders", days[2]))  # the first day's lines, in the last day's orders
    shutil.copyfile(layout.partition_path(root, "order_lines", days[0]), foreign)

    check = file_checks(job)["orders"]
    assert not check.passed and check.metadata["files_checked"].value == 3
    bad = check.metadata["bad_files"].data
    assert set(bad) == {str(truncated), str(foreign)}
    assert bad[str(truncated)].startswith("unreadable: ") and "not this table's" in bad[str(foreign)]
    assert str(truncated) in check.description and str(foreign) in check.description
    assert file_checks(job)["order_lines"].passed

    # the sensors' record location: the sound day from the warehouse, the others from Centra, each on its true day
    with caplog.at_level(logging.WARNING):
        assert locate(ORDERS, everyone, root, ZoneInfo(TZ), None) == {days[0]: truly[days[0]]}
        assert locate(ORDERS, everyone, root, ZoneInfo(TZ), client) == truly
    named = [r.getMessage() for r in caplog.records if "Skipped" in r.getMessage()]  # each once, not every tick
    assert len(named) == 2 and any(str(truncated) in m for m in named) and any(str(foreign) in m for m in named)

    for day in days[1:]:
        sync(day)
    assert all(file_checks(job)[t.name].passed for t in ORDERS.tables)
    assert locate(ORDERS, everyone, root, ZoneInfo(TZ), None) == truly
    client.close()
