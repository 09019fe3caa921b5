"""Centra's webhook signature: ``X-Centra-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``.

The HMAC covers the raw (URL-encoded) body exactly as received, not the decoded JSON (docs/centra-facts.md §8).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

DEFAULT_TOLERANCE = 300.0  # seconds; Centra leaves the tolerance to the receiver


class SignatureError(ValueError):
    """The request is not provably from Centra; the message is safe to log (no secret, no signature)."""


@dataclass(frozen=True)
class Signature:
    timestamp: int
    v1: str  # the hex digest that matched


def parse(header: str | None) -> tuple[int, list[str]]:
    if not header:
        raise SignatureError("no X-Centra-Signature header")
    timestamp, digests = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            digests.append(value.lower())
    if timestamp is None or not digests:
        raise SignatureError("malformed X-Centra-Signature header (expected t=<unix>,v1=<hex>)")
    return timestamp, digests


def verify(
    secret: str, header: str | None, body: bytes, tolerance: float = DEFAULT_TOLERANCE, now: float | None = None
) -> Signature:
    """The matching signature, or SignatureError. Compares in constant time; checks the timestamp's age."""
    timestamp, digests = parse(header)
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    match = next((d for d in digests if hmac.compare_digest(d, expected)), None)
    if match is None:
        raise SignatureError("signature does not match the body (wrong endpoint secret, or a forged request)")
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        raise SignatureError(f"signature timestamp is {now - timestamp:+.0f} s from now, outside ±{tolerance:.0f} s")
    return Signature(timestamp, match)


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """A header value as Centra sends it (tests, tools)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"
