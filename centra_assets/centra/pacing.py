"""Pacing under Centra's rate limits, shared by every process that talks to the same store.

Centra meters each environment with six token buckets (requests, complexity and mutations, over 10 s and 1 h)
that every integration of the store shares. The pacer mirrors them on our side: it learns the quotas from the
``rateLimits`` query, keeps a reserve for the store's other integrations (``share``), charges each request before
sending it (complexity estimated from the last time the same query ran, in any process sharing the budget, then
corrected from ``extensions.complexity``), and waits when a bucket is empty, so Centra rarely has to say 429.

The buckets (and the pause a 429 imposes) live in a database, so parallel runs draw on one budget instead of
each believing it has all of it: a small SQLite file shared by every process of one machine, or PostgreSQL
(``CENTRA_RATE_BUDGET_URL``) shared by every process of a deployment, one container or pod per run included.
The bucket arithmetic is written once (`Pacer`); a backend only says how to hold the budget's lock: SQLite's
``BEGIN IMMEDIATE`` (one writer at a time per file), PostgreSQL's row lock on the budget's row
(``SELECT ... FOR UPDATE``), so a charge is atomic however many processes charge at once. Which of the two a
deployment uses is its caller's choice (defs/resources.py, by the rule of centra_assets/shared_state.py):
`centra/` imports nothing of the project, so the caller also hands in how to name the PostgreSQL URL
without its password.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

INTERVAL_SECONDS = {"TEN_SECONDS": 10.0, "ONE_HOUR": 3600.0}
KINDS = ("REQUEST_COUNT", "QUERY_COMPLEXITY", "MUTATION_COUNT")
DEFAULT_BUDGET = "default"
# A wait at least this long is logged, once per request: a long sync that waits for the budget says so in its run's
# event log instead of falling silent (the centra_assets loggers are Dagster-managed: cli.py INSTANCE_DEFAULTS).
WAIT_NOTICE_SECONDS = 5.0

log = logging.getLogger("centra_assets.centra")

# DOUBLE PRECISION: PostgreSQL's REAL is 4 bytes, too coarse for epoch seconds (SQLite reads it as REAL)
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS centra_rate_bucket (budget TEXT NOT NULL, kind TEXT NOT NULL,
       interval TEXT NOT NULL, capacity DOUBLE PRECISION, rate DOUBLE PRECISION, tokens DOUBLE PRECISION,
       updated DOUBLE PRECISION, PRIMARY KEY (budget, kind, interval))""",
    """CREATE TABLE IF NOT EXISTS centra_rate_pause (budget TEXT PRIMARY KEY, until DOUBLE PRECISION NOT NULL)""",
    # what each kind of query cost when it last ran (Pacer.learn): a new process charges its first request of a kind
    """CREATE TABLE IF NOT EXISTS centra_query_cost (budget TEXT NOT NULL, query TEXT NOT NULL,
       complexity DOUBLE PRECISION NOT NULL, PRIMARY KEY (budget, query))""",
)

Query = Callable[[str, tuple], list[tuple]]  # run one statement in the locked transaction, return its rows


def _refilled(capacity: float, rate: float, tokens: float, updated: float, now: float) -> float:
    """A bucket's tokens at `now`: what it held at `updated` plus the refill since, up to its capacity."""
    return min(capacity, tokens + max(0.0, now - updated) * rate)


class RateBudgetUnavailable(RuntimeError):
    """The shared rate budget's database cannot be reached (the message never holds its password)."""


