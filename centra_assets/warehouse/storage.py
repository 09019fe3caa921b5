"""Where the warehouse lives: a local folder or object storage (``s3://bucket/prefix``), through fsspec.

One place knows the difference. Paths handed around are the warehouse URL joined with ``/`` parts; this
module turns them into filesystem calls, and gives DuckDB a connection that reads the same URLs.

S3 credentials and endpoint come from the standard AWS variables (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_ENDPOINT_URL`` for an S3-compatible store such as MinIO or R2).
Listings are not cached: the sensor must see a partition the moment it is published.
"""

from __future__ import annotations

import functools
import os
import tempfile
import uuid
from pathlib import Path

import duckdb
import fsspec
import pyarrow as pa
import pyarrow.parquet as pq


def is_remote(url: str) -> bool:
    return "://" in str(url) and not str(url).startswith("file://")


def join(root: str, *parts: str) -> str:
    return "/".join([str(root).rstrip("/"), *parts])


def _protocol(url: str) -> str:
    return str(url).split("://", 1)[0] if is_remote(url) else "file"


@functools.cache
def filesystem(protocol: str) -> fsspec.AbstractFileSystem:
    options = {"use_listings_cache": False} if protocol in ("s3", "s3a", "gs", "gcs", "az", "abfs") else {}
    return fsspec.filesystem(protocol, **options)


def _fs_path(url: str) -> tuple[fsspec.AbstractFileSystem, str]:
    if not is_remote(url):
        return filesystem("file"), str(Path(url).absolute())
    return filesystem(_protocol(url)), fsspec.core.strip_protocol(url)


def exists(url: str) -> bool:
    fs, path = _fs_path(url)
    return fs.exists(path)


def glob(url: str) -> list[str]:
    fs, path = _fs_path(url)
    return sorted(fs.glob(path))


def read_table(url: str) -> pa.Table | None:
    """A whole Parquet file, or None if there is none. From object storage in one GET (a partition is read
    whole anyway, and ranged reads of footer and column chunks cost a round trip each)."""
    fs, path = _fs_path(url)
    try:
        source = pa.BufferReader(fs.cat_file(path)) if is_remote(url) else path
        return pq.read_table(source)
    except FileNotFoundError:
        return None


def staging_file(url: str) -> Path:
    """Where to write before publishing to `url`: beside it on a local disk (so the rename is atomic), else in
    the local temp folder."""
    if is_remote(url):
        fd, name = tempfile.mkstemp(prefix="centra-", suffix=".parquet.tmp")
        os.close(fd)
        return Path(name)
    path = Path(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")


def publish(staged: Path, url: str) -> None:
    """Make a fully written file visible at `url`, all at once.

    Local disk: ``os.replace`` (an atomic rename on POSIX). Object storage has no rename, but an object
    appears only when its upload completes (one PUT, or the final "complete" of a multipart upload), and
    replaces the previous version whole; an upload that fails leaves the previous object as it was. So the
    file is written locally first and published by one upload; readers see the old partition or the new one.
    """
    if not is_remote(url):
        os.replace(staged, url)
        return
    fs, path = _fs_path(url)
    try:
        fs.put_file(str(staged), path)
    finally:
        staged.unlink(missing_ok=True)


def connect(url: str = "") -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection that reads the warehouse's URLs (object storage through fsspec)."""
    con = duckdb.connect()
    if url and is_remote(url):
        con.register_filesystem(filesystem(_protocol(url)))
    return con
