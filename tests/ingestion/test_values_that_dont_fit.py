"""Raw data that stays true: a value that does not fit its column is refused, never changed; a date without an
offset is the store's; a 200 answer hiding an internal error is retried; a killed writer leaves nothing behind
and a published partition is on disk."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from centra_assets.centra.client import CentraClient
from centra_assets.defs.raw.sync import refresh_records, sync_partition
from centra_assets.entities.sales import ORDERS
from centra_assets.entities.spec import TIMESTAMP, Table, col, event, f64, i64, to_utc, ts
from centra_assets.shared_state import is_remote
from centra_assets.warehouse import publish
from centra_assets.warehouse.layout import partition_path
from centra_assets.warehouse.parquet import PartitionWriter, SchemaDriftError, read_partition, to_arrow

from .helpers import TZ, sim_day, truth

STORE_TZ = ZoneInfo(TZ)
TOKEN = "test-token-full"
AUDIT = {"_store": "test", "_source": "simulator"}
INT, FLOAT, TEXT, BOOL = pa.int64(), pa.float64(), pa.string(), pa.bool_()


# ---------------------------------------------------------------- values that don't fit


@pytest.mark.parametrize(
    "type_, value, stored",
    [
        (INT, 3, 3),
        (INT, 3.0, 3),  # JSON does not tell 3.0 from 3: a whole float is the integer, nothing is lost
        (FLOAT, 100, 100.0),  # a whole price may arrive as an integer
        (FLOAT, 2.5, 2.5),
        (TEXT, "SOME_FUTURE_STATUS", "SOME_FUTURE_STATUS"),  # an unknown enum value stays text
        (BOOL, False, False),
        (INT, None, None),
    ],
)
def test_a_value_that_fits_is_stored_as_it_is(type_, value, stored):
    schema = pa.schema([("order_number", INT), ("v", type_)])
    table = to_arrow([{"order_number": 1, "v": value}], schema, "orders", ("order_number",))
    assert table.column("v").to_pylist() == [stored]


@pytest.mark.parametrize(
    "type_, value",
    [
        (INT, 2.7),  # was stored as 2
        (INT, float("nan")),
        (INT, True),
        (INT, "5"),
        (INT, 2**63),
        (FLOAT, True),  # was stored as 1.0
        (FLOAT, "2.5"),
        (FLOAT, 2**53 + 1),  # no double holds it exactly
        (TEXT, 5),
        (TEXT, False),
        (BOOL, 1),
        (BOOL, "true"),
        (TIMESTAMP, ""),  # a date flatten could not read arrives as Centra sent it
    ],
)
def test_a_value_that_does_not_fit_is_refused_naming_table_column_value_and_record(type_, value):
    schema = pa.schema([("order_number", INT), ("line", INT), ("v", type_)])
    rows = [{"order_number": 1041, "line": 1, "v": None}, {"order_number": 1042, "line": 2, "v": value}]
    with pytest.raises(SchemaDriftError) as refused:
        to_arrow(rows, schema, "order_lines", ("order_number", "line"))
    message = str(refused.value)
    assert f"Centra returned {value!r} for order_lines.v, which is declared {type_}" in message
    assert "in the record order_number=1042, line=2; it was refused, not converted" in message


@pytest.fixture(scope="module")
def schema_cache(tmp_path_factory) -> str:
    """One introspection of the shared simulator for the whole module."""
    return str(tmp_path_factory.mktemp("schema"))


def probe(*columns) -> Table:
    """Orders read into columns of our own: what a spec that mistook a Centra field's type would write."""
    table = Table("orders_probe", key=("order_number",), columns=(i64("order_number", "number"), *columns))
    return event(
        name="orders_probe",
        group="sales",
        description="a probe",
        root="orders",
        filter_type="OrderFilter",
        sort="number_ASC",
        refresh_field="number",
        tables=(table,),
    )


