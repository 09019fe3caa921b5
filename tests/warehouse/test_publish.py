"""Nothing half-written is ever visible (warehouse/publish.py, through parquet.py's PartitionWriter): a killed writer
leaves nothing behind, a live one keeps its own temp file, and a published partition is on disk before it is named."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from centra_assets.shared_state import is_remote
from centra_assets.warehouse import publish
from centra_assets.warehouse.layout import partition_path
from centra_assets.warehouse.parquet import PartitionWriter, read_partition

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


def test_a_refresh_publishes_again_a_file_a_cut_off_publish_left_marked_though_nothing_changed(tmp_path, monkeypatch):
    """A refresh that finds nothing new leaves a file as it is, unless a cut-off publish marked it: the retried
    refresh of the same records finds the tables already new that the cut publish had reached, and must publish
    them again with the others to clear the day's marks. (On S3 against moto: tests/warehouse/test_torn_publish.py.)"""
    from centra_assets.warehouse.parquet import replace_records

    root, day = str(tmp_path), "2026-12-01"
    schemas = {t: pa.schema([("order_number", pa.int64()), ("v", pa.int64())]) for t in ("orders", "order_lines")}

    def refresh(v: int) -> None:
        with publish.published_together(None):
            for table, schema in schemas.items():
                rows = [{"order_number": 1, "v": v}]
                replace_records(root, table, day, schema, ("order_number",), "order_number", [1], rows)

    def torn() -> list[str]:
        return publish.interrupted(partition_path(root, "*", "*"))

    refresh(1)
    real, published = publish._publish, []

    def cut_after_one(staged, url):
        if published:
            raise ConnectionError("the connection was cut")
        published.append(url)
        real(staged, url)

    monkeypatch.setattr(publish, "_publish", cut_after_one)
    with pytest.raises(ConnectionError):
        refresh(2)
    monkeypatch.undo()
    assert torn() == sorted(partition_path(root, t, day) for t in schemas)
    refresh(2)  # orders already holds 2: nothing changed in it
    assert torn() == [] and all(read_partition(root, t, day)["v"].to_pylist() == [2] for t in schemas)


def test_a_full_disk_is_named_with_the_file_and_the_previous_partition_stays(tmp_path, monkeypatch):
    """The temp file is a link to /dev/full, where the kernel answers every write "No space left on device"."""
    from centra_assets.warehouse.parquet import DiskFullError

    root = str(tmp_path / "warehouse")
    write_partition(root, [1, 2])
    full = tmp_path / "full.parquet.tmp"
    full.symlink_to("/dev/full")
    monkeypatch.setattr(publish, "staging_file", lambda url: full)
    with pytest.raises(DiskFullError) as refused:
        write_partition(root, [1, 2, 3])
    assert f"The disk is full: no space left to write {full} (the next version of " in str(refused.value)
    assert partition_path(root, "orders", DAY) in str(refused.value) and "CENTRA_WAREHOUSE_DIR" in str(refused.value)
    assert read_partition(root, "orders", DAY)["n"].to_pylist() == [1, 2]
