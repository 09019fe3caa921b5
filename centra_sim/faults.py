"""Faults on demand, switchable mid-run through ``POST /admin/faults`` so a test can turn them on and off."""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field, fields


@dataclass
class Faults:
    latency_ms: float = 0.0  # added to every GraphQL response
    error_rate: float = 0.0  # share of requests answered 502/503 with a JSON error
    rate_limit_rate: float = 0.0  # share answered 429 whatever the budget (a "429 storm")
    reset_rate: float = 0.0  # share whose connection is cut mid-response
    slow_rate: float = 0.0  # share held for slow_seconds before answering (beyond a client's timeout)
    slow_seconds: float = 30.0
    html_error_rate: float = 0.0  # share answered 502 with an HTML page, as a proxy in front of Centra would
    internal_error_rate: float = 0.0  # share answered 200 with partial data and an internal error (internal_error)
    webhook_drop_rate: float = 0.0  # share of webhook calls never sent
    seed: int = 0
    _rng: random.Random = field(default=None, repr=False, compare=False)  # type: ignore[assignment]
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    fired: Counter = field(default_factory=Counter, repr=False, compare=False)  # how often each fault struck

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def update(self, values: dict) -> None:
        known = {f.name for f in fields(self) if not f.name.startswith("_")}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown fault setting(s): {sorted(unknown)}; known: {sorted(known)}")
        for key, value in values.items():
            setattr(self, key, float(value) if key != "seed" else int(value))
        if "seed" in values:
            self._rng = random.Random(self.seed)

    def draw(self, name: str) -> bool:
        rate = getattr(self, name)
        if rate <= 0:
            return False
        with self._lock:
            hit = self._rng.random() < rate
            if hit:
                self.fired[name] += 1
            return hit

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_") and f.name != "fired"}


def internal_error(answer: dict) -> dict:
    """`answer` as graphql-php gives it when a resolver throws: HTTP 200, the failing field null and the rest of
    `data` kept, and an error that hides the cause ("Internal server error", category "internal")."""
    data = dict(answer.get("data") or {})
    failed = next(iter(data), None)
    if failed is not None:
        data[failed] = None
    error = {"message": "Internal server error", "extensions": {"category": "internal"}, "path": [failed]}
    return {**answer, "data": data, "errors": [error, *answer.get("errors", [])]}