class Pacer:
    def __init__(
        self,
        where: SqliteBudget | PostgresBudget | str | Path | None = None,
        share: float = 0.9,
        window_scale: float = 1.0,
        budget: str = DEFAULT_BUDGET,
        notice_after: float = WAIT_NOTICE_SECONDS,
    ):
        """`where`: where the shared budget lives: a `PostgresBudget`, a `SqliteBudget` or the path of its file,
        or None (this process only). `budget`: whose buckets (one Centra environment). `share`: the part of each
        quota we use. `window_scale`: only for a simulator started with --time-scale (its windows are that much
        shorter)."""
        self.share, self.window_scale, self.budget, self.notice_after = share, window_scale, budget, notice_after
        self._backend = where if isinstance(where, SqliteBudget | PostgresBudget) else SqliteBudget(where)
        with self._locked(create=True):
            pass
        self.configured = False
        self.waited_seconds = 0.0
        self.unknown_cost = 0.0  # what a request of a kind no process has learnt is charged (configure)

    def __repr__(self) -> str:
        return f"Pacer({self._backend}, budget={self.budget!r})"

    def configure(self, limits: list[dict]) -> None:
        """Size the buckets from Centra's ``rateLimits`` answer, and start from what Centra says is left."""
        now = time.time()
        with self._locked() as (query, _paused):
            held = {
                (kind, interval): (capacity, tokens)
                for kind, interval, capacity, tokens in query(
                    "SELECT kind, interval, capacity, tokens FROM centra_rate_bucket WHERE budget = ?", (self.budget,)
                )
            }
            for b in limits:
                quota = float(b["quota"])
                capacity = self.share * quota
                rate = capacity / (INTERVAL_SECONDS[b["intervalSeconds"]] / self.window_scale)
                # what other integrations already used is not ours to spend
                usable = max(0.0, float(b["remainingQuota"]) - (1 - self.share) * quota)
                row = held.get((b["type"], b["intervalSeconds"]))
                tokens = min(usable, row[1]) if row and row[0] == capacity else min(usable, capacity)
                if b["type"] == "QUERY_COMPLEXITY" and b["intervalSeconds"] == "TEN_SECONDS":
                    # Until its first answer, a query's complexity is unknown: it is charged the reserve left for
                    # the store's other integrations, so that a few processes starting together, each with a
                    # request in flight, do not overspend the window (Centra rarely charges a page more).
                    self.unknown_cost = (1 - self.share) * quota
                query(
                    "INSERT INTO centra_rate_bucket VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (budget, kind, interval) "
                    "DO UPDATE SET capacity = excluded.capacity, rate = excluded.rate, tokens = excluded.tokens, "
                    "updated = excluded.updated",
                    (self.budget, b["type"], b["intervalSeconds"], capacity, rate, tokens, now),
                )
        self.configured = True

    def acquire(self, requests: float = 1, complexity: float = 0, mutations: float = 0) -> float:
        """Block until the cost fits every bucket, then take it. Returns the seconds spent waiting."""
        cost = {"REQUEST_COUNT": requests, "QUERY_COMPLEXITY": complexity, "MUTATION_COUNT": mutations}
        waited = 0.0
        while True:
            with self._locked() as (query, paused):
                now = time.time()
                wait, charged = max(0.0, paused - now), []
                why = "Centra's 429 pause" if wait else ""
                for kind, interval, capacity, rate, tokens, updated in query(
                    "SELECT kind, interval, capacity, rate, tokens, updated FROM centra_rate_bucket WHERE budget = ?",
                    (self.budget,),
                ):
                    tokens = _refilled(capacity, rate, tokens, updated, now)
                    need = min(cost[kind], capacity)  # a single request bigger than a bucket still goes, alone
                    if need > tokens and (need - tokens) / rate > wait:
                        wait, why = (need - tokens) / rate, f"{kind} per {interval}"
                    charged.append((tokens - cost[kind], now, self.budget, kind, interval))
                if wait <= 0:  # (while waiting nothing is written: the refill is recomputed from `updated`)
                    for row in charged:
                        query(
                            "UPDATE centra_rate_bucket SET tokens = ?, updated = ? "
                            "WHERE budget = ? AND kind = ? AND interval = ?",
                            row,
                        )
                    self.waited_seconds += waited
                    return waited
            if not waited and wait >= self.notice_after:
                log.info("waiting about %.0f s for Centra's rate budget (%s)", wait, why)  # (its key is a URL)
            pause = min(wait, 1.0)
            time.sleep(pause)
            waited += pause

    def settle(self, complexity_delta: float) -> None:
        """Correct the complexity charged for a request once Centra reported the real figure.

        The bucket is brought up to now before the correction: a refill is counted from `updated` and stops at
        the capacity, so a debit applied to the old figure would let the time the bucket sat full refill it
        afterwards, and the pacer would believe it holds what Centra already spent (after a first page charged
        nothing, the pacer stayed a page ahead of Centra and met a 429 every few seconds)."""
        if complexity_delta:
            with self._locked() as (query, _paused):
                now = time.time()
                for interval, capacity, rate, tokens, updated in query(
                    "SELECT interval, capacity, rate, tokens, updated FROM centra_rate_bucket "
                    "WHERE budget = ? AND kind = 'QUERY_COMPLEXITY'",
                    (self.budget,),
                ):
                    tokens = _refilled(capacity, rate, tokens, updated, now) - complexity_delta
                    query(
                        "UPDATE centra_rate_bucket SET tokens = ?, updated = ? "
                        "WHERE budget = ? AND kind = 'QUERY_COMPLEXITY' AND interval = ?",
                        (tokens, now, self.budget, interval),
                    )

    def learnt(self, kind: str) -> float | None:
        """What a request of this kind (its query and page size, hashed) cost when a process last sent it."""
        with self._locked() as (query, _paused):
            rows = query("SELECT complexity FROM centra_query_cost WHERE budget = ? AND query = ?", (self.budget, kind))
        return rows[0][0] if rows else None

    def learn(self, kind: str, complexity: float) -> None:
        """Keep what a request of this kind cost, for the next process that sends one (learnt)."""
        with self._locked() as (query, _paused):
            query(
                "INSERT INTO centra_query_cost VALUES (?, ?, ?) ON CONFLICT (budget, query) "
                "DO UPDATE SET complexity = excluded.complexity",
                (self.budget, kind, complexity),
            )

    def pause_until(self, until: float) -> None:
        """Centra said 429: every process sharing the budget holds off until `until` (epoch seconds)."""
        with self._locked() as (query, _paused):
            query("UPDATE centra_rate_pause SET until = ? WHERE budget = ? AND until < ?", (until, self.budget, until))

    @contextlib.contextmanager
    def _locked(self, create: bool = False) -> Iterator[tuple[Query, float]]:
        """One transaction holding this budget's lock: (run a statement, the pause in force)."""
        with self._backend.transaction() as query:
            if create:
                query("INSERT INTO centra_rate_pause VALUES (?, 0) ON CONFLICT (budget) DO NOTHING", (self.budget,))
            (paused,) = query(
                f"SELECT until FROM centra_rate_pause WHERE budget = ?{self._backend.lock_row}", (self.budget,)
            )[0]
            yield query, paused


