"""Where the warehouse lives: a local folder or object storage (``s3://bucket/prefix``), through fsspec.

One place knows the difference. Paths handed around are the warehouse URL joined with ``/`` parts; this
module turns them into filesystem calls, and gives DuckDB a connection that reads the same URLs.

S3 credentials and endpoint come from the standard AWS variables (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_ENDPOINT_URL`` for an S3-compatible store such as MinIO or R2).
Listings are not cached: the sensor must see a partition the moment it is published.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import logging
import os
import re
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import duckdb
import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from centra_assets.settings import Settings

log = logging.getLogger("centra_assets.warehouse")


def redacted(url: str) -> str:
    """A database URL without its password, for logs and messages (centra/pacing.py keeps its own: `centra/`
    imports nothing of the project)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)).geturl()


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
    """The files matching `url`'s pattern (`*` stays within one folder). Object storage lists everything under the
    pattern's fixed prefix at once (a request per 1,000 objects), where fsspec's glob would list folder by folder
    (a request per partition)."""
    fs, path = _fs_path(url)
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
    fs, path = _fs_path(url)
    try:
        source = pa.BufferReader(fs.cat_file(path, **_ONE_GET.get(_protocol(url), {}))) if is_remote(url) else path
        return pq.read_table(source)
    except FileNotFoundError:
        return None


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


# The warehouse's turn: a dbt build and the publishes of raw data take turns (see `taking_turns`). Where turns are
# kept is chosen once, here, from the settings: every process of a deployment must ask the same keeper.
WAIT_NOTICE_AFTER = 5.0  # seconds waited for the turn before saying so (and who holds it)


class FileTurn:
    """Turns through an exclusive `flock` on a file in the local state folder: every run on one machine, or in
    containers sharing that folder (deploy/docker), takes turns through it. Released when the file closes, also
    when the process dies. The holder writes who it is into the file, for those who wait."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"FileTurn({self.path})"

    @contextmanager
    def held(self, who: str) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+") as file:
            try:
                fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                file.seek(0)
                with _announced_wait(file.read().strip()):
                    fcntl.flock(file, fcntl.LOCK_EX)
            file.truncate(0)
            file.write(_signature(who))
            file.flush()
            yield


class TurnUnavailable(RuntimeError):
    """The shared PostgreSQL that keeps the warehouse's turns cannot be reached, or the turn was lost while held
    (the message names the server, never its password)."""


class PostgresTurn:
    """Turns through a PostgreSQL session advisory lock, for runs that share no disk (deploy/k8s: each pod its own)
    but share the PostgreSQL of the rate budget (CENTRA_RATE_BUDGET_URL). The lock's key is derived from the
    warehouse's URL; it is held on a connection of its own for the turn, released when the turn ends, and by
    PostgreSQL when the holder's connection ends (its process killed; its machine gone: server-side TCP
    keepalives notice within about a minute). A waiter queues in PostgreSQL, first come first served."""

    def __init__(self, url: str, warehouse_url: str):
        self.url = url
        digest = hashlib.sha256(f"centra-assets turn {warehouse_url}".encode()).digest()
        self.key = int.from_bytes(digest[:8], "big") >> 1  # a non-negative bigint: pg_locks shows it as two oids

    def __repr__(self) -> str:
        return f"PostgreSQL {redacted(self.url)}, advisory lock {self.key}"

    @contextmanager
    def held(self, who: str) -> Iterator[None]:
        import psycopg

        try:
            con = psycopg.connect(self.url, autocommit=True, connect_timeout=10, application_name=_signature(who)[:63])
        except psycopg.Error as exc:
            raise self._unavailable("cannot be reached", exc) from None
        with con:
            try:
                # a turn can last a whole build: no server default may end the wait, or the session while it holds
                for setting, since in _TURN_SESSION:
                    if con.info.server_version >= since:
                        con.execute(setting)
                if not con.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()[0]:
                    with _announced_wait(self._holder(con)):
                        con.execute("SELECT pg_advisory_lock(%s)", (self.key,))
            except psycopg.Error as exc:
                raise self._unavailable("failed while waiting for the turn", exc) from None
            yield
            try:
                released = con.execute("SELECT pg_advisory_unlock(%s)", (self.key,)).fetchone()[0]
            except psycopg.Error as exc:
                raise self._unavailable("lost the turn while holding it", exc) from None
            if not released:
                raise TurnUnavailable(f"The warehouse's turn ({self!r}) was lost while held")

    def _holder(self, con) -> str:
        """Who holds the turn, as it named itself (its connection's application_name)."""
        row = con.execute(
            """SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
               WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                 AND l.classid::bigint = %s AND l.objid::bigint = %s""",
            (self.key >> 32, self.key & 0xFFFFFFFF),
        ).fetchone()
        return row[0] if row and row[0] else ""

    def _unavailable(self, what: str, exc: Exception) -> TurnUnavailable:
        password = urlsplit(self.url).password
        detail = str(exc).replace(password, "***") if password else str(exc)
        return TurnUnavailable(
            f"The warehouse's turns are kept in PostgreSQL (CENTRA_RATE_BUDGET_URL, {redacted(self.url)}), which "
            f"{what}: {detail}"
        )


_TURN_SESSION = (  # (setting, the first PostgreSQL version that has it)
    ("SET statement_timeout = 0", 0),
    ("SET lock_timeout = 0", 0),
    ("SET idle_session_timeout = 0", 140000),
    ("SET tcp_keepalives_idle = 30", 0),
    ("SET tcp_keepalives_interval = 10", 0),
    ("SET tcp_keepalives_count = 3", 0),
)


def _signature(who: str) -> str:
    return f"{who}, pid {os.getpid()} on {socket.gethostname()}"


@contextmanager
def _announced_wait(holder: str) -> Iterator[None]:
    """While the block waits for the turn: after WAIT_NOTICE_AFTER seconds, say so (a sync waiting for a build
    waits about as long as the build)."""
    timer = threading.Timer(
        WAIT_NOTICE_AFTER, log.warning, ("waiting for the warehouse's turn (held by %s)", holder or "another process")
    )
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


TurnLock = FileTurn | PostgresTurn


def turn_lock(settings: Settings) -> TurnLock:
    """Where the warehouse's publishes and dbt builds take turns: PostgreSQL when the deployment shares one (its rate
    budget's, CENTRA_RATE_BUDGET_URL: runs on separate machines), else a file in the local state folder."""
    if settings.rate_budget_url:
        return PostgresTurn(settings.rate_budget_url, settings.warehouse_url)
    return FileTurn(settings.local_state / "raw-data.lock")


@contextmanager
def taking_turns(lock: TurnLock | None, who: str = "a build") -> Iterator[None]:
    """Hold the warehouse's turn (`turn_lock`): while a dbt build holds it, the raw data it reads holds still; while
    a publish holds it, no build starts reading. Released when the block ends, also when the process dies. None: no
    turns (a warehouse no build reads)."""
    if lock is None:
        yield
        return
    with lock.held(who):
        yield


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
            while staged:
                _publish(*staged[0])
                staged.pop(0)
    finally:
        _discard(staged)


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
    fs, path = _fs_path(url)
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


def connect(url: str = "") -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection that reads the warehouse's URLs (object storage through fsspec).

    On object storage the connection has a filesystem of its own that keeps the listings it made while the
    connection lives: DuckDB asks for each file's size and time several times, each a HEAD without them, and the
    listing its glob made already holds both. A new connection lists afresh (it sees what was published since)."""
    con = duckdb.connect()
    if url and is_remote(url):
        con.register_filesystem(fsspec.filesystem(_protocol(url), skip_instance_cache=True))
    return con
