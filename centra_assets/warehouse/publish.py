"""One writer for the DuckDB warehouse, and readers that never get in its way.

DuckDB allows one read-write process per file, and any other process holding the file open (an analyst in
`duckdb -readonly`, a BI tool) makes a writer fail at once. So dbt never opens the published file: it builds
into a private copy, and the copy replaces the published file by an atomic rename. Readers keep the version
they opened; the next connection sees the new one. A lock file makes builds take turns.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


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
