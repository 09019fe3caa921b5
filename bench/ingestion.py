"""Ingestion benchmarks: backfill throughput against the rate-limit ceiling, and memory by partition size."""

from __future__ import annotations

import datetime as dt
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from centra_assets.entities import BY_NAME
from centra_assets.entities.query import default_query
from centra_sim.process import SimulatorProcess
from centra_sim.ratelimit import INTERVALS, PLANS

TOKEN = "bench-token"
TZ = "Europe/Stockholm"
SCALE = 10.0  # the simulator's rate-limit windows are 10x shorter; every limit keeps its proportions
DAYS, PER_DAY = 10, 10_000  # a 100k-order backfill
ORDERS = BY_NAME["orders"]


def _days() -> list[str]:
    today = dt.datetime.now(ZoneInfo(TZ)).date()
    return [(today - dt.timedelta(days=n)).isoformat() for n in range(DAYS, 0, -1)]


def _simulator(*extra: str) -> SimulatorProcess:
    return SimulatorProcess(
        "--days",
        str(DAYS + 1),
        "--orders-per-day",
        str(PER_DAY),
        "--timezone",
        TZ,
        "--plan",
        "growth",
        "--time-scale",
        str(SCALE),
        "--latency-ms",
        "100",
        *extra,
        token=TOKEN,
    )


def _ceiling(spent: dict[str, float], orders: int, seconds: float) -> float:
    """Orders the Growth plan allows in `seconds`, at the measured cost per order (full buckets at the start)."""
    allowed = []
    for kind in ("REQUEST_COUNT", "QUERY_COMPLEXITY"):
        per_order = spent[kind] / orders
        for i, interval in enumerate(INTERVALS.values()):
            quota = PLANS["growth"][kind][i]
            allowed.append((quota + quota / (interval / SCALE) * seconds) / per_order)
    return min(allowed)


def _spent(sim: SimulatorProcess) -> dict[str, float]:
    stats = httpx.get(f"{sim.url}/admin/info", timeout=30).json()["stats"]
    return {
        "REQUEST_COUNT": stats.get("requests", 0) - stats.get("rate_limited", 0),
        "QUERY_COMPLEXITY": stats.get("complexity", 0),
        "rate_limited": stats.get("rate_limited", 0),
    }


def _warm(sim: SimulatorProcess) -> None:
    """Generate the days once, outside the timing (admin endpoint: no rate budget spent)."""
    httpx.get(f"{sim.url}/admin/ground-truth/orders", timeout=600)


PIPELINE = textwrap.dedent("""
    import sys, time, dagster as dg
    from centra_assets.defs import build_definitions
    from centra_assets.defs.resources import CentraResource
    from centra_assets.settings import Settings
    from centra_assets.warehouse import files, layout
    url, token, root, state, scale, first, last = sys.argv[1:8]
    settings = Settings(warehouse_dir=root, timezone="Europe/Stockholm", start_date="2020-01-01", state_dir=state)
    asset = next(a for a in build_definitions(settings).assets if a.op.name == "centra_orders")
    resource = CentraResource(api_url=url, api_token=token, pacer_path=state + "/budget.sqlite", rate_share=1.0,
                              rate_window_scale=float(scale), concurrency=4)
    started = time.monotonic()
    result = dg.materialize([asset], resources={"centra": resource}, instance=dg.DagsterInstance.ephemeral(),
                            tags={"dagster/asset_partition_range_start": first,
                                  "dagster/asset_partition_range_end": last})
    seconds = time.monotonic() - started
    paths = layout.raw_files(root, "orders")
    rows = files.connect(root).execute(f"SELECT count(*) FROM read_parquet('{paths}')").fetchone()[0]
    peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
    print("RESULT", int(result.success), rows, seconds, peak / 1024)
""")


