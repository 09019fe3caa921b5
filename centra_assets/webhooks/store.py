"""Where acknowledged webhook events live until the sensor has handled them.

``EventStore`` is the interface (a server database could implement it); ``SqliteEventStore`` keeps events in
SQLite in WAL mode with ``synchronous=FULL``: when ``append`` returns, the events survive a killed process
and a power cut, so the receiver may answer 2xx. Each signature is stored once, so a replayed request is
recognised and refused.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
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
    def read_after(self, cursor: int, limit: int = 1000) -> list[StoredEvent]: ...
    def count(self) -> int: ...


class SqliteEventStore:
    def __init__(self, path: str | Path, replay_window: float = 600.0):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path, self.replay_window = str(path), replay_window
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript("""
                CREATE TABLE IF NOT EXISTS event (id INTEGER PRIMARY KEY AUTOINCREMENT, received_at REAL NOT NULL,
                    type TEXT, action TEXT, object_id INTEGER, date TEXT, raw TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS signature (v1 TEXT PRIMARY KEY, signed_at INTEGER NOT NULL);
            """)
        self._appends = 0

    def append(self, signature: str, signed_at: int, events: list[dict]) -> int:
        """Store one delivery's events atomically; Replay if this signature was stored before."""
        now = time.time()
        rows = [
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
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute("INSERT INTO signature VALUES (?, ?)", (signature, signed_at))
                self._db.executemany(
                    "INSERT INTO event (received_at, type, action, object_id, date, raw) VALUES (?, ?, ?, ?, ?, ?)",
                    rows,
                )
                self._appends += 1
                if self._appends % 1000 == 0:  # signatures older than any accepted timestamp can go
                    self._db.execute("DELETE FROM signature WHERE signed_at < ?", (now - self.replay_window,))
                self._db.execute("COMMIT")
            except sqlite3.IntegrityError:
                self._db.execute("ROLLBACK")
                raise Replay("this signed request was already received") from None
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return len(rows)

    def read_after(self, cursor: int, limit: int = 1000) -> list[StoredEvent]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, received_at, type, action, object_id, date, raw FROM event "
                "WHERE id > ? ORDER BY id LIMIT ?",
                (cursor, limit),
            ).fetchall()
        return [StoredEvent(*row) for row in rows]

    def count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM event").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _text(value) -> str | None:
    return None if value is None else str(value)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
