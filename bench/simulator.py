"""Simulator benchmarks: latency of a page of 200 orders with lines, and start-up time and memory by size."""

from __future__ import annotations

import statistics
import time

import httpx
from graphql import execute, parse

from centra_sim.process import SimulatorProcess

TOKEN = "bench-token"
PAGE = """query($p: Int!) { orders(limit: 200, page: $p, where: {storeType: DIRECT_TO_CONSUMER}) {
  id number status createdAt updatedAt orderDate currencyBaseRate
  store { id type } market { id name } pricelist { id }
  grandTotal { value currency { code } conversionRate }
  totals { quantity lineValues { value } discounts { value } shipping { value } taxIncluded { value } }
  discountsApplied { value { value } ... on AppliedVoucher { voucher { code } } }
  paymentHistory { id entryType status createdAt value { value } }
  lines(includeFullyCancelled: true) { id productName size quantity cancelledQuantity taxPercent discountPercent
    unitPrice { value } unitOriginalPrice { value } lineValue { value }
    product { id } productVariant { id } productSize { id SKU EAN } }
  ... on DirectToConsumerOrder { customer { id email } } } }"""


class SimProcess(SimulatorProcess):
    """The simulator pinned to one core, with a keep-alive client for timing requests."""

    def __init__(self, *args: str):
        super().__init__("--no-rate-limits", *args, token=TOKEN, one_core=True)
        self.client = httpx.Client(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=600)

    def graphql(self, query: str, variables: dict | None = None) -> httpx.Response:
        """One request, answered in full (the body is read; parsing it is the caller's cost, not Centra's)."""
        response = self.client.post(self.graphql_url, json={"query": query, "variables": variables or {}})
        response.raise_for_status()
        return response


def page_latency() -> list[dict]:
    with SimProcess("--days", "10", "--orders-per-day", "2000", "--seed", "1") as sim:
        for p in (1, 2):  # warm the day caches and the parsed-document cache
            sim.graphql(PAGE, {"p": p})
        samples = []
        for p in range(1, 41):
            started = time.perf_counter()
            body = sim.graphql(PAGE, {"p": p % 20 + 1})
            samples.append((time.perf_counter() - started) * 1000)
        lines = sum(len(o["lines"]) for o in body.json()["data"]["orders"])
    # baseline in the same run: graphql-core's reference executor on the same query and data, in-process
    from centra_sim.api.permissions import ALL_PERMISSIONS
    from centra_sim.api.schema import reference_schema
    from centra_sim.backend import Context, Simulator, Token

    local = Simulator(seed=1, days=10, orders_per_day=2000, rate_limits=False)
    schema, doc = reference_schema(local.schema, local.resolvers), parse(PAGE)
    ctx = Context(local, local.clock.now(), Token("t", ALL_PERMISSIONS))
    ref, fast = [], []
    for p in range(1, 11):
        started = time.perf_counter()
        execute(schema, doc, context_value=ctx, variable_values={"p": p})
        ref.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        local.executor.execute(doc, doc.definitions[0], {"p": p}, ctx)
        fast.append((time.perf_counter() - started) * 1000)
    p50, p95 = statistics.median(samples), statistics.quantiles(samples, n=20)[18]
    return [
        {
            "suite": "simulator",
            "metric": "page of 200 orders over HTTP, p50 (ms)",
            "value": round(p50, 1),
            "baseline": 50.0,
            "ratio": round(p50 / 50.0, 2),
            "target": "ratio <= 1 (50 ms, one core)",
            "note": f"{lines} lines on the last page; simulator pinned to one core",
        },
        {
            "suite": "simulator",
            "metric": "page of 200 orders over HTTP, p95 (ms)",
            "value": round(p95, 1),
            "baseline": 50.0,
            "ratio": round(p95 / 50.0, 2),
            "target": "-",
            "note": "",
        },
        {
            "suite": "simulator",
            "metric": "executor only, median (ms)",
            "value": round(statistics.median(fast), 1),
            "baseline": round(statistics.median(ref), 1),
            "ratio": round(statistics.median(fast) / statistics.median(ref), 2),
            "target": "-",
            "note": "baseline: graphql-core's reference execute, same query and data",
        },
    ]


def startup_and_memory() -> list[dict]:
    rows, base = [], None
    for total in (10_000, 100_000, 1_000_000):
        per_day = total // 100
        with SimProcess("--days", "100", "--orders-per-day", str(per_day), "--seed", "1") as sim:
            ready = sim.startup_seconds
            started = time.perf_counter()
            sim.graphql(PAGE, {"p": 1})  # a page of today's orders
            first_page = time.perf_counter() - started
            rss_ready = sim.rss_mb()
            started = time.perf_counter()
            info = sim.client.get(f"{sim.url}/admin/ground-truth/orders").json()  # touches every order
            scan = time.perf_counter() - started
            peak = sim.rss_mb("VmHWM")
        row = {
            "orders": len(info["rows"]),
            "ready_s": ready,
            "first_page_s": first_page,
            "rss_mb": rss_ready,
            "scan_s": scan,
            "peak_mb": peak,
        }
        base = base or row
        rows.append(
            {
                "suite": "simulator",
                "metric": f"start-up to first answer, {total:,} orders (s)",
                "value": round(ready, 2),
                "baseline": round(base["ready_s"], 2),
                "ratio": round(ready / base["ready_s"], 2),
                "target": "flat in size",
                "note": f"first page {first_page * 1000:.0f} ms; RSS {rss_ready:.0f} MB after it",
            }
        )
        rows.append(
            {
                "suite": "simulator",
                "metric": f"peak memory after reading all {row['orders']:,} orders (MB)",
                "value": round(peak),
                "baseline": round(base["peak_mb"]),
                "ratio": round(peak / base["peak_mb"], 2),
                "target": "bounded (lazy days)",
                "note": f"full scan took {scan:.1f} s",
            }
        )
    return rows
