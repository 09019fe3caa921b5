"""Where acknowledged webhook events live until the sensor has handled them.

``EventStore`` is the interface (a server database could implement it); ``SqliteEventStore`` keeps events in
SQLite in WAL mode with ``synchronous=FULL``: when ``append`` returns, the events survive a killed process
and a power cut, so the receiver may answer 2xx. Under load, deliveries share transactions (group commit).
Each signature is stored once, so a replayed request is recognised and refused.
"""

from __future__ import annotations

import asyncio
import json
import queue
import sqlite3
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


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
    def append(self, signature: str, signed_at: int, events: list[dict]) -> int: ...
    async def append_async(self, signature: str, signed_at: int, events: list[dict]) -> int: ...
    def read_after(self, cursor: int, limit: int = 1000) -> list[StoredEvent]: ...
    def count(self) -> int: ...


class SqliteEventStore:
    """Group commit: one writer thread takes every delivery waiting at that moment into one transaction, so
    one fsync serves many requests under load; each caller returns only after its transaction committed."""

    MAX_BATCH = 500

    def __init__(self, path: str | Path, replay_window: float = 600.0):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path, self.replay_window = str(path), replay_window
        self._write = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self._write.execute("PRAGMA journal_mode=WAL")
        self._write.execute("PRAGMA synchronous=FULL")
        self._write.executescript("""
            CREATE TABLE IF NOT EXISTS event (id INTEGER PRIMARY KEY AUTOINCREMENT, received_at REAL NOT NULL,
                type TEXT, action TEXT, object_id INTEGER, date TEXT, raw TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS signature (v1 TEXT PRIMARY KEY, signed_at INTEGER NOT NULL);
        """)
        self._read = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self._read_lock = threading.Lock()
        self._queue: queue.Queue = queue.Queue()
        self._batches = 0
        self._writer = threading.Thread(target=self._write_loop, name="webhook-store-writer", daemon=True)
        self._writer.start()

    def append(self, signature: str, signed_at: int, events: list[dict]) -> int:
        """Store one delivery's events atomically and durably; Replay if this signature was stored before."""
        done: Future = Future()
        self._queue.put((signature, signed_at, _rows(events), _settle(done.set_result, done.set_exception)))
        return done.result()

    async def append_async(self, signature: str, signed_at: int, events: list[dict]) -> int:
        """The same from an event loop, without a thread of its own: the writer thread wakes the caller."""
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def settle(result) -> None:
            if not done.cancelled():
                (done.set_exception if isinstance(result, BaseException) else done.set_result)(result)

        self._queue.put((signature, signed_at, _rows(events), lambda r: loop.call_soon_threadsafe(settle, r)))
        return await done

    def _write_loop(self) -> None:
        while (item := self._queue.get()) is not None:
            batch = [item]
            while len(batch) < self.MAX_BATCH:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)
                    break
                batch.append(nxt)
            self._commit(batch)

    def _commit(self, batch: list) -> None:
        """One transaction for the batch: one replay lookup, two bulk inserts, one fsync."""
        db = self._write
        try:
            signatures = [item[0] for item in batch]
            seen = {
                row[0]
                for row in db.execute(
                    f"SELECT v1 FROM signature WHERE v1 IN ({','.join('?' * len(signatures))})", signatures
                )
            }
            results, new_signatures, new_events = [], [], []
            for signature, signed_at, rows, _ in batch:
                if signature in seen:
                    results.append(Replay("this signed request was already received"))
                    continue
                seen.add(signature)  # the same request twice in one batch is a replay too
                new_signatures.append((signature, signed_at))
                new_events.extend(rows)
                results.append(len(rows))
            db.execute("BEGIN IMMEDIATE")
            db.executemany("INSERT INTO signature VALUES (?, ?)", new_signatures)
            db.executemany(
                "INSERT INTO event (received_at, type, action, object_id, date, raw) VALUES (?, ?, ?, ?, ?, ?)",
                new_events,
            )
            self._batches += 1
            if self._batches % 1000 == 0:  # signatures older than any accepted timestamp can go
                db.execute("DELETE FROM signature WHERE signed_at < ?", (time.time() - self.replay_window,))
            db.execute("COMMIT")  # one fsync (synchronous=FULL) for the whole batch
        except BaseException as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            results = [exc] * len(batch)
        for (*_, settle), result in zip(batch, results, strict=True):
            settle(result)

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
        self._queue.put(None)
        self._writer.join(timeout=10)
        self._write.close()
        self._read.close()


def _rows(events: list[dict]) -> list[tuple]:
    now = time.time()
    return [
        (
            now,
            _text(e.get("type")),
            _text(e.get("action")),
            _int(e.get("id")),
            _text(e.get("date")),
            json.dumps(e, separators=(",", ":")),
        )
        for e in events
    ]


def _settle(on_result, on_error):
    return lambda result: (on_error if isinstance(result, BaseException) else on_result)(result)


def _text(value) -> str | None:
    return None if value is None else str(value)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
