"""Where acknowledged webhook events live until the sensor has handled them.

``EventStore`` is the interface. ``SqliteEventStore`` keeps one store's events in SQLite in WAL mode with
``synchronous=FULL``; ``PostgresEventStore`` keeps them in PostgreSQL (several receivers, a sensor on another
machine). Either way, when ``append`` returns the events survive a killed process and a power cut, so the
receiver may answer 2xx. Under load, deliveries share transactions (group commit). Each delivery's signature
is kept, so a replayed request is recognised and refused, also after a restart.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import orjson

from centra_assets.shared_state import is_postgres_url, redacted

DEFAULT_STORE = "default"


class Replay(ValueError):
    """This exact signed request was stored before."""


@dataclass(frozen=True)
class StoredEvent:
    id: int  # the store's own sequence: the sensor's cursor
    received_at: float
    type: str | None  # Centra's "type": order, shipment, return, customer, account, ...
    action: str | None
    object_id: int | None  # for orders: the order number
    date: str | None
    raw: str  # the event exactly as Centra sent it (JSON)


class EventStore(Protocol):
    path: str  # where the events are, for people (no secrets)

    def append(self, signature: str, signed_at: int, events: list[dict]) -> int: ...
    async def append_async(self, signature: str, signed_at: int, events: list[dict]) -> int: ...
    def read_after(self, cursor: int, limit: int = 1000) -> list[StoredEvent]: ...
    def count(self) -> int: ...
    def close(self) -> None: ...


_INSERT_EVENT = (
    "INSERT INTO event (received_at, type, action, object_id, date, raw, signature) VALUES (?, ?, ?, ?, ?, ?, ?)"
)


class _GroupCommit:
    """Group commit: one transaction at a time runs on a writer thread, and every delivery that arrives while
    it waits for the disk joins the next one, so one fsync serves many requests under load while the event
    loop keeps serving. Each caller gets its answer only after its own transaction committed. Subclasses
    implement `_commit_locked(batch)` -> one result per delivery (its count of events, or an exception)."""

    MAX_BATCH = 500

    def __init__(self, commit_window: float):
        self.commit_window = commit_window
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._pending: list[tuple] = []
        self._draining = False
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="webhook-store-writer")

    def _commit_locked(self, batch: list[tuple]) -> list:
        raise NotImplementedError

    def close(self) -> None:
        self._writer.shutdown()

    def append(self, signature: str, signed_at: int, events: list[dict]) -> int:
        """Store one delivery's events atomically and durably; Replay if this signature was stored before."""
        (result,) = self._commit([(signature, signed_at, _rows(events))])
        if isinstance(result, BaseException):
            raise result
        return result

    async def append_async(self, signature: str, signed_at: int, events: list[dict]) -> int:
        """The same from the event loop, which keeps serving while a commit waits for the disk."""
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        self._pending.append((signature, signed_at, _rows(events), done))
        if not self._draining:
            self._draining = True  # a short window first, so that a burst shares the first transaction
            loop.call_later(self.commit_window, lambda: loop.create_task(self._drain()))
        return await done

    async def _drain(self) -> None:
        """Commit what is pending on the writer thread, then what arrived meanwhile, until nothing is left."""
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                batch, self._pending = self._pending[: self.MAX_BATCH], self._pending[self.MAX_BATCH :]
                try:
                    results = await loop.run_in_executor(self._writer, self._commit, [item[:3] for item in batch])
                except BaseException as exc:  # every waiting caller must hear of it
                    results = [exc] * len(batch)
                for (*_, done), result in zip(batch, results, strict=True):
                    if not done.cancelled():
                        (done.set_exception if isinstance(result, BaseException) else done.set_result)(result)
        finally:
            self._draining = False

    def _commit(self, batch: list[tuple]) -> list:
        """One transaction for the batch: one bulk insert, one fsync. Returns each
        delivery's count of stored events, or the exception it gets."""
        with self._write_lock:
            return self._commit_locked(batch)


