"""Faults on demand, switchable mid-run through ``POST /admin/faults`` so a test can turn them on and off."""

from __future__ import annotations

import json
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
    # share answered hold_seconds late: computed when asked, then held (a slow network), so the answer shows Centra
    # as it was before whatever changed meanwhile (two syncs of one day read Centra in one order, finish in another)
    hold_rate: float = 0.0
    hold_seconds: float = 5.0
    hold_root: str = ""  # only answers to queries of this root field (orders): "" holds any
    html_error_rate: float = 0.0  # share answered 502 with an HTML page, as a proxy in front of Centra would
    internal_error_rate: float = 0.0  # share answered 200 with partial data and an internal error (internal_error)
    webhook_drop_rate: float = 0.0  # share of webhook calls never sent
    # A JSON number served as every order's grandTotal.value, verbatim: "NaN", "Infinity" or "1e309" is money
    # no store holds (Python's JSON reader, and so the gql client, reads them as floats); "" serves the truth.
    money_literal: str = ""
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
            if key == "money_literal" and value and not isinstance(json.loads(value), float):
                raise ValueError(f"money_literal {value!r} is not a JSON number such as NaN, Infinity or 1e309")
            setattr(self, key, type(getattr(self, key))(value))
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


MONEY_MARK = "__money_literal__"


def impossible_money(answer: dict) -> dict:
    """`answer` with every order's grand total marked, for `serve_money` to write as the raw literal (orjson would
    write NaN as null, and refuses to write a number it cannot hold)."""

    def mark(node):
        if isinstance(node, list):
            return [mark(value) for value in node]
        if not isinstance(node, dict):
            return node
        out = {key: mark(value) for key, value in node.items()}  # a copy: the simulator's records stay true
        if isinstance(out.get("grandTotal"), dict) and "value" in out["grandTotal"]:
            out["grandTotal"] = {**out["grandTotal"], "value": MONEY_MARK}
        return out

    return mark(answer)


def serve_money(body: bytes, literal: str) -> bytes:
    return body.replace(f'"{MONEY_MARK}"'.encode(), literal.encode())