def sync(centra, spec, root: Path, day: str, schema_cache: str, **client_options):
    client = CentraClient(centra.graphql_url, TOKEN, schema_cache_dir=schema_cache, **client_options)
    try:
        return sync_partition(client, spec, str(root), dt.date.fromisoformat(day), STORE_TZ, AUDIT)
    finally:
        client.close()


@pytest.mark.parametrize(
    "column, first_misfit",
    [
        (i64("units", "grandTotal.value"), lambda o: not float(o["grand_total"]).is_integer()),  # 498.25 units
        (f64("on_hold", "isOnHold"), lambda o: True),  # a Boolean read as a number
        (col("reference", "number"), lambda o: True),  # a number read as text
        (ts("placed_at", 'orderDate(format: "\\\\")'), lambda o: True),  # a date Centra renders as ""
    ],
    ids=["fraction-as-integer", "boolean-as-float", "number-as-text", "empty-date"],
)
def test_a_sync_refuses_a_value_that_does_not_fit_and_publishes_nothing(
    centra, tmp_path, schema_cache, column, first_misfit
):
    day = sim_day(centra, 1)
    with pytest.raises(SchemaDriftError) as refused:
        sync(centra, probe(column), tmp_path, day, schema_cache)
    order = next(o for o in truth(centra, "orders", day) if first_misfit(o))
    assert f"for orders_probe.{column.name}, which is declared {column.type}" in str(refused.value)
    assert f"in the record order_number={order['number']};" in str(refused.value)
    assert not list(tmp_path.rglob("*parquet*"))  # neither a partition nor a temp file


# ---------------------------------------------------------------- dates without an offset


def test_a_date_without_an_offset_is_read_in_the_store_timezone(centra, tmp_path, schema_cache):
    day = sim_day(centra, 1)  # November: Stockholm is UTC+1, read as UTC every order would be an hour late
    spec = probe(ts("placed_at", 'orderDate(format: "Y-m-d H:i:s")'))  # Centra renders it without an offset
    expected = [
        {"order_number": o["number"], "placed_at": dt.datetime.fromisoformat(o["created_at"])}
        for o in truth(centra, "orders", day)
    ]

    def stored():
        return read_partition(str(tmp_path), "orders_probe", day).select(["order_number", "placed_at"]).to_pylist()

    sync(centra, spec, tmp_path, day, schema_cache)
    assert stored() == expected and expected
    client = CentraClient(centra.graphql_url, TOKEN, schema_cache_dir=schema_cache)
    keys = [o["order_number"] for o in expected[::10]]
    refresh_records(client, spec, str(tmp_path), [dt.date.fromisoformat(day)], keys, STORE_TZ, AUDIT)  # a refresh too
    client.close()
    assert stored() == expected


def test_a_local_time_the_clock_repeats_or_skips_is_read_by_one_rule():
    # 2026-10-25 the clock goes 03:00 CEST -> 02:00 CET: 02:30 happens twice; the first (summer time) is taken
    assert to_utc("2026-10-25 02:30:00", STORE_TZ) == dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)
    # 2026-03-29 the clock goes 02:00 CET -> 03:00 CEST: 02:30 never happens; read with the offset before it
    assert to_utc("2026-03-29 02:30:00", STORE_TZ) == dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC)
    assert to_utc("2026-03-29T02:30:00+01:00", STORE_TZ) == dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC)
    assert to_utc("2026-11-17 10:00:00") == dt.datetime(2026, 11, 17, 10, tzinfo=dt.UTC)  # no timezone given


# ---------------------------------------------------------------- a 200 hiding an internal error


def test_an_internal_error_beside_partial_data_is_retried_and_changes_nothing(make_centra, tmp_path, schema_cache):
    centra = make_centra(orders_per_day=120)
    day = sim_day(centra, 1)
    sync(centra, ORDERS, tmp_path / "calm", day, schema_cache)
    centra.admin("faults", {"internal_error_rate": 0.3})
    sync(centra, ORDERS, tmp_path / "faulty", day, schema_cache, max_attempts=12, backoff_base=0.01)
    assert centra.admin("info")["faults_fired"]["internal_error_rate"] >= 1
    for t in ORDERS.tables:
        calm, faulty = (read_partition(str(tmp_path / r), t.name, day).drop(["_loaded_at"]) for r in ("calm", "faulty"))
        assert faulty.equals(calm) and calm.num_rows


