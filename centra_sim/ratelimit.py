"""Centra's six token buckets: requests, complexity and mutations, each over 10 s and 1 h.

The buckets belong to the Centra environment, not to a token: every integration of the store shares
them (docs/centra-facts.md §3). ``time_scale`` shortens the windows so tests run in seconds.
"""

from __future__ import annotations

import math
import threading
import time

INTERVALS = {"TEN_SECONDS": 10.0, "ONE_HOUR": 3600.0}
UNLIMITED = 2**31 - 1  # what `rateLimits` reports with the limiter off
# plan -> bucket type -> (quota per 10 s, quota per hour)
PLANS = {
    "growth": {"REQUEST_COUNT": (60, 5_000), "MUTATION_COUNT": (20, 1_800), "QUERY_COMPLEXITY": (250_000, 30_000_000)},
    "enhanced": {
        "REQUEST_COUNT": (150, 20_000),
        "MUTATION_COUNT": (50, 4_500),
        "QUERY_COMPLEXITY": (900_000, 90_000_000),
    },
    "high-volume": {
        "REQUEST_COUNT": (450, 40_000),
        "MUTATION_COUNT": (150, 7_000),
        "QUERY_COMPLEXITY": (1_800_000, 180_000_000),
    },
    "enterprise": {
        "REQUEST_COUNT": (1_500, 85_000),
        "MUTATION_COUNT": (500, 25_000),
        "QUERY_COMPLEXITY": (4_000_000, 400_000_000),
    },
}


class _Bucket:
    def __init__(self, quota: int, seconds: float):
        self.quota = quota
        self.rate = quota / seconds  # tokens refilled per real second
        self.tokens = float(quota)

    def refill(self, elapsed: float) -> None:
        self.tokens = min(self.quota, self.tokens + elapsed * self.rate)

    def wait_for(self, cost: float) -> float:
        """Seconds until `cost` tokens are there (inf if it can never fit)."""
        if cost <= self.tokens:
            return 0.0
        return math.inf if cost > self.quota else (cost - self.tokens) / self.rate


class RateLimiter:
    def __init__(self, plan: str = "growth", time_scale: float = 1.0, enabled: bool = True):
        self.plan, self.enabled = plan, enabled
        self._lock = threading.Lock()
        self._last = time.monotonic()
        self.buckets = {
            (kind, interval): _Bucket(quotas[i], seconds / time_scale)
            for kind, quotas in PLANS[plan].items()
            for i, (interval, seconds) in enumerate(INTERVALS.items())
        }

    def charge(self, complexity: int, mutations: int) -> float:
        """Take one request's cost from every bucket; returns 0 if it fits, else seconds to wait (nothing taken)."""
        if not self.enabled:
            return 0.0
        cost = {"REQUEST_COUNT": 1, "QUERY_COMPLEXITY": complexity, "MUTATION_COUNT": mutations}
        with self._lock:
            now = time.monotonic()
            for bucket in self.buckets.values():
                bucket.refill(now - self._last)
            self._last = now
            wait = max(b.wait_for(cost[kind]) for (kind, _), b in self.buckets.items())
            if wait > 0:
                return wait
            for (kind, _), bucket in self.buckets.items():
                bucket.tokens -= cost[kind]
            return 0.0

    def snapshot(self) -> list[dict]:
        if not self.enabled:  # --no-rate-limits: report a budget no client needs to pace for
            return [
                {
                    "type": kind,
                    "intervalSeconds": interval,
                    "quota": UNLIMITED,
                    "usedQuota": 0,
                    "remainingQuota": UNLIMITED,
                }
                for kind, interval in self.buckets
            ]
        with self._lock:
            now = time.monotonic()
            for bucket in self.buckets.values():
                bucket.refill(now - self._last)
            self._last = now
            return [
                {
                    "type": kind,
                    "intervalSeconds": interval,
                    "quota": b.quota,
                    "usedQuota": b.quota - int(b.tokens),
                    "remainingQuota": int(b.tokens),
                }
                for (kind, interval), b in self.buckets.items()
            ]
