"""The warehouse's turns: a dbt build and the publishes of raw data take turns, so a build reads each data type
whole and a refresh published after a build is recorded after it.

Where turns are kept is chosen once, here, by the rule of shared_state: every process of a deployment must ask
the same keeper. A lock file in the local state folder (`FileTurn`) for runs sharing a disk; a PostgreSQL advisory
lock (`PostgresTurn`) for runs that share no disk but share the PostgreSQL of the rate budget.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from centra_assets.shared_state import is_postgres_url, redacted, without_password

if TYPE_CHECKING:
    from centra_assets.settings import Settings

log = logging.getLogger("centra_assets.warehouse")

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
        detail = without_password(str(exc), self.url)
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
    run = _dagster_run()
    return f"{who}{f' of run {run}' if run else ''}, pid {os.getpid()} on {socket.gethostname()}"


def _dagster_run() -> str | None:
    """The Dagster run this thread works for, if any: a run waiting for the turn says which run holds it."""
    if "dagster" not in sys.modules:  # not a Dagster process (the CLI, a script): no run, and no import to pay for
        return None
    import dagster as dg

    for context in (dg.AssetExecutionContext, dg.OpExecutionContext):
        try:
            return context.get().run.run_id
        except (dg.DagsterInvariantViolationError, AttributeError):
            continue
    return None


@contextmanager
def _announced_wait(holder: str) -> Iterator[None]:
    """While the block waits for the turn: after WAIT_NOTICE_AFTER seconds, say so and who holds it, and when the
    turn comes, how long it took (a sync waiting for a build waits about as long as the build). The lines reach the
    run's event log: `centra-assets init` makes the `centra_assets` loggers managed by Dagster."""
    holder = holder or "another process"
    timer = threading.Timer(WAIT_NOTICE_AFTER, log.warning, ("waiting for the warehouse's turn (held by %s)", holder))
    timer.daemon = True
    started = time.monotonic()
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        waited = time.monotonic() - started
        if waited >= WAIT_NOTICE_AFTER:
            log.warning("got the warehouse's turn after waiting %.0f s for %s", waited, holder)


TurnLock = FileTurn | PostgresTurn


def turn_lock(settings: Settings) -> TurnLock:
    """Where the warehouse's publishes and dbt builds take turns: PostgreSQL when the deployment shares one (its rate
    budget's, CENTRA_RATE_BUDGET_URL: runs on separate machines), else a file in the local state folder."""
    if is_postgres_url(settings.rate_budget_url):
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