def _run_pipeline(
    url: str, root: str, scale: float, first: str, last: str, state: str | None = None
) -> tuple[bool, int, float, float]:
    """One Dagster run of the orders asset over a range of days, in a process of its own."""
    out = subprocess.run(
        [sys.executable, "-c", PIPELINE, url, TOKEN, root, state or root, str(scale), first, last],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    line = next((x for x in out.stdout.splitlines() if x.startswith("RESULT")), None)
    if line is None:
        raise RuntimeError(f"the pipeline run failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    _, ok, rows, seconds, peak = line.split()
    return ok == "1", int(rows), float(seconds), float(peak)


def _naive(sim: SimulatorProcess) -> tuple[int, float]:
    """What a first integration does: one request after another, waiting out 429s, no pacing, no concurrency."""
    orders, started = 0, time.monotonic()
    with httpx.Client(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120) as http:
        for day in _days():
            start = dt.datetime.fromisoformat(day).replace(tzinfo=ZoneInfo(TZ))
            where = {
                "createdAt": {"from": start.isoformat(), "to": (start + dt.timedelta(days=1, seconds=-1)).isoformat()}
            }
            page = 1
            while True:
                response = http.post(
                    sim.graphql_url,
                    json={"query": default_query(ORDERS), "variables": {"where": where, "limit": 200, "page": page}},
                )
                if response.status_code == 429:
                    time.sleep(max(0.0, float(response.headers["Retry-After"]) - time.time()))
                    continue
                batch = response.json()["data"]["orders"]
                orders += len(batch)
                if len(batch) < 200:
                    break
                page += 1
    return orders, time.monotonic() - started


def backfill_throughput() -> list[dict]:
    days = _days()
    with tempfile.TemporaryDirectory() as root, _simulator() as sim:
        _warm(sim)
        ok, orders, seconds, _ = _run_pipeline(sim.graphql_url, root, SCALE, days[0], days[-1])
        spent = _spent(sim)
    ceiling = _ceiling(spent, orders, seconds)
    with _simulator() as sim:
        _warm(sim)
        naive_orders, naive_seconds = _naive(sim)
        naive_spent = _spent(sim)
    naive_ceiling = _ceiling(naive_spent, naive_orders, naive_seconds)
    note = f"Growth plan, +100 ms latency, windows /{SCALE:g}; {orders:,} orders in {seconds:.0f} s"
    return [
        {
            "suite": "ingestion",
            "metric": "backfill orders/s (pipeline, 100k orders)",
            "value": round(orders / seconds),
            "baseline": round(ceiling / seconds),
            "ratio": round(orders / ceiling, 2),
            "target": "ratio >= 0.9 of the ceiling, no failed run",
            "note": f"{note}; run ok: {ok}; 429 answers: {spent['rate_limited']}",
        },
        {
            "suite": "ingestion",
            "metric": "429 answers in the 100k-order backfill (pipeline; baseline: the naive client)",
            "value": (refused := spent["rate_limited"]),
            "baseline": (naive_refused := naive_spent["rate_limited"]),
            "ratio": round(refused / naive_refused, 2) if naive_refused else 0,
            "target": "<= 5: pacing keeps a 429 rare enough to count on one hand per day",
            "note": "the pacer spends the whole budget here (rate_share 1.0): no reserve hides its errors",
        },
        {
            "suite": "ingestion",
            "metric": "backfill orders/s (naive sequential client)",
            "value": round(naive_orders / naive_seconds),
            "baseline": round(naive_ceiling / naive_seconds),
            "ratio": round(naive_orders / naive_ceiling, 2),
            "target": "-",
            "note": f"same simulator settings; {naive_orders:,} orders in {naive_seconds:.0f} s; "
            f"429 answers: {naive_spent['rate_limited']}",
        },
    ]


def partition_memory() -> list[dict]:
    rows, base = [], None
    for per_day in (10_000, 100_000):
        with (
            tempfile.TemporaryDirectory() as root,
            SimulatorProcess(
                "--days", "2", "--orders-per-day", str(per_day), "--timezone", TZ, "--no-rate-limits", token=TOKEN
            ) as sim,
        ):
            _warm(sim)
            day = (dt.datetime.now(ZoneInfo(TZ)).date() - dt.timedelta(days=1)).isoformat()
            ok, orders, seconds, peak = _run_pipeline(sim.graphql_url, root, 1.0, day, day)
            size = sum(f.stat().st_size for f in Path(root).rglob("*.parquet")) / 2**20
        base = base or peak
        rows.append(
            {
                "suite": "ingestion",
                "metric": f"peak memory materializing a {orders:,}-order day (MB)",
                "value": round(peak),
                "baseline": round(base),
                "ratio": round(peak / base, 2),
                "target": "ratio <= 1.5 (100k vs 10k)",
                "note": f"{seconds:.0f} s, {size:.1f} MB of Parquet; whole process incl. Dagster; ok: {ok}",
            }
        )
    return rows


def object_storage_throughput() -> list[dict]:
    """The same sync into a local folder and into S3 (moto's S3 server on 127.0.0.1), alternating rounds."""
    from centra_sim.testing.services import S3

    days, rounds = _days()[-5:], 3
    results: dict[str, list[tuple[int, float]]] = {"local": [], "s3": []}
    s3 = S3()
    try:
        with SimulatorProcess(
            "--days", str(DAYS + 1), "--orders-per-day", "4000", "--timezone", TZ, "--no-rate-limits", token=TOKEN
        ) as sim:
            _warm(sim)
            for i in range(rounds):
                for where in ("local", "s3"):
                    with tempfile.TemporaryDirectory() as tmp:
                        root = s3.url(f"bench-{i}") if where == "s3" else tmp
                        ok, orders, seconds, _ = _run_pipeline(sim.graphql_url, root, 1.0, days[0], days[-1], tmp)
                        if not ok:
                            raise RuntimeError(f"the {where} sync failed")
                        results[where].append((orders, seconds))
    finally:
        s3.stop()
    rate = {where: statistics.median(o / s for o, s in runs) for where, runs in results.items()}
    orders = results["s3"][0][0]
    return [
        {
            "suite": "ingestion",
            "metric": "sync orders/s, warehouse on S3 (moto)",
            "value": round(rate["s3"]),
            "baseline": round(rate["local"]),
            "ratio": round(rate["s3"] / rate["local"], 2),
            "target": "baseline: the same run into a local folder",
            "note": f"{orders:,} orders with lines, discounts, payments over {len(days)} days in one ranged run; "
            f"no rate limits; medians of {rounds} alternating rounds; moto's S3 server on 127.0.0.1",
        }
    ]


def schema_first_run() -> list[dict]:
    """A day's orders run on a store seen for the first time (the schema learnt: introspection, or validation
    errors where introspection is refused) against the same run with the store's schema cached, alternating."""
    rounds, per_day, rows = 5, 3000, []
    day = _days()[-1]
    for label, extra in (
        ("introspection", ()),
        ("introspection refused, alternative names", ("--schema-variant", "alternative-names", "--no-introspection")),
    ):
        seconds: dict[str, list[float]] = {"cold": [], "warm": []}
        with (
            tempfile.TemporaryDirectory() as warm_state,
            SimulatorProcess(
                "--days",
                "3",
                "--orders-per-day",
                str(per_day),
                "--timezone",
                TZ,
                "--no-rate-limits",
                "--latency-ms",
                "100",
                *extra,
                token=TOKEN,
            ) as sim,
        ):
            _warm(sim)
            with tempfile.TemporaryDirectory() as root:
                _run_pipeline(sim.graphql_url, root, 1.0, day, day, warm_state)  # fills the warm cache
            for _ in range(rounds):
                for mode in ("cold", "warm"):
                    with tempfile.TemporaryDirectory() as root, tempfile.TemporaryDirectory() as cold_state:
                        state = cold_state if mode == "cold" else warm_state
                        ok, orders, took, _ = _run_pipeline(sim.graphql_url, root, 1.0, day, day, state)
                        if not ok:
                            raise RuntimeError(f"the {label} {mode} run failed")
                        seconds[mode].append(took)
        cold, warm = statistics.median(seconds["cold"]), statistics.median(seconds["warm"])
        rows.append(
            {
                "suite": "ingestion",
                "metric": f"first run of a day on a new store, s ({label})",
                "value": round(cold, 2),
                "baseline": round(warm, 2),
                "ratio": round(cold / warm, 3),
                "target": "ratio <= 1.05 (baseline: the same run with the store's schema cached)",
                "note": f"{orders:,} orders, +100 ms latency, no rate limits; medians of {rounds} alternating rounds",
            }
        )
    return rows
