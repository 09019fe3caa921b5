"""Pacing under Centra's rate limits, shared by every process that talks to the same store.

Centra meters each environment with six token buckets (requests, complexity and mutations, over 10 s
and 1 h) that every integration of the store shares. The pacer mirrors them on our side: it learns the
quotas from the ``rateLimits`` query, keeps a reserve for the store's other integrations (``share``),
charges each request before sending it (complexity estimated from the last time the same query ran,
then corrected from ``extensions.complexity``), and waits when a bucket is empty, so Centra rarely has
to say 429. The buckets live in a small SQLite file, so parallel runs (several Dagster runs, a backfill
beside the sensor) draw on one budget instead of each believing it has all of it.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

INTERVAL_SECONDS = {"TEN_SECONDS": 10.0, "ONE_HOUR": 3600.0}
KINDS = ("REQUEST_COUNT", "QUERY_COMPLEXITY", "MUTATION_COUNT")


class Pacer:
    def __init__(self, path: str | Path | None = None, share: float = 0.9, window_scale: float = 1.0):
        """`path`: the shared state file (None: this process only). `share`: the part of each quota we use.
        `window_scale`: only for a simulator started with --time-scale (its windows are that much shorter)."""
        self.share, self.window_scale = share, window_scale
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            str(path) if path else ":memory:", timeout=60, isolation_level=None, check_same_thread=False
        )
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("""CREATE TABLE IF NOT EXISTS bucket (kind TEXT, interval TEXT, capacity REAL,
                                rate REAL, tokens REAL, updated REAL, PRIMARY KEY (kind, interval))""")
            self._db.execute("CREATE TABLE IF NOT EXISTS pause (id INTEGER PRIMARY KEY CHECK (id = 1), until REAL)")
        self.configured = False
        self.waited_seconds = 0.0

    def configure(self, limits: list[dict]) -> None:
        """Size the buckets from Centra's ``rateLimits`` answer, and start from what Centra says is left."""
        now = time.time()
        with self._lock, self._transaction():
            for b in limits:
                quota = float(b["quota"])
                capacity = self.share * quota
                rate = capacity / (INTERVAL_SECONDS[b["intervalSeconds"]] / self.window_scale)
                # what other integrations already used is not ours to spend
                usable = max(0.0, float(b["remainingQuota"]) - (1 - self.share) * quota)
                row = self._db.execute(
                    "SELECT capacity, tokens FROM bucket WHERE kind=? AND interval=?", (b["type"], b["intervalSeconds"])
                ).fetchone()
                tokens = min(usable, row[1]) if row and row[0] == capacity else min(usable, capacity)
                self._db.execute(
                    "INSERT OR REPLACE INTO bucket VALUES (?, ?, ?, ?, ?, ?)",
                    (b["type"], b["intervalSeconds"], capacity, rate, tokens, now),
                )
        self.configured = True

    def acquire(self, requests: float = 1, complexity: float = 0, mutations: float = 0) -> float:
        """Block until the cost fits every bucket, then take it. Returns the seconds spent waiting."""
        cost = {"REQUEST_COUNT": requests, "QUERY_COMPLEXITY": complexity, "MUTATION_COUNT": mutations}
        waited = 0.0
        while True:
            with self._lock, self._transaction():
                now = time.time()
                rows = self._refill(now)
                paused = (self._db.execute("SELECT until FROM pause WHERE id = 1").fetchone() or (0.0,))[0]
                wait = max(0.0, paused - now)
                for kind, _interval, capacity, rate, tokens in rows:
                    need = min(cost[kind], capacity)  # a single request bigger than a bucket still goes, alone
                    if need > tokens:
                        wait = max(wait, (need - tokens) / rate)
                if wait <= 0:
                    for kind, interval, *_ in rows:
                        self._db.execute(
                            "UPDATE bucket SET tokens = tokens - ? WHERE kind=? AND interval=?",
                            (cost[kind], kind, interval),
                        )
                    self.waited_seconds += waited
                    return waited
            pause = min(wait, 1.0)
            time.sleep(pause)
            waited += pause

    def settle(self, complexity_delta: float) -> None:
        """Correct the complexity charged for a request once Centra reported the real figure."""
        if complexity_delta:
            with self._lock, self._transaction():
                self._db.execute(
                    "UPDATE bucket SET tokens = tokens - ? WHERE kind = 'QUERY_COMPLEXITY'", (complexity_delta,)
                )

    def pause_until(self, until: float) -> None:
        """Centra said 429: every process sharing the budget holds off until `until` (epoch seconds)."""
        with self._lock, self._transaction():
            self._db.execute(
                "INSERT INTO pause VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET until = max(until, excluded.until)",
                (until,),
            )

    def _refill(self, now: float) -> list[tuple]:
        rows = self._db.execute("SELECT kind, interval, capacity, rate, tokens, updated FROM bucket").fetchall()
        out = []
        for kind, interval, capacity, rate, tokens, updated in rows:
            tokens = min(capacity, tokens + max(0.0, now - updated) * rate)
            self._db.execute(
                "UPDATE bucket SET tokens=?, updated=? WHERE kind=? AND interval=?", (tokens, now, kind, interval)
            )
            out.append((kind, interval, capacity, rate, tokens))
        return out

    def _transaction(self):
        return _Immediate(self._db)


class _Immediate:
    """BEGIN IMMEDIATE ... COMMIT: one writer at a time across processes."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, *_):
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