class SqliteBudget:
    """A SQLite file (WAL) for the processes of one machine; ``BEGIN IMMEDIATE`` makes one writer at a time."""

    lock_row = ""  # the whole file is locked already

    def __init__(self, path: str | Path | None):
        self.path = str(path) if path else ":memory:"
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            for statement in _SCHEMA:
                self._db.execute(statement)

    def __str__(self) -> str:
        return f"SQLite {self.path}"

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Query]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield lambda sql, params: self._db.execute(sql, params).fetchall()
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")


class PostgresBudget:
    """PostgreSQL, shared by every process of a deployment. Each transaction first locks the budget's row in
    ``centra_rate_pause`` (``FOR UPDATE``), so the processes charging one budget take turns and the others'
    budgets are not held up. Connections are pooled per process and URL."""

    lock_row = " FOR UPDATE"
    _idle: dict[str, list] = {}
    _ready: set[str] = set()
    _pool_lock = threading.Lock()
    MAX_IDLE = 8
    _DDL_LOCK = 0x63656E7472615F72  # an advisory lock: two processes creating the tables at once do not collide

    def __init__(self, url: str, shown_as: str):
        """`shown_as`: the URL as logs and messages may show it, without its password (shared_state.redacted)."""
        self.url, self.shown_as = url, shown_as
        if url not in self._ready:
            with self.transaction() as query:
                query("SELECT pg_advisory_xact_lock(?)", (self._DDL_LOCK,))
                for statement in _SCHEMA:
                    query(statement, ())
            self._ready.add(url)

    def __str__(self) -> str:
        return f"PostgreSQL {self.shown_as}"

    @contextlib.contextmanager
    def _connection(self):
        """A pooled connection (else a new one) with a transaction begun on it; back to the pool once done.

        BEGIN is each transaction's first round trip: where it fails on a connection the server ended while it
        sat idle (a restart or a failover ends every session; psycopg marks it broken), every idle connection is
        dead, and the transaction begins once more on a new one, before any of its statements ran. No ping
        before every transaction: a round trip more on each charge of the budget, for a rare restart."""
        import psycopg

        with self._pool_lock:
            idle = self._idle.setdefault(self.url, [])
            con = idle.pop() if idle else None
        if con is not None:
            try:
                con.execute("BEGIN")
            except psycopg.OperationalError:
                if not con.broken:
                    con.close()
                    raise
                with self._pool_lock:
                    dead, self._idle[self.url] = [con, *self._idle[self.url]], []
                for con in dead:
                    con.close()
                con = None
        if con is None:
            con = self._connect()
            con.execute("BEGIN")
        try:
            yield con
        except BaseException:
            con.close()  # its transaction ends with it; a connection in an unknown state is not handed out again
            raise
        with self._pool_lock:
            idle = self._idle[self.url]
            if len(idle) < self.MAX_IDLE and not con.closed:
                idle.append(con)
                con = None
        if con is not None:
            con.close()

    def _connect(self):
        import psycopg

        try:
            return psycopg.connect(self.url, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise self._unavailable("cannot be reached", exc) from None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Query]:
        import psycopg

        try:
            with self._connection() as con, con.cursor() as cur:

                def query(sql: str, params: tuple) -> list[tuple]:
                    cur.execute(sql.replace("?", "%s"), params)
                    return cur.fetchall() if cur.description else []

                yield query
                cur.execute("COMMIT")
        except psycopg.OperationalError as exc:  # the server went away in the middle: say which, not how
            raise self._unavailable("was lost during a transaction", exc) from None

    def _unavailable(self, what: str, exc: Exception) -> RateBudgetUnavailable:
        password = urlsplit(self.url).password  # (centra/ imports nothing of the project: no shared_state)
        detail = str(exc).replace(password, "***") if password else str(exc)
        return RateBudgetUnavailable(
            f"The shared rate budget (CENTRA_RATE_BUDGET_URL, {self.shown_as}) {what}: {detail}"
        )