# ---------------------------------------------------------------- killed writers, partitions on disk

DAY = "2026-11-17"
SCHEMA = pa.schema([("n", pa.int64())])
KILLED_WRITER = f"""
import sys, time
import pyarrow as pa
from centra_assets.warehouse.parquet import PartitionWriter
schema = pa.schema([("n", pa.int64())])
writer = PartitionWriter(sys.argv[1], "orders", "{DAY}", schema, ("n",))
writer.write_arrow(pa.table({{"n": list(range(10_000))}}, schema=schema))
print(writer._tmp, flush=True)
time.sleep(600)
"""


def write_partition(root: str, numbers: list[int]) -> None:
    writer = PartitionWriter(root, "orders", DAY, SCHEMA, ("n",))
    writer.write([{"n": n} for n in numbers])
    writer.commit()


def temp_files(root: str, folder: Path) -> set[Path]:
    pattern = ".data.parquet.*.tmp" if not is_remote(root) else "centra-*.parquet.tmp"
    return set(folder.glob(pattern))


@pytest.mark.parametrize("where", ["local disk", "object storage"])
def test_a_killed_writer_leaves_no_temp_file_behind_and_a_live_one_keeps_its_own(tmp_path, monkeypatch, where):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))  # object storage stages files here
    (tmp_path / "tmp").mkdir()
    root = str(tmp_path / "warehouse") if where == "local disk" else f"memory://{uuid.uuid4().hex}"
    folder = Path(partition_path(root, "orders", DAY)).parent if where == "local disk" else tmp_path / "tmp"
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, root],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(tmp_path / "tmp")},
    )
    try:
        killed = Path(writer.stdout.readline().strip())
        assert killed.exists()
    finally:
        os.kill(writer.pid, signal.SIGKILL)  # mid-write: its temp file holds a row group and no footer
        writer.wait()
    old = folder / (".data.parquet.0123abcd.tmp" if where == "local disk" else "centra-0123abcd.parquet.tmp")
    old.write_bytes(b"left by a version that did not sign its temp files")
    os.utime(old, (time.time() - 2 * publish.STALE_AFTER,) * 2)
    elsewhere = folder / killed.name.replace(publish.MACHINE, "another-machine")
    elsewhere.write_bytes(b"a writer on another machine, still at work")
    live = PartitionWriter(root, "orders", DAY, SCHEMA, ("n",))  # a concurrent writer of the same partition

    write_partition(root, [1, 2, 3])

    assert temp_files(root, folder) == {live._tmp, elsewhere}
    live.write([{"n": 4}])
    live.commit()  # its temp file was left alone
    assert read_partition(root, "orders", DAY).column("n").to_pylist() == [4]
    assert temp_files(root, folder) == {elsewhere}


def test_a_partition_is_flushed_to_disk_before_it_is_published_and_the_rename_after(tmp_path, monkeypatch):
    calls = []
    fsync, replace = os.fsync, os.replace

    def spy_fsync(fd):
        calls.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        fsync(fd)

    def spy_replace(src, dst):
        calls.append(("replace", str(src), str(dst)))
        replace(src, dst)

    monkeypatch.setattr(os, "fsync", spy_fsync)
    monkeypatch.setattr(os, "replace", spy_replace)
    writer = PartitionWriter(str(tmp_path), "orders", DAY, SCHEMA, ("n",))
    writer.write([{"n": 1}])
    published = writer.commit()
    assert [c for c in calls if str(tmp_path) in c[1]] == [
        ("fsync", str(writer._tmp)),
        ("replace", str(writer._tmp), published),
        ("fsync", str(Path(published).parent)),
    ]
    assert pq.read_table(published).column("n").to_pylist() == [1]
