"""File access to the warehouse, a local folder or object storage (``s3://bucket/prefix``), through fsspec.

One place knows the difference. Paths handed around are the warehouse URL joined with ``/`` parts; this
module turns them into filesystem calls, and gives DuckDB a connection that reads the same URLs.

S3 credentials and endpoint come from the standard AWS variables (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_ENDPOINT_URL`` for an S3-compatible store such as MinIO or R2).
Listings are not cached: the sensor must see a partition the moment it is published.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import duckdb
import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from centra_assets.shared_state import is_remote


def join(root: str, *parts: str) -> str:
    return "/".join([str(root).rstrip("/"), *parts])


def _protocol(url: str) -> str:
    return str(url).split("://", 1)[0] if is_remote(url) else "file"


@functools.cache
def filesystem(protocol: str) -> fsspec.AbstractFileSystem:
    options = {"use_listings_cache": False} if protocol in ("s3", "s3a", "gs", "gcs", "az", "abfs") else {}
    return fsspec.filesystem(protocol, **options)


def fs_path(url: str) -> tuple[fsspec.AbstractFileSystem, str]:
    """The filesystem that holds `url`, and the path of `url` on it."""
    if not is_remote(url):
        return filesystem("file"), str(Path(url).absolute())
    return filesystem(_protocol(url)), fsspec.core.strip_protocol(url)


def exists(url: str) -> bool:
    fs, path = fs_path(url)
    return fs.exists(path)


def glob(url: str) -> list[str]:
    """The files matching `url`'s pattern (`*` stays within one folder). Object storage lists everything under the
    pattern's fixed prefix at once (a request per 1,000 objects), where fsspec's glob would list folder by folder
    (a request per partition)."""
    fs, path = fs_path(url)
    wildcard = re.search(r"[*?\[]", path)
    if not is_remote(url) or wildcard is None:
        return sorted(fs.glob(path))
    pattern = re.compile(fsspec.utils.glob_translate(path))
    return sorted(p for p in fs.find(path[: wildcard.start()].rsplit("/", 1)[0]) if pattern.match(p))


# s3fs asks for an object's size (a HEAD) before every whole read, to split a large one into concurrent ranged
# GETs; one stream (max_concurrency 1) reads it in the one GET alone: half the round trips of a partition read.
_ONE_GET = {"s3": {"max_concurrency": 1}, "s3a": {"max_concurrency": 1}}


def read_table(url: str) -> pa.Table | None:
    """A whole Parquet file, or None if there is none. From object storage in one GET (a partition is read
    whole anyway, and ranged reads of footer and column chunks cost a round trip each)."""
    fs, path = fs_path(url)
    try:
        source = pa.BufferReader(fs.cat_file(path, **_ONE_GET.get(_protocol(url), {}))) if is_remote(url) else path
        return pq.read_table(source)
    except FileNotFoundError:
        return None


def read_schema(url: str) -> pa.Schema | None:
    """A Parquet file's schema from its footer alone, or None if there is no file."""
    fs, path = fs_path(url)
    try:
        with fs.open(path, "rb") as f:
            return pq.read_schema(f)
    except FileNotFoundError:
        return None


def connect(url: str = "") -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection that reads the warehouse's URLs (object storage through fsspec).

    On object storage the connection has a filesystem of its own that keeps the listings it made while the
    connection lives: DuckDB asks for each file's size and time several times, each a HEAD without them, and the
    listing its glob made already holds both. A new connection lists afresh (it sees what was published since)."""
    con = duckdb.connect()
    if url and is_remote(url):
        con.register_filesystem(fsspec.filesystem(_protocol(url), skip_instance_cache=True))
    return con
