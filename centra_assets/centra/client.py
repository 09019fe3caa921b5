"""The Centra GraphQL client: gql over HTTP, paced, retried, with errors that say what to do.

What is retried: 5xx answers, timeouts, connection resets and refusals, non-JSON error pages (as a
proxy in front of Centra returns), and a 200 answer whose every error is transient (graphql-php's "Internal
server error", category ``internal``, or a timeout or deadlock; its partial data is dropped), with
exponential backoff and full jitter; 429s wait as ``Retry-After`` says. What is not: a rejected token
(401/403), a missing permission, a query Centra refuses, a URL that is not a Centra GraphQL endpoint. Those
fail at once with a message naming the fix.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import random
import re
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

from gql import Client, GraphQLRequest, gql
from gql.transport.exceptions import (
    TransportConnectionFailed,
    TransportProtocolError,
    TransportQueryError,
    TransportServerError,
)
from gql.transport.requests import RequestsHTTPTransport
from graphql.language import OperationType

from .errors import (
    CentraAuthError,
    CentraConfigError,
    CentraError,
    CentraPermissionError,
    CentraQueryError,
    CentraUnavailable,
)
from .pacing import Pacer
from .schema import INTROSPECTION, SchemaCache, StoreSchema, is_introspection_refusal

log = logging.getLogger("centra_assets.centra")
PERMISSION_MESSAGE = re.compile(r"You need (?P<permission>\S+) permission to access (?P<field>[^.\s]+)")
# A GraphQL error that says Centra failed, not the query: graphql-php hides a resolver's exception behind
# "Internal server error" (category "internal"); a database timeout or deadlock may show through.
TRANSIENT_MESSAGE = re.compile(
    r"internal server error|timed out|timeout|deadlock|try again|temporarily unavailable|server has gone away",
    re.IGNORECASE,
)
RATE_LIMITS = "query RateLimits { rateLimits { type intervalSeconds quota usedQuota remainingQuota } }"


@dataclass
class Response:
    data: dict
    extensions: dict = field(default_factory=dict)

    @property
    def complexity(self) -> int:
        return int(self.extensions.get("complexity") or 0)


@dataclass
class Stats:
    """What a client did, for run metadata and benchmarks."""

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    complexity: int = 0
    waited_seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **kw) -> None:
        with self._lock:
            for key, value in kw.items():
                setattr(self, key, getattr(self, key) + value)


class _Transport(RequestsHTTPTransport):
    """gql's requests transport, keeping the HTTP status it otherwise drops when the body is GraphQL JSON."""

    last_status: int | None = None

    def _prepare_result(self, response):
        self.last_status = response.status_code
        self.response_headers = response.headers
        return super()._prepare_result(response)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header. Centra documents that it "points at a timestamp" but not the
    format (UNCONFIRMED): accept delta-seconds, a Unix timestamp and an HTTP-date."""
    if not value:
        return None
    now = time.time() if now is None else now
    try:
        number = float(value)
        return max(0.0, number - now) if number > 1e9 else max(0.0, number)
    except ValueError:
        try:
            return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - now)
        except (TypeError, ValueError):
            return None


def unreachable(url: str, exc: BaseException) -> str:
    """Which host could not be reached, and why, in a few words: the innermost cause of the transport's error
    (urllib3 wraps it in about 300 characters that repeat the host and the port)."""
    cause = exc
    while (inner := getattr(cause, "reason", None) or cause.__cause__ or _first_exception(cause.args)) is not None:
        if not isinstance(inner, BaseException) or inner is cause:
            break
        cause = inner
    text = str(cause)
    if isinstance(cause, socket.gaierror) or "Failed to resolve" in text or "Name or service not known" in text:
        why = "its name does not resolve (a typo in the host, or no DNS)"
    elif isinstance(cause, ConnectionRefusedError) or "Connection refused" in text:
        why = "nothing accepts connections on its port (connection refused)"
    elif isinstance(cause, TimeoutError) or "timed out" in text.lower():
        why = "it did not answer in time"
    else:
        why = text if len(text) <= 160 else text[:157] + "..."
    parts = urllib.parse.urlsplit(url)
    return f"could not reach {parts.hostname}:{parts.port or {'https': 443}.get(parts.scheme, 80)}: {why}"


def _first_exception(args: tuple) -> BaseException | None:
    return next((a for a in args if isinstance(a, BaseException)), None)


def is_transient(error: dict) -> bool:
    """Whether a GraphQL error is Centra failing (worth another try) rather than refusing the query."""
    category = (error.get("extensions") or {}).get("category")
    return category == "internal" or bool(TRANSIENT_MESSAGE.search(str(error.get("message", ""))))


class CentraClient:
    def __init__(
        self,
        url: str,
        token: str,
        *,
        pacer: Pacer | None = None,
        connect_timeout: float = 10,
        read_timeout: float = 60,
        max_attempts: int = 6,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        max_rate_limit_wait: float = 900.0,
        schema_cache_dir: str | None = None,
    ):
        if not token:
            raise CentraAuthError("CENTRA_API_TOKEN is empty")
        self.url, self._token = url, token
        self.pacer = pacer or Pacer()
        self.timeout = (connect_timeout, read_timeout)
        self.max_attempts, self.backoff_base, self.backoff_cap = max_attempts, backoff_base, backoff_cap
        self.max_rate_limit_wait = max_rate_limit_wait
        self.stats = Stats()
        self._local = threading.local()
        self._documents: dict[str, tuple[GraphQLRequest, int]] = {}
        self._complexity_seen: dict[str, float] = {}  # by kind of request: its query and page size, hashed
        self._probes: dict[str, threading.Lock] = {}
        self._configure_lock = threading.Lock()
        self._clients: list[Client] = []  # one per thread that has sent a request
        self._clients_lock = threading.Lock()
        self.app_version: str | None = None  # Centra's version, from the last answer's extensions
        self.schema_cache = SchemaCache(schema_cache_dir)
        self._store_schema: StoreSchema | None = None
        self._schema_lock = threading.Lock()

    # -- public ------------------------------------------------------------------------------------------
    def execute(self, query: str, variables: dict | None = None) -> Response:
        """Run one query, paced and retried; raises a CentraError subclass on what retrying cannot fix."""
        if not self.pacer.configured:
            self._configure_pacer()
        return self._execute(query, variables or {}, paced=True)

    def rate_limits(self) -> list[dict]:
        return self._execute(RATE_LIMITS, {}, paced=False).data["rateLimits"]

    def store_schema(self) -> StoreSchema:
        """The store's schema at its current Centra version: from the cache, else by introspection (once per
        version). A store that refuses introspection gets an empty one, filled from its validation errors."""
        with self._schema_lock:
            if self._store_schema is None:
                if self.app_version is None:
                    self.rate_limits()  # every answer names the version; this one costs no complexity
                version = self.app_version or "unknown"
                found = self.schema_cache.load(self.url, version)
                if found is None:
                    found = self._introspect(version)
                    self.schema_cache.save(self.url, found)
                self._store_schema = found
            return self._store_schema

    def remember_schema(self) -> None:
        """Keep what was learnt about the store's schema for later runs."""
        if self._store_schema is not None:
            self.schema_cache.save(self.url, self._store_schema)

    def _introspect(self, version: str) -> StoreSchema:
        try:
            data = self.execute(INTROSPECTION).data
        except CentraQueryError as exc:
            if not is_introspection_refusal(exc.errors):
                raise
            log.info("Centra at %s refuses introspection; its schema is learnt from validation errors", self.url)
            return StoreSchema(version)
        log.info("Introspected the schema of Centra %s at %s", version, self.url)
        return StoreSchema.from_introspection(version, data)

    def close(self) -> None:
        """Close every thread's connection (pages are fetched from several threads)."""
        with self._clients_lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.close_sync()
        self._local = threading.local()

    # -- internals ---------------------------------------------------------------------------------------
    def _configure_pacer(self) -> None:
        with self._configure_lock:
            if not self.pacer.configured:
                self.pacer.configure(self.rate_limits())

    def _session(self):
        session = getattr(self._local, "session", None)
        if session is None:
            transport = _Transport(
                url=self.url,
                headers={"Authorization": f"Bearer {self._token}"},
                timeout=self.timeout,
                retries=0,
                verify=True,
            )
            self._local.transport = transport
            self._local.client = Client(transport=transport, fetch_schema_from_transport=False)
            session = self._local.session = self._local.client.connect_sync()
            with self._clients_lock:
                self._clients.append(self._local.client)
        return session

    def _parsed(self, query: str) -> tuple[GraphQLRequest, int]:
        """The parsed document and how many mutations it holds, once per distinct query text."""
        found = self._documents.get(query)
        if found is None:
            parsed = gql(query)
            mutations = sum(
                getattr(d, "operation", None) == OperationType.MUTATION for d in parsed.document.definitions
            )
            found = self._documents[query] = (parsed, mutations)
        return found

    def _execute(self, query: str, variables: dict, paced: bool) -> Response:
        page = sorted((k, str(v)) for k, v in variables.items() if k in ("limit", "first"))
        cost_key = hashlib.sha1(json.dumps([query, page]).encode()).hexdigest()
        if paced and cost_key not in self._complexity_seen:
            # A query's complexity is charged before it is sent, from what it cost last time, in this process or
            # another sharing the budget (each run is a process of its own). A kind never sent is charged the
            # pacer's unknown_cost, and one request of it goes at a time until the first answer says what it
            # costs, so pages in flight together are never all charged a guess.
            with self._probes.setdefault(cost_key, threading.Lock()):
                if cost_key not in self._complexity_seen:
                    learnt = self.pacer.learnt(cost_key)
                    if learnt is None:
                        return self._send(query, variables, paced, cost_key, self.pacer.unknown_cost)
                    self._complexity_seen[cost_key] = learnt
        return self._send(query, variables, paced, cost_key)

    def _send(self, query: str, variables: dict, paced: bool, cost_key: str, guess: float = 0) -> Response:
        estimate = self._complexity_seen.get(cost_key, guess)
        parsed, mutations = self._parsed(query)
        attempt, rate_limited_for = 0, 0.0
        while True:
            attempt += 1
            if paced:
                self.stats.add(waited_seconds=self.pacer.acquire(requests=1, complexity=estimate, mutations=mutations))
            self.stats.add(requests=1)
            try:
                result = self._session().execute(
                    GraphQLRequest(parsed, variable_values=variables), get_execution_result=True
                )
                response = Response(result.data or {}, result.extensions or {})
                self.app_version = response.extensions.get("appVersion") or self.app_version
                if paced:
                    self.pacer.settle(response.complexity - estimate)
                    if self._complexity_seen.get(cost_key) != response.complexity:
                        self.pacer.learn(cost_key, response.complexity)
                self._complexity_seen[cost_key] = response.complexity
                self.stats.add(complexity=response.complexity)
                return response
            except TransportQueryError as exc:
                problem = self._classify_graphql_error(exc)
            except TransportServerError as exc:
                problem = self._classify_status(exc.code, f"HTTP {exc.code}")
            except TransportProtocolError:
                problem = ("retry", "the answer was not GraphQL JSON (an error page?)")
            except TransportConnectionFailed as exc:
                problem = ("retry", self._scrub(unreachable(self.url, exc)))
            if paced:
                self.pacer.settle(-estimate)  # the failed request's complexity was not spent
            kind, detail = problem
            if kind == "rate":
                wait = retry_after_seconds(self._header("Retry-After")) or 1.0
                rate_limited_for += wait
                self.stats.add(rate_limited=1)
                if rate_limited_for > self.max_rate_limit_wait:
                    raise CentraUnavailable(
                        f"Centra kept answering 429 (rate budget exhausted) for {rate_limited_for:.0f} s; other "
                        "integrations of the store may be using the whole budget. Try again later."
                    )
                log.warning("Centra rate budget exhausted (429); waiting %.1f s as Retry-After says", wait)
                self.pacer.pause_until(time.time() + wait)
                attempt -= 1  # waiting out the budget is not a failed attempt
                continue
            if kind == "retry" and attempt < self.max_attempts:
                delay = random.uniform(0, min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1)))
                log.warning(
                    "Centra request failed (%s); retry %d/%d in %.1f s", detail, attempt, self.max_attempts - 1, delay
                )
                self.stats.add(retries=1)
                time.sleep(delay)
                continue
            if kind == "retry":
                raise CentraUnavailable(
                    f"Centra at {self.url} did not answer after {attempt} attempts ({detail}). Check CENTRA_API_URL "
                    "(a wrong host never answers), the network, and Centra's status; a retry of the run helps only "
                    "if the outage was passing, and is safe."
                )
            raise detail  # a CentraError built by the classifier

    def _header(self, name: str) -> str | None:
        headers = getattr(getattr(self._local, "transport", None), "response_headers", None)
        return headers.get(name) if headers else None

    def _status(self) -> int | None:
        return getattr(getattr(self._local, "transport", None), "last_status", None)

    def _classify_status(self, status: int | None, detail: str) -> tuple[str, object]:
        if status in (401, 403):
            return "fail", CentraAuthError(f"HTTP {status}")
        if status == 429:
            return "rate", detail
        if status is not None and status >= 500:
            return "retry", detail
        if status in (404, 405):
            return "fail", CentraConfigError(
                f"{self.url} answered HTTP {status}: CENTRA_API_URL should be the store's GraphQL endpoint, "
                "e.g. https://<store>.centra.com/graphql"
            )
        return "fail", CentraConfigError(f"{self.url} answered {detail}; is CENTRA_API_URL a Centra GraphQL endpoint?")

    def _classify_graphql_error(self, exc: TransportQueryError) -> tuple[str, object]:
        errors = exc.errors or [{"message": str(exc)}]
        status = self._status()
        message = self._scrub("; ".join(str(e.get("message", e)) for e in errors))
        if status is not None and status != 200:
            kind, detail = self._classify_status(status, f"HTTP {status}: {message}")
            if isinstance(detail, CentraAuthError):
                return kind, CentraAuthError(message)
            return kind, detail
        self.app_version = (exc.extensions or {}).get("appVersion") or self.app_version
        missing: dict[str, str] = {}
        for error in errors:
            found = PERMISSION_MESSAGE.search(str(error.get("message", "")))
            category = (error.get("extensions") or {}).get("category")
            if category == "authentication":
                return "fail", CentraAuthError(message)
            if found:
                missing.setdefault(found["permission"], found["field"])
            elif category == "authorization":
                missing.setdefault("(not named by Centra)", ".".join(map(str, error.get("path") or [])))
        if missing:
            used = list((exc.extensions or {}).get("permissionsUsed") or [])
            return "fail", CentraPermissionError(missing, message, used, errors)
        if all(is_transient(e) for e in errors):
            return "retry", f"Centra failed while answering: {message}"
        return "fail", CentraQueryError(f"Centra refused the query: {message}", errors)

    def _scrub(self, text: str) -> str:
        # tokens are long random strings; a very short "token" would blank out ordinary words instead
        return text.replace(self._token, "***") if len(self._token) >= 8 else text


__all__ = ["CentraClient", "CentraError", "Response", "retry_after_seconds"]