class SqliteEventStore(_GroupCommit):
    """One Centra store's events in a SQLite file (WAL, synchronous=FULL)."""

    def __init__(self, path: str | Path, replay_window: float = 600.0, commit_window: float = 0.002):
        super().__init__(commit_window)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path, self.replay_window = str(path), replay_window
        self._write = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self._write.execute("PRAGMA journal_mode=WAL")
        self._write.execute("PRAGMA synchronous=FULL")
        self._write.executescript("""
            CREATE TABLE IF NOT EXISTS event (id INTEGER PRIMARY KEY AUTOINCREMENT, received_at REAL NOT NULL,
                type TEXT, action TEXT, object_id INTEGER, date TEXT, raw TEXT NOT NULL, signature TEXT);
        """)
        if "signature" not in {row[1] for row in self._write.execute("PRAGMA table_info(event)")}:
            self._write.execute("ALTER TABLE event ADD COLUMN signature TEXT")  # a store from before 0.2
        # Replays are recognised in memory (an index of random signatures would cost a page write per request);
        # only signatures young enough to pass the timestamp check matter, read back before the first write (a
        # store opened only to read, as the sensor does, never needs them).
        self._seen: dict[str, float] | None = None
        self._seen_order: deque[tuple[float, str]] = deque()
        self._read = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)

    def _commit_locked(self, batch: list[tuple]) -> list:
        db = self._write
        if self._seen is None:
            self._read_back_signatures(db)
        try:
            db.execute("BEGIN IMMEDIATE")
            results, new_events, fresh = [], [], set()
            for signature, _signed_at, rows in batch:
                if signature in self._seen or signature in fresh:  # (the same request twice in one batch too)
                    results.append(Replay("this signed request was already received"))
                else:
                    fresh.add(signature)
                    new_events.extend((*row, signature) for row in rows)
                    results.append(len(rows))
            db.executemany(_INSERT_EVENT, new_events)
            db.execute("COMMIT")  # one fsync (synchronous=FULL) for the whole batch
            now = time.time()  # remembered only once stored: a delivery that failed may be sent again
            for signature in fresh:
                self._remember(signature, now)
            while self._seen_order and self._seen_order[0][0] < now - self.replay_window:
                self._seen.pop(self._seen_order.popleft()[1], None)
        except BaseException as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            results = [exc] * len(batch)
        return results

    def _read_back_signatures(self, db: sqlite3.Connection) -> None:
        self._seen, cutoff, recent = {}, time.time() - self.replay_window, []
        for signature, received_at in db.execute(
            "SELECT signature, received_at FROM event WHERE signature IS NOT NULL ORDER BY id DESC"
        ):
            if received_at < cutoff:
                break
            recent.append((received_at, signature))
        for received_at, signature in sorted(recent):
            self._remember(signature, received_at)

    def _remember(self, signature: str, at: float) -> None:
        self._seen[signature] = at
        self._seen_order.append((at, signature))

    def read_after(self, cursor: int, limit: int = 1000) -> list[StoredEvent]:
        with self._read_lock:
            rows = self._read.execute(
                "SELECT id, received_at, type, action, object_id, date, raw FROM event "
                "WHERE id > ? ORDER BY id LIMIT ?",
                (cursor, limit),
            ).fetchall()
        return [StoredEvent(*row) for row in rows]

    def count(self) -> int:
        with self._read_lock:
            return self._read.execute("SELECT count(*) FROM event").fetchone()[0]

    def close(self) -> None:
        super().close()
        self._write.close()
        self._read.close()


_PG_SCHEMA = """
CREATE TABLE IF NOT EXISTS centra_webhook_event (
    id BIGSERIAL PRIMARY KEY, store TEXT NOT NULL, received_at DOUBLE PRECISION NOT NULL, type TEXT, action TEXT,
    object_id BIGINT, date TEXT, raw TEXT NOT NULL, signature TEXT);
CREATE INDEX IF NOT EXISTS centra_webhook_event_store_id ON centra_webhook_event (store, id);
CREATE TABLE IF NOT EXISTS centra_webhook_delivery (
    store TEXT NOT NULL, signature TEXT NOT NULL, received_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (store, signature));
"""
_PG_LOCK = 0x63656E747261  # one advisory lock: event ids become visible in the order they were given out
_PG_INSERT_EVENT = (
    "INSERT INTO centra_webhook_event (store, received_at, type, action, object_id, date, raw, signature) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
)


