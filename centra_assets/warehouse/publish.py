"""Publishing: a file becomes visible whole or not at all, on local disk and on object storage.

A Parquet file is written to a temp file (`staging_file`) and published by an atomic rename or a single upload
(`publish`), several together in one turn of the warehouse (`published_together`); temp files a dead writer left
are removed by the next publish. The DuckDB warehouse dbt builds is published the same way, whole (`building`):
DuckDB allows one read-write process per file, and any other process holding it open (an analyst in `duckdb
-readonly`, a BI tool) makes a writer fail at once, so dbt builds into a private copy that replaces the published
file by an atomic rename. Readers keep the version they opened; the next connection sees the new one.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from centra_assets.shared_state import is_remote

from .files import fs_path, glob
from .turns import TurnLock, taking_turns


def _machine() -> str:
    """Where a process id names one process: this host, and its PID namespace (each container has its own)."""
    host = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()) or "localhost"
    try:
        return f"{host}-{os.stat('/proc/self/ns/pid').st_ino}"
    except OSError:
        return host


# Temp files carry their writer's machine and process id, so a file a dead writer left can be told from one a
# live writer is still filling: `.data.parquet.<uuid>.<machine>.<pid>.tmp` beside the partition on a local
# disk, `centra-<uuid>.<machine>.<pid>.parquet.tmp` in the local temp folder for object storage.
MACHINE = _machine()
STALE_AFTER = 24 * 3600.0  # seconds a temp file can go unwritten before it is taken for a dead writer's


def staging_file(url: str) -> Path:
    """Where to write before publishing to `url`: beside it on a local disk (so the rename is atomic), else in
    the local temp folder."""
    writer = f"{uuid.uuid4().hex}.{MACHINE}.{os.getpid()}"
    if is_remote(url):
        return Path(tempfile.gettempdir()) / f"centra-{writer}.parquet.tmp"
    path = Path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.name}.{writer}.tmp")


_together: ContextVar[list[tuple[Path, str]] | None] = ContextVar("published_together", default=None)


@contextmanager
def published_together(lock: TurnLock | None) -> Iterator[None]:
    """The files published in the block become visible together when it ends, in one turn of `lock`: a dbt build
    reads all of them or none (an order and its lines from the same refresh). The work that writes them runs
    outside the turn; only the renames (or uploads) run in it. If the block fails, none is published. A block
    inside another publishes with the outer one."""
    if _together.get() is not None:
        yield
        return
    staged: list[tuple[Path, str]] = []
    token = _together.set(staged)
    try:
        yield
    except BaseException:
        _discard(staged)
        raise
    finally:
        _together.reset(token)
    try:
        with taking_turns(lock, "a publish"):
            urls = [url for _, url in staged]
            marks = _mark(urls) if len(urls) > 1 else [url + MARK for url in urls]  # one file: its old mark only
            while staged:
                _publish(*staged[0])
                staged.pop(0)
            _unmark(marks)
    finally:
        _discard(staged)


# Each file of a group is marked before the group's first file is published, and the marks are removed after its
# last: on object storage nothing renames several objects at once, so a publish cut off midway (S3 unreachable after
# 3 of 7 uploads) leaves some tables of a day new and others old, and every file of it marked. A file's mark stays
# until the file is published again in a group that completes (the next sync of that day); a refresh that rewrites
# two of the tables clears only theirs. Whatever reads raw data as a whole honours the marks (`interrupted`): the
# dbt build refuses to run and the check `files_are_sound` fails, each naming the files. Cost per group (a data
# type's day): a small PUT per file and one bulk DELETE; nothing for a reader but the listing it makes anyway.
MARK = ".publishing"


def _mark(urls: list[str]) -> list[str]:
    marks = [url + MARK for url in urls]
    body = json.dumps({"published_together": urls}).encode()
    for mark in marks:
        fs, path = fs_path(mark)
        fs.pipe_file(path, body)
    return marks


def _unmark(marks: list[str]) -> None:
    """Remove the marks, and those a publish of the same files that was cut off left (no error where none is)."""
    if not marks:
        return
    if is_remote(marks[0]):
        fs, _ = fs_path(marks[0])
        fs.rm([fs_path(mark)[1] for mark in marks])  # one DeleteObjects request
    else:
        for mark in marks:
            Path(mark).unlink(missing_ok=True)


def marked(url: str) -> bool:
    """Whether the file at `url` was in a publish that was cut off midway (and not published again since)."""
    fs, path = fs_path(url + MARK)
    return fs.exists(path)


def interrupted(pattern: str) -> list[str]:
    """The files matching `pattern` (a glob of raw files) whose publish was cut off midway: their day may mix two
    syncs of their data type until they are published again."""
    scheme = pattern.split("://", 1)[0] + "://" if is_remote(pattern) else ""  # URLs as DuckDB names them too
    return [scheme + f.removesuffix(MARK) for f in glob(pattern + MARK)]


def _discard(staged: list[tuple[Path, str]]) -> None:
    for path, _ in staged:
        path.unlink(missing_ok=True)


def publish(staged: Path, url: str) -> None:
    """Make a fully written file visible at `url`, all at once (inside `published_together`: with the others of
    its block, when the block ends), then remove temp files dead writers left.

    Local disk: the file is flushed to disk (fsync), renamed into place with ``os.replace`` (atomic on POSIX),
    and the rename itself flushed (fsync of the folder): after a crash the partition is the old file or the
    whole new one, never an empty or torn one. Object storage has no rename, but an object appears only when
    its upload completes (one PUT, or the final "complete" of a multipart upload), and replaces the previous
    version whole; an upload that fails leaves the previous object as it was. So the file is written locally
    first and published by one upload; readers see the old partition or the new one.
    """
    group = _together.get()
    if group is not None:
        group.append((staged, url))
        return
    _publish(staged, url)


def _publish(staged: Path, url: str) -> None:
    if not is_remote(url):
        _fsync(staged)
        os.replace(staged, url)
        _fsync(Path(url).parent)
        remove_stale(Path(url).parent, f".{Path(url).name}.*.tmp")
        return
    fs, path = fs_path(url)
    try:
        fs.put_file(str(staged), path)
    finally:
        staged.unlink(missing_ok=True)
    remove_stale(staged.parent, "centra-*.parquet.tmp")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale(folder: Path, pattern: str) -> None:
    """Remove the temp files in `folder` matching `pattern` that no live writer owns.

    A killed run cannot clean up after itself, so the next publish does. A temp file is stale when its writer
    ran on this machine and is gone, or, whoever wrote it (another machine sharing the folder, or a writer of
    an older version that did not sign its files), when it has not been written for STALE_AFTER. A writer still
    running keeps its file: two runs writing the same partition at once never lose each other's.
    """
    now = time.time()
    for candidate in folder.glob(pattern):
        try:
            if now - candidate.stat().st_mtime >= STALE_AFTER or _writer_gone(candidate.name):
                candidate.unlink()
        except FileNotFoundError:  # its writer published or removed it meanwhile
            pass


def _writer_gone(name: str) -> bool:
    """Whether the temp file `name` was written on this machine by a process that no longer runs."""
    parts = name.removesuffix(".tmp").removesuffix(".parquet").rsplit(".", 2)
    if len(parts) != 3 or parts[1] != MACHINE or not parts[2].isdigit() or int(parts[2]) <= 0:
        return False
    try:
        os.kill(int(parts[2]), 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:  # it exists, run by another user
        return False
    return False


@contextmanager
def building(published: Path) -> Iterator[Path]:
    """A copy of the published warehouse to build into (so models a build does not select survive it); it is
    published when the block succeeds and thrown away when it fails, leaving the last good warehouse in place."""
    published.parent.mkdir(parents=True, exist_ok=True)
    state = published.parent / ".state"
    state.mkdir(exist_ok=True)
    with open(state / f"{published.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # builds take turns; released when the file closes, even on a crash
        build = published.with_name(f".{published.name}.building")
        _remove(build)  # a build that crashed before
        if published.exists():
            shutil.copyfile(published, build)
        try:
            yield build
            if Path(f"{build}.wal").exists():
                raise RuntimeError(f"{build} still has a write-ahead log: a connection to it was left open")
            os.replace(build, published)
        finally:
            _remove(build)


def _remove(path: Path) -> None:
    for p in (path, Path(f"{path}.wal")):
        p.unlink(missing_ok=True)
