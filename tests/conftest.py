"""Shared fixtures: a real simulator served over HTTP on 127.0.0.1, and a real gql client for it; and the two tiers:
every test that starts a server (or runs Dagster or dbt against one) is `slow`, and `make test-fast` (`-m "not slow"`)
runs the rest, with a guard that fails a fast test which starts a server after all."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess

import pytest

from centra_sim.testing.simulator import Centra, serve

# The marts' automation ticks read the event log as it was when they began, which Dagster enforces only with a settle
# delay (marts/automation.py sets policy's half second where nothing is set): the suite's in-process ticks keep the
# snapshot without the wait (tests/marts/test_marts_automation.py tests the default)
os.environ.setdefault("DAGSTER_AUTOMATION_TICK_SETTLE_SECONDS", "0.001")


@pytest.fixture(scope="module")
def centra():
    """A simulator without rate limits, shared by a test module (tests must not change its state)."""
    c, server = serve()
    yield c
    server.__exit__()
    c.sim.stop()


@pytest.fixture
def make_centra():
    """Start simulators with custom settings; each is stopped after the test."""
    started = []

    def start(**kwargs) -> Centra:
        c, server = serve(**kwargs)
        started.append((c, server))
        return c

    yield start
    for c, server in started:
        server.__exit__()
        c.sim.stop()


@pytest.fixture
def centra_live(make_centra):
    """A simulator of its own whose clock a test moves (POST /admin/clock)."""
    return make_centra()


@pytest.fixture(scope="session")
def postgres_server():
    from centra_sim.testing.services import Postgres

    server = Postgres()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_server():
    from centra_sim.testing.services import S3

    server = S3()
    yield server
    server.stop()


@contextlib.contextmanager
def backend_named(request, name: str):
    """Make `name` ("local" or "s3-postgres") the backend of tests/helpers.py while the block runs."""
    from . import helpers

    with contextlib.ExitStack() as stack:
        if name == "local":
            helpers.BACKEND = helpers.Local()
        else:
            s3, postgres = request.getfixturevalue("s3_server"), request.getfixturevalue("postgres_server")
            helpers.BACKEND = helpers.Distributed(s3, postgres, stack)
        yield helpers.BACKEND
        helpers.BACKEND = helpers.Local()


@pytest.fixture(scope="module", params=["local", "s3-postgres"])
def backend(request):
    """Where a module's warehouse, webhook events and Dagster runs live (see tests/helpers.py)."""
    with backend_named(request, request.param) as chosen:
        yield chosen


# The files that take longest (minutes each) start first, so that the two xdist workers finish together instead of
# one running a long file alone at the end (`make test` passes --no-loadscope-reorder, which keeps this order;
# xdist would otherwise order files by their number of tests, and these long ones have few).
# (Order from the CI run of 2026-12-06, 18:45 wall: the UI test, the incremental builds and the marts' fixture took
# 3-4 minutes each; test_incremental and test_backfill were missing here and started mid-run.)
LONGEST_FIRST = (
    "tests/ui/test_browser.py",
    "tests/marts/test_incremental.py",
    "tests/marts/test_marts.py",
    "tests/raw/test_assets_match_centra.py",
    "tests/raw/test_sync_behaviour.py",
    "tests/realtime/test_webhooks_to_warehouse.py",
    "tests/marts/test_two_stores.py",
    "tests/realtime/test_weeks_of_changes.py",
    "tests/raw/test_backfill.py",
    "tests/test_demo.py",
    "tests/raw/test_shared_budget.py",
)

# Fixtures that start a server: the simulator, PostgreSQL, moto's S3, the webhook receiver, Dagster's UI (and every
# fixture built on one of them, which pytest lists among a test's fixture names too). A test using one is `slow`;
# a module that starts servers or runs Dagster/dbt on its own says so with `pytestmark = pytest.mark.slow`.
SERVER_FIXTURES = {"centra", "make_centra", "centra_live", "postgres_server", "s3_server", "backend", "receiver"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable: the rest keep their order


# ---------------------------------------------------------------- the fast tier's guard
# Under `-m "not slow"` a test that starts a server after all (a fixture or module not marked above) fails at once,
# naming what it started, instead of quietly making the fast tier slow. Two doors are shut, both simple and exact:
# listen() on a TCP socket (every HTTP, PostgreSQL or S3 server, in this process, listens), and launching a program
# that is a server or runs one (the simulator, the receiver, PostgreSQL, moto, uvicorn, Dagster, dbt, Chromium,
# Docker). Outgoing connections, Unix sockets, and child Python processes that only compute are still allowed.
SERVER_PROGRAMS = (
    "centra-sim",
    "centra_sim",
    "centra-webhooks",
    "centra_assets.webhooks",
    "centra_assets.dev",
    "centra_assets.demo",
    "postgres",
    "initdb",
    "pg_ctl",
    "moto_server",
    "moto.server",
    "uvicorn",
    "dagster",
    "dbt",
    "chromium",
    "dockerd",
    "docker",
)


class ServerInFastTier(RuntimeError):
    pass


def _refuse(nodeid: str, what: str):
    raise ServerInFastTier(
        f"{nodeid} {what} in the fast tier (-m 'not slow'): a test that starts a server is slow; mark it "
        "`@pytest.mark.slow` (or its module `pytestmark = pytest.mark.slow`), or use a fixture in "
        "tests/conftest.py SERVER_FIXTURES"
    )


def _programs(args) -> list[str]:
    """What a command may run: every word's base name (so `setpriv ... postgres` is seen), and the module of
    `python -m module`."""
    argv = [args] if isinstance(args, str | bytes | os.PathLike) else list(args)
    words = [w for a in argv for w in os.fsdecode(a).split()]
    modules = [words[i + 1] for i, w in enumerate(words[:-1]) if w == "-m"]
    return [os.path.basename(w) for w in words] + modules


@pytest.fixture(autouse=True)
def _no_server_in_the_fast_tier(request, monkeypatch):
    if "not slow" not in (request.config.getoption("markexpr") or "") or request.node.get_closest_marker("slow"):
        yield
        return
    nodeid = request.node.nodeid
    listen, popen_init = socket.socket.listen, subprocess.Popen.__init__

    def guarded_listen(sock, *args):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            _refuse(nodeid, f"listened on {sock.getsockname()}")
        return listen(sock, *args)

    def guarded_popen(self, args, *rest, **kwargs):
        for program in _programs(args):
            if any(program == p or program.startswith((p + ".", p + "-")) for p in SERVER_PROGRAMS):
                _refuse(nodeid, f"launched {program!r}")
        return popen_init(self, args, *rest, **kwargs)

    monkeypatch.setattr(socket.socket, "listen", guarded_listen)
    monkeypatch.setattr(subprocess.Popen, "__init__", guarded_popen)
    yield
