"""A publish cut off between two tables' uploads (object storage has no rename of several objects at once) leaves
a day whose tables mix two syncs: its marks (warehouse/publish.py `interrupted`) name every file of it, no build or
check reads it as whole, and the next sync of that day repairs it. Against moto's S3 server, with the connection
cut after the third upload."""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from botocore.exceptions import ConnectionClosedError

from centra_assets.centra.client import CentraClient
from centra_assets.defs import build_definitions
from centra_assets.defs.marts.dbt import dbt_resource
from centra_assets.defs.raw.sync import sync_partition
from centra_assets.entities.sales import ORDERS
from centra_assets.settings import Settings
from centra_assets.warehouse import files, layout
from centra_assets.warehouse.parquet import read_partition
from centra_assets.warehouse.publish import interrupted

from ..helpers import TZ, sim_day

TOKEN = "test-token-full"
AUDIT = {"_store": "test", "_source": "simulator"}
UPLOADS_BEFORE_THE_CUT = 3


def test_a_publish_cut_off_between_two_uploads_is_never_read_as_whole_and_the_next_sync_repairs_it(
    centra, s3_server, tmp_path, monkeypatch
):
    day = sim_day(centra, 2)
    settings = Settings(
        warehouse_dir=s3_server.url(uuid.uuid4().hex[:12]),
        timezone=TZ,
        start_date=day,
        state_dir=str(tmp_path / "state"),
        duckdb_path=str(tmp_path / "centra.duckdb"),
    )
    root = layout.store_root(settings.warehouse_dir, settings.stores[0])
    client = CentraClient(centra.graphql_url, TOKEN, schema_cache_dir=str(tmp_path / "schema"))
    definitions = build_definitions(settings)
    (dbt_assets,) = [a for a in definitions.assets if getattr(a, "op", None) and a.op.name == "centra_dbt"]
    file_checks = definitions.resolve_job_def("centra_file_checks")
    tables = [t.name for t in ORDERS.tables]
    assert len(tables) > UPLOADS_BEFORE_THE_CUT + 1

    def sync() -> None:
        sync_partition(client, ORDERS, root, dt.date.fromisoformat(day), ZoneInfo(TZ), AUDIT)

    def loaded_at() -> dict[str, dt.datetime]:
        """Each table's sync of the day, by its load time (one per sync, the same in every table)."""
        return {t: read_partition(root, t, day)["_loaded_at"][0].as_py() for t in tables}

    def checks_failed() -> dict[str, str]:
        result = file_checks.execute_in_process(instance=dg.DagsterInstance.ephemeral())
        evaluations = {e.asset_key.path[-1]: e for e in result.get_asset_check_evaluations()}
        return {t: evaluations[t].description for t in tables if not evaluations[t].passed}

    sync()
    first = loaded_at()
    assert len(set(first.values())) == 1 and not interrupted(layout.raw_files(settings.warehouse_dir))

    s3 = files.filesystem("s3")
    put_file, uploads = s3.put_file, []

    def cut_after_three(*args, **kwargs):
        if len(uploads) == UPLOADS_BEFORE_THE_CUT:
            raise ConnectionClosedError(endpoint_url=s3_server.endpoint)
        uploads.append(args[1])
        return put_file(*args, **kwargs)

    monkeypatch.setattr(s3, "put_file", cut_after_three)
    with pytest.raises(ConnectionClosedError):
        sync()
    monkeypatch.undo()
    torn = loaded_at()
    assert sum(torn[t] != first[t] for t in tables) == UPLOADS_BEFORE_THE_CUT  # the day mixes two syncs

    # every file of the day is named, whichever sync it holds
    day_files = {f"{layout.partition_path(root, t, day)}" for t in tables}
    assert set(interrupted(layout.raw_files(settings.warehouse_dir))) == day_files
    failed = checks_failed()
    assert set(failed) == set(tables)
    assert all(layout.partition_path(root, t, day) in failed[t] and "cut off midway" in failed[t] for t in tables)
    built = dg.materialize(
        [dbt_assets],
        resources={"dbt": dbt_resource()},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert not built.success and not built.get_asset_materialization_events()
    (refusal,) = [e.step_failure_data.error.message for e in built.all_events if e.is_step_failure]
    assert "Not built: the publish of" in refusal and all(f in refusal for f in day_files)

    sync()  # the next sync of the day
    repaired = loaded_at()
    assert len(set(repaired.values())) == 1 and repaired[tables[0]] not in (first[tables[0]], torn[tables[0]])
    assert not interrupted(layout.raw_files(settings.warehouse_dir)) and not checks_failed()
    client.close()
