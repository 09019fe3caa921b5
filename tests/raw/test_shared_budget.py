"""Processes that talk to one store share one rate budget and never make Centra say 429: backfill runs on one
machine through the SQLite file, and processes that share no files at all through PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from centra_assets.centra.client import CentraClient
from centra_assets.centra.pacing import Pacer, PostgresBudget, RateBudgetUnavailable
from centra_assets.shared_state import redacted

SCALE = 1.0  # Centra's real windows: each run alone fits in one 10 s window, the two together do not
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "pg-secret-0123456789"


def test_two_concurrent_backfills_stay_inside_the_rate_budget(make_centra, tmp_path):
    from ..helpers import sim_day

    centra = make_centra(orders_per_day=400, rate_limits=True, plan="growth", time_scale=SCALE)
    runs = {"a": [sim_day(centra, n) for n in (4, 3)], "b": [sim_day(centra, n) for n in (2, 1)]}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.raw.run_sync",
                centra.graphql_url,
                "test-token-full",
                str(tmp_path),
                str(SCALE),
                *days,
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for days in runs.values()
    ]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], "\n".join(o[-3000:] for o in outputs)
    assert centra.sim.stats["rate_limited"] == 0  # Centra never had to refuse a request
    # ...although together they asked for more than a window allows: the shared pacer made them wait
    window = {(b["type"], b["intervalSeconds"]): b["quota"] for b in centra.sim.limiter.snapshot()}
    assert centra.sim.stats["complexity"] > window[("QUERY_COMPLEXITY", "TEN_SECONDS")]


HAMMER_SCALE = 2.0  # 5 s windows: two processes' pages (about 1.9 windows of complexity) need a few seconds
PAGES = 10  # orders pages of 200 per process: 242,010 complexity, within one process's share of a window
IN_FLIGHT = 4  # so that without a shared budget they outrun Centra's refill even when pages are slow (busy machine)


def _hammer(url: str, state_dir: Path, budget_url: str, pages: int = PAGES) -> None:
    """A separate process with its own state folder: learns the budget, says "ready", waits for "go", then asks
    for `pages` pages of orders through the project's client and pacer, as a run does (the resource's wiring of
    the two is checked in the test itself; importing Dagster here would only slow the start)."""
    from centra_assets.entities import BY_NAME
    from centra_assets.entities.query import default_query

    where = PostgresBudget(budget_url, redacted(budget_url)) if budget_url else state_dir / "centra-rate-budget.sqlite"
    pacer = Pacer(where, window_scale=HAMMER_SCALE, budget=url)
    client = CentraClient(url, "test-token-full", pacer=pacer, backoff_base=0.01)
    pacer.configure(client.rate_limits())
    print("ready", flush=True)
    assert sys.stdin.readline().strip() == "go"
    with ThreadPoolExecutor(IN_FLIGHT) as pool:  # pages in flight together, as a run fetches them
        list(
            pool.map(
                lambda p: client.execute(default_query(BY_NAME["orders"]), {"where": {}, "limit": 200, "page": p}),
                range(1, pages + 1),
            )
        )
    print(json.dumps({k: v for k, v in vars(client.stats).items() if not k.startswith("_")}), flush=True)


def _two_processes_sharing_no_files(centra, tmp_path: Path, budget_url: str) -> list[str]:
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.raw.test_shared_budget",
                centra.graphql_url,
                str(tmp_path / n),
                budget_url,
            ],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for n in ("a", "b")
    ]
    try:
        for p in procs:  # both know the budget before either spends any of it
            line = p.stdout.readline()
            assert line.strip() == "ready", line + p.stdout.read()[-3000:]
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        outputs = [p.communicate(timeout=180)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert [p.returncode for p in procs] == [0, 0], "\n".join(o[-3000:] for o in outputs)
    return outputs


@pytest.mark.parametrize("shared", [True, False], ids=["postgresql-budget", "no-shared-budget"])
def test_processes_sharing_no_files_share_the_budget_through_postgresql(make_centra, tmp_path, postgres_server, shared):
    centra = make_centra(orders_per_day=400, rate_limits=True, plan="growth", time_scale=HAMMER_SCALE)
    url = postgres_server.new_database().replace("postgres@", f"postgres:{PASSWORD}@") if shared else ""
    if shared:  # what a run's resource builds from CENTRA_RATE_BUDGET_URL: this PostgreSQL budget
        from centra_assets.defs.resources import CentraResource

        resource = CentraResource(
            api_url=centra.graphql_url, api_token="t", pacer_path=str(tmp_path / "b.sqlite"), rate_budget_url=url
        )
        pacer = resource.client().pacer
        assert repr(pacer).startswith("Pacer(PostgreSQL") and PASSWORD not in repr(pacer)
    outputs = _two_processes_sharing_no_files(centra, tmp_path, url)
    window = {(b["type"], b["intervalSeconds"]): b["quota"] for b in centra.sim.limiter.snapshot()}
    assert centra.sim.stats["complexity"] > window[("QUERY_COMPLEXITY", "TEN_SECONDS")]  # more than a window
    if shared:
        assert centra.sim.stats["rate_limited"] == 0  # the PostgreSQL budget made them take turns
        assert not any(PASSWORD in o for o in outputs)
    else:
        assert centra.sim.stats["rate_limited"] > 0, outputs  # each believed it had the whole budget


def test_an_unreachable_budget_database_is_named_without_its_password(tmp_path):
    from centra_sim.process import free_port

    url = f"postgresql://centra:{PASSWORD}@127.0.0.1:{free_port()}/budget"
    with pytest.raises(RateBudgetUnavailable) as raised:
        Pacer(PostgresBudget(url, redacted(url)), budget="https://store.example/graphql")
    seen = [raised.value, raised.value.__cause__, raised.value.__context__]
    assert "127.0.0.1" in str(raised.value) and "***" in str(raised.value)
    assert not any(PASSWORD in f"{e} {e!r}" for e in seen if e is not None)


def test_a_long_running_process_charges_the_budget_again_after_postgresql_restarts(postgres_server, monkeypatch):
    """A restart ends every session pooled in the process (a code server, a run's executor): the next charges
    take live connections and go on, none fails with a raw `AdminShutdown`. Without a ping before every
    transaction (a round trip more on each charge): the transaction's BEGIN finds the dead connection, and it
    begins once more on a new one."""
    import psycopg

    url = postgres_server.new_database()
    pacer = Pacer(PostgresBudget(url, redacted(url)), budget="https://store.example/graphql")
    limits = [{"type": "REQUEST_COUNT", "intervalSeconds": "TEN_SECONDS", "quota": 1000, "remainingQuota": 1000}]
    pacer.configure(limits)
    pacer.acquire(requests=1)
    sent = []  # what the pool's connections send of their own, beside the transactions' statements
    execute = psycopg.Connection.execute
    monkeypatch.setattr(
        psycopg.Connection, "execute", lambda con, q, *a, **k: sent.append(q) or execute(con, q, *a, **k)
    )
    postgres_server.restart()
    for _ in range(3):  # each would have taken a dead connection from the pool
        assert pacer.acquire(requests=1) == 0.0
    pacer.configure(limits)
    assert "" not in sent, "a ping before a transaction"


if __name__ == "__main__":
    _hammer(sys.argv[1], Path(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "")


def test_a_sync_spending_the_whole_budget_draws_no_429_from_centra(make_centra, tmp_path):
    """The pacer's picture of the budget stays Centra's own when it spends all of it (share 1.0, the tightest
    case: no reserve to hide an error in). A page's complexity is settled after its answer; settled on a bucket
    not brought up to date, the refill of the time it sat full was counted again, the pacer stayed about half a
    page ahead of Centra and drew a 429 every second or two (5 to 15 in two days of this size)."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from centra_assets.defs.raw.sync import sync_partition
    from centra_assets.entities import BY_NAME

    from ..helpers import resource_for, settings_for, sim_day

    centra = make_centra(days=3, orders_per_day=2000, rate_limits=True, plan="growth", time_scale=2.0)
    settings = settings_for(tmp_path)
    resource = resource_for(centra, settings, rate_share=1.0, rate_window_scale=2.0)
    client = resource.client(settings.stores[0])
    try:
        for n in (2, 1):
            day = dt.date.fromisoformat(sim_day(centra, n))
            audit = {"_store": "default", "_source": "centra"}
            sync_partition(client, BY_NAME["orders"], str(tmp_path / "wh"), day, ZoneInfo("UTC"), audit, 4)
    finally:
        client.close()
    assert client.stats.waited_seconds > 0  # the budget was the limit: the pacer waited for it
    assert centra.sim.stats["rate_limited"] <= 1  # Centra hardly ever had to refuse a request


def test_a_new_run_charges_its_first_request_what_an_earlier_run_learned(make_centra, tmp_path):
    """Every run is a process of its own whose client has learnt no query's complexity: its first request of a kind
    was charged nothing until the answer said what it cost. Runs starting together (a backfill's, refreshes) each
    spent a page the shared budget never counted, beyond the reserve kept for the store's other integrations (the
    PostgreSQL test above met a 429 that way now and then). Learnt costs are kept with the budget, and a new run's
    first request is charged what an earlier run learnt. Share 1.0: no reserve to hide an uncounted page in."""
    from centra_assets.entities import BY_NAME
    from centra_assets.entities.query import default_query

    centra = make_centra(orders_per_day=400, rate_limits=True, plan="growth", time_scale=HAMMER_SCALE)
    query = default_query(BY_NAME["orders"])

    def run() -> CentraClient:  # a run's client, sharing the budget's file
        pacer = Pacer(tmp_path / "budget.sqlite", share=1.0, window_scale=HAMMER_SCALE, budget=centra.graphql_url)
        return CentraClient(centra.graphql_url, "test-token-full", pacer=pacer, backoff_base=0.01)

    first, second = run(), run()
    try:
        for page in range(1, 12):  # more than a window's complexity: the last pages wait for the budget
            first.execute(query, {"where": {}, "limit": 200, "page": page})
        assert first.stats.waited_seconds > 0
        second.execute(query, {"where": {}, "limit": 200, "page": 12})  # its first page, the budget spent
    finally:
        first.close()
        second.close()
    assert centra.sim.stats["rate_limited"] == 0
    assert second.stats.waited_seconds > 0  # charged before it was sent, it waited for the budget