class PostgresEventStore(_GroupCommit):
    """One Centra store's events in PostgreSQL (tables `centra_webhook_event` and `centra_webhook_delivery`,
    shared by every store, one `store` column). Several receivers may write at once: each batch takes one
    advisory lock, so a reader that has seen event id N has seen every event below N (the sensor's cursor
    never skips one). A replay is a conflict on the deliveries' primary key; deliveries older than the replay
    window are forgotten (their signatures no longer pass the timestamp check anyway)."""

    PRUNE_EVERY = 1000  # commits

    def __init__(self, url: str, store: str = DEFAULT_STORE, replay_window: float = 600.0, commit_window=0.002):
        super().__init__(commit_window)
        self.url, self.store, self.replay_window = url, store, replay_window
        self.path = f"PostgreSQL {redacted(url)} (store {store})"  # what the receiver prints; no password
        self._write = self._connect()
        with self._write.transaction():
            self._write.execute("SELECT pg_advisory_xact_lock(%s)", (_PG_LOCK,))
            self._write.execute(_PG_SCHEMA)
        self._read = self._connect()
        self._commits = 0

    def _connect(self):
        import psycopg

        return psycopg.connect(self.url, autocommit=True, connect_timeout=10)

    def _on(self, which: str, work):
        """`work(connection)` on the store's `_write` or `_read` connection, run again once on a new connection
        when the server ended the old one (a restart, a failover: every session gets `AdminShutdown`). Without
        this, a long-running receiver would answer 500 until it is restarted itself. A transaction whose
        connection broke is rolled back, so the work runs again whole (a COMMIT whose answer was lost stored
        its deliveries: run again, they are replays, refused with 409, and their events are kept once)."""
        import psycopg

        con = getattr(self, which)
        if not (con.closed or con.broken):
            try:
                return work(con)
            except psycopg.OperationalError:
                if not con.broken:
                    raise
        con = self._connect()
        setattr(self, which, con)
        return work(con)

    def _commit_locked(self, batch: list[tuple]) -> list:
        try:
            return self._on("_write", lambda con: self._commit_on(con, batch))
        except Exception as exc:
            return [exc] * len(batch)

    def _commit_on(self, con, batch: list[tuple]) -> list:
        now = time.time()
        signatures = [signature for signature, _, _ in batch]
        with con.transaction(), con.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_PG_LOCK,))
            cur.execute(
                "INSERT INTO centra_webhook_delivery (store, signature, received_at) "
                "SELECT %s, s, %s FROM unnest(%s::text[]) AS s ON CONFLICT DO NOTHING RETURNING signature",
                (self.store, now, signatures),
            )
            fresh = {row[0] for row in cur.fetchall()}
            results, new_events = [], []
            for signature, _signed_at, rows in batch:
                if signature in fresh:
                    fresh.discard(signature)  # the same request twice in one batch: the second is a replay
                    new_events.extend((self.store, *row, signature) for row in rows)
                    results.append(len(rows))
                else:
                    results.append(Replay("this signed request was already received"))
            if new_events:
                cur.executemany(_PG_INSERT_EVENT, new_events)
            self._commits += 1
            if self._commits % self.PRUNE_EVERY == 0:
                cur.execute(
                    "DELETE FROM centra_webhook_delivery WHERE store = %s AND received_at < %s",
                    (self.store, now - self.replay_window),
                )
        return results

    def read_after(self, cursor: int, limit: int = 1000) -> list[StoredEvent]:
        sql = (
            "SELECT id, received_at, type, action, object_id, date, raw FROM centra_webhook_event "
            "WHERE store = %s AND id > %s ORDER BY id LIMIT %s"
        )
        with self._read_lock:
            rows = self._on("_read", lambda con: con.execute(sql, (self.store, cursor, limit)).fetchall())
        return [StoredEvent(*row) for row in rows]

    def count(self) -> int:
        sql = "SELECT count(*) FROM centra_webhook_event WHERE store = %s"
        with self._read_lock:
            return self._on("_read", lambda con: con.execute(sql, (self.store,)).fetchone()[0])

    def close(self) -> None:
        super().close()
        self._write.close()
        self._read.close()


def open_event_store(location: str | Path, store: str = DEFAULT_STORE) -> EventStore:
    """A store's webhook events: in PostgreSQL if `location` is a postgresql:// URL, else in a SQLite file
    ``webhooks-<store>.sqlite`` in the folder `location`."""
    if is_postgres_url(location):
        return PostgresEventStore(str(location), store)
    return SqliteEventStore(Path(location) / f"webhooks-{store}.sqlite")


def _rows(events: list[dict]) -> list[tuple]:
    now = time.time()
    return [
        (
            now,
            _text(e.get("type")),
            _text(e.get("action")),
            _int(e.get("id")),
            _text(e.get("date")),
            orjson.dumps(e).decode(),
        )
        for e in events
    ]


def _text(value) -> str | None:
    return None if value is None else str(value)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
