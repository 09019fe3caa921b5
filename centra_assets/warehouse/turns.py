"""The warehouse's turns: a dbt build and the publishes of raw data take turns, so a build reads each data type
whole and a refresh published after a build is recorded after it. And each raw partition's writers take turns
(`writing`): a sync or refresh of a day reads Centra and publishes the day while no other writer of that day does,
so the one that read Centra later publishes later, and no writer overwrites a newer read with an older one.

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
import zlib
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
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
    when the process dies. The holder writes who it is into the file, for those who wait. Several files (the write
    turns of several partitions) are taken in the order given, which `writing` sorts: two writers never each hold
    one the other waits for."""

    def __init__(self, *paths: Path, what: str = "the warehouse's turn"):
        self.paths = [Path(p) for p in paths]
        self.what = what

    def __repr__(self) -> str:
        return f"FileTurn({', '.join(map(str, self.paths))})"

    def writing(self, names: list[str], what: str) -> FileTurn:
        """The write turns of the named partitions: one of WRITE_STRIPES lock files each (a bounded number of files,
        however many days; two partitions sharing one wait for each other now and then, never for long)."""
        stripes = sorted({zlib.crc32(name.encode()) % WRITE_STRIPES for name in names})
        return FileTurn(*(self.paths[0].parent / "writes" / f"{s:03d}.lock" for s in stripes), what=what)

    @contextmanager
    def held(self, who: str) -> Iterator[None]:
        with ExitStack() as stack:
            for path in self.paths:
                path.parent.mkdir(parents=True, exist_ok=True)
                file = stack.enter_context(open(path, "a+"))
                try:
                    fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    file.seek(0)
                    with _announced_wait(self.what, file.read().strip()):
                        fcntl.flock(file, fcntl.LOCK_EX)
                file.truncate(0)
                file.write(_signature(who))
                file.flush()
            yield


WRITE_STRIPES = 256


class TurnUnavailable(RuntimeError):
    """The shared PostgreSQL that keeps the warehouse's turns cannot be reached, or the turn was lost while held
    (the message names the server, never its password)."""


class PostgresTurn:
    """Turns through a PostgreSQL session advisory lock, for runs that share no disk (deploy/k8s: each pod its own)
    but share the PostgreSQL of the rate budget (CENTRA_RATE_BUDGET_URL). The lock's key is derived from the
    warehouse's URL; it is held on a connection of its own for the turn, released when the turn ends, and by
    PostgreSQL when the holder's connection ends (its process killed; its machine gone: server-side TCP
    keepalives notice within about a minute). A waiter queues in PostgreSQL, first come first served."""

    def __init__(self, url: str, warehouse_url: str, names: Iterable[str] = ("",), what: str = "the warehouse's turn"):
        self.url, self.warehouse_url, self.what = url, warehouse_url, what
        self.keys = [_advisory_key(f"centra-assets turn {warehouse_url}{f' {n}' if n else ''}") for n in names]

    def __repr__(self) -> str:
        return f"PostgreSQL {redacted(self.url)}, advisory lock {', '.join(map(str, self.keys))}"

    def writing(self, names: list[str], what: str) -> PostgresTurn:
        """The write turns of the named partitions: an advisory lock each, all held on one connection."""
        return PostgresTurn(self.url, self.warehouse_url, names, what)

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
                for key in self.keys:
                    if not con.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
                        with _announced_wait(self.what, self._holder(con, key)):
                            con.execute("SELECT pg_advisory_lock(%s)", (key,))
            except psycopg.Error as exc:
                raise self._unavailable("failed while waiting for the turn", exc) from None
            yield
            try:
                released = [con.execute("SELECT pg_advisory_unlock(%s)", (key,)).fetchone()[0] for key in self.keys]
            except psycopg.Error as exc:
                raise self._unavailable("lost the turn while holding it", exc) from None
            if not all(released):
                raise TurnUnavailable(f"{self.what} ({self!r}) was lost while held")

    def _holder(self, con, key: int) -> str:
        """Who holds the turn, as it named itself (its connection's application_name)."""
        row = con.execute(
            """SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
               WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                 AND l.classid::bigint = %s AND l.objid::bigint = %s""",
            (key >> 32, key & 0xFFFFFFFF),
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


def _advisory_key(text: str) -> int:
    digest = hashlib.sha256(text.encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1  # a non-negative bigint: pg_locks shows it as two oids


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
def _announced_wait(what: str, holder: str) -> Iterator[None]:
    """While the block waits for the turn: after WAIT_NOTICE_AFTER seconds, say so and who holds it, and when the
    turn comes, how long it took (a sync waiting for a build waits about as long as the build). The lines reach the
    run's event log: `centra-assets init` makes the `centra_assets` loggers managed by Dagster."""
    holder = holder or "another process"
    timer = threading.Timer(WAIT_NOTICE_AFTER, log.warning, ("waiting for %s (held by %s)", what, holder))
    timer.daemon = True
    started = time.monotonic()
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        waited = time.monotonic() - started
        if waited >= WAIT_NOTICE_AFTER:
            log.warning("got %s after waiting %.0f s for %s", what, waited, holder)


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


_writing: ContextVar[frozenset[str]] = ContextVar("writing", default=frozenset())


@contextmanager
def writing(lock: TurnLock | None, names: Iterable[str], what: str, who: str) -> Iterator[None]:
    """Hold the write turn of each named raw partition (`lock.writing`) for the block: from before a sync or refresh
    reads Centra until it has published. Two writers of one day (two refresh runs asked for a minute apart, a refresh
    and the daily sync) otherwise both read the day and the one that read Centra first could publish last, over the
    newer read: a lost update that nothing asks for again (issue #27). Turns this thread holds already (a refresh
    syncing a day whole inside its own turn) are not taken again. None: no turns."""
    names = set(names) - _writing.get()
    if lock is None or not names:
        yield
        return
    token = _writing.set(_writing.get() | names)
    try:
        with lock.writing(sorted(names), f"the turn to write {what}").held(who):
            yield
    finally:
        _writing.reset(token)
