"""Shared fixtures: a real simulator served over HTTP on 127.0.0.1, and a real gql client for it."""

from __future__ import annotations

import contextlib

import pytest

from centra_sim.testing.simulator import Centra, serve


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
    """Make `name` ("local" or "s3-postgres") the backend of tests/ingestion/helpers.py while the block runs."""
    from .ingestion import helpers

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
    """Where a module's warehouse, webhook events and Dagster runs live (see tests/ingestion/helpers.py)."""
    with backend_named(request, request.param) as chosen:
        yield chosen


# The files that take longest (minutes each) start first, so that the two xdist workers finish together instead of
# one running a long file alone at the end (`make test` passes --no-loadscope-reorder, which keeps this order;
# xdist would otherwise order files by their number of tests, and these long ones have few).
LONGEST_FIRST = (
    "tests/ui/test_browser.py",
    "tests/analytics/test_marts.py",
    "tests/realtime/test_weeks_of_changes.py",
    "tests/ingestion/test_assets_match_centra.py",
    "tests/ingestion/test_sync_behaviour.py",
    "tests/realtime/test_webhooks_to_warehouse.py",
    "tests/analytics/test_two_stores.py",
    "tests/test_demo.py",
)


def pytest_collection_modifyitems(items):
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable: the rest keep their order
