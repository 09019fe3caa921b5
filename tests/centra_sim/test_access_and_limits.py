"""Auth, permissions, complexity, the shared rate budget and injected faults behave as Centra documents."""

from __future__ import annotations

import time

import httpx
import pytest
from gql.transport.exceptions import TransportQueryError

from centra_sim.api.complexity import TYPICAL_LIST_SIZE
from centra_sim.api.permissions import ALL_PERMISSIONS
from centra_sim.ratelimit import RateLimiter

ORDERS = {"query": "{ orders(limit: 1) { number } }"}


def test_bearer_header_and_graphql_access_cookie_both_authenticate(centra):
    assert centra.post(ORDERS).status_code == 200
    cookie = httpx.post(centra.graphql_url, json=ORDERS, cookies={"graphql-access": "test-token-full"})
    assert cookie.status_code == 200 and cookie.json()["data"]["orders"]


@pytest.mark.parametrize("token, message", [(None, "Missing access token"), ("nope", "Invalid access token")])
def test_missing_or_unknown_token_is_rejected_with_401(centra, token, message):
    response = centra.post(ORDERS, token=token)
    assert response.status_code == 401
    error = response.json()["errors"][0]
    assert error["message"].startswith(message) and error["extensions"]["category"] == "authentication"


def test_expired_token_is_rejected_and_says_so(centra):
    centra.admin("tokens", {"token": "short-lived", "expiresIn": 60})
    assert centra.post(ORDERS, token="short-lived").status_code == 200
    centra.admin("tokens", {"token": "short-lived", "expiresAt": time.time()})  # its time is up now
    response = centra.post(ORDERS, token="short-lived")
    assert response.status_code == 401 and "expired" in response.json()["errors"][0]["message"]


def test_missing_permission_gives_centras_documented_error(centra):
    centra.admin("tokens", {"token": "no-orders", "permissions": ["Product:read"]})
    body = centra.post({"query": "{ orderConnection(first: 1) { totalCount } }"}, token="no-orders").json()
    assert body["errors"][0]["message"] == "You need Order:read permission to access orderConnection."
    assert body["errors"][0]["extensions"] == {"category": "authorization"}
    assert body["errors"][0]["path"] == ["orderConnection"]
    assert body["extensions"]["permissionsUsed"] == ["Order:read"]  # lists what would have been used


def test_missing_nested_permission_nulls_only_that_field(centra):
    centra.admin("tokens", {"token": "no-address", "permissions": ["Order:read"]})
    body = centra.post({"query": "{ orders(limit: 2) { number shippingAddress { city } } }"}, token="no-address").json()
    assert [o["shippingAddress"] for o in body["data"]["orders"]] == [None, None]
    assert all(o["number"] for o in body["data"]["orders"])
    assert {e["message"] for e in body["errors"]} == {
        "You need Order.shippingAddress:read permission to access shippingAddress."
    }
    assert body["errors"][0]["path"] == ["orders", 0, "shippingAddress"]


def test_gql_client_surfaces_the_permission_error(centra):
    centra.admin("tokens", {"token": "no-returns", "permissions": ["Order:read"]})
    with pytest.raises(TransportQueryError, match="You need Return:read permission to access returns"):
        with centra.client("no-returns") as session:
            from gql import gql

            session.execute(gql("{ returns(limit: 1) { id } }"))


def test_complexity_multiplies_nested_lists_by_their_limit(centra):
    def cost(query):
        return centra.post({"query": query}).json()["extensions"]["complexity"]

    flat = cost("{ orders(limit: 10) { number } }")
    nested = cost("{ orders(limit: 10) { number lines { id product { id } } } }")
    doubled = cost("{ orders(limit: 20) { number lines { id product { id } } } }")
    assert flat == 1
    assert nested == 1 + 10 * (1 + TYPICAL_LIST_SIZE * 1)
    assert doubled - 1 == 2 * (nested - 1)
    free = cost("{ productSizes(limit: 5) { stock { freeToAllocateQuantity } } }")
    expensive = cost("{ productSizes(limit: 5) { stock { freeToAllocateQuantity physicalQuantity } } }")
    assert expensive > free  # freeToAllocateQuantity is free, other stock quantities are not


def test_requests_over_budget_get_429_with_retry_after_and_the_budget_is_shared(make_centra):
    centra = make_centra(rate_limits=True, plan="growth", time_scale=1.0)
    centra.admin("tokens", {"token": "other-integration"})
    started, responses = time.monotonic(), []
    with httpx.Client(timeout=10) as http:
        for i in range(150):  # Growth: 60 requests per 10 s, for every token of the environment together
            token = "test-token-full" if i % 2 else "other-integration"
            responses.append(http.post(centra.graphql_url, json=ORDERS, headers={"Authorization": f"Bearer {token}"}))
    elapsed = time.monotonic() - started
    codes = [r.status_code for r in responses]
    assert codes[:60] == [200] * 60 and 429 in codes
    assert codes.count(200) <= 60 + 6 * elapsed + 1  # the bucket refills 6 requests per second, no more
    limited = next(r for r in responses if r.status_code == 429)
    resume = int(limited.headers["Retry-After"])
    assert time.time() - 1 <= resume <= time.time() + 11  # a Unix timestamp within the 10 s window
    buckets = {(b["type"], b["intervalSeconds"]): b for b in centra.sim.limiter.snapshot()}
    # the hour's bucket holds every accepted request of both tokens, less what it refilled meanwhile (5000 an hour)
    refilled = 5000 / 3600 * (time.monotonic() - started)
    assert codes.count(200) - refilled - 1 <= buckets[("REQUEST_COUNT", "ONE_HOUR")]["usedQuota"] <= codes.count(200)


def test_time_scale_compresses_the_rate_limit_windows():
    limiter = RateLimiter("growth", time_scale=100.0)
    while limiter.charge(complexity=1, mutations=0) == 0:
        pass
    wait = limiter.charge(complexity=1, mutations=0)
    assert 0 < wait <= 10 / 100 / 60 * 2  # one request's worth of a 10 s/100 window holding 60
    time.sleep(wait * 1.5)
    assert limiter.charge(complexity=1, mutations=0) == 0
    too_big = limiter.charge(complexity=10**9, mutations=0)
    assert too_big == float("inf")  # can never fit: refused, nothing taken


def test_complexity_budget_limits_expensive_queries(make_centra):
    # windows 100x longer: the budget refills too slowly to matter however slowly a busy machine answers
    centra = make_centra(rate_limits=True, plan="growth", time_scale=0.01)
    heavy = {"query": "{ orders(limit: 200) { lines { product { variants { productSizes { id } } } } } }"}
    cost = centra.post({"query": "{ rateLimits { type } }"}).json()  # 1 request, complexity 1
    assert cost["extensions"]["complexity"] == 1
    codes = [centra.post(heavy).status_code for _ in range(12)]
    assert 429 in codes and codes.index(429) < 12  # 250k complexity / 10 s runs out before 60 requests do


@pytest.mark.parametrize(
    "fault, check",
    [
        ("error_rate", lambda r: r.status_code == 503 and r.json()["errors"]),
        ("html_error_rate", lambda r: r.status_code == 502 and r.text.startswith("<html>")),
        ("rate_limit_rate", lambda r: r.status_code == 429 and r.headers["Retry-After"].isdigit()),
        (
            "internal_error_rate",  # graphql-php's answer when a resolver throws: 200, partial data, hidden cause
            lambda r: (
                r.status_code == 200
                and r.json()["data"] == {"orders": None}
                and r.json()["errors"][0]
                == {
                    "message": "Internal server error",
                    "extensions": {"category": "internal"},
                    "path": ["orders"],
                }
            ),
        ),
    ],
)
def test_faults_switch_on_and_off_mid_run(make_centra, fault, check):
    centra = make_centra()
    centra.admin("faults", {fault: 1.0})
    assert check(centra.post(ORDERS))
    centra.admin("faults", {fault: 0.0})
    assert centra.post(ORDERS).status_code == 200


def test_connection_reset_and_slow_responses(make_centra):
    centra = make_centra()
    centra.admin("faults", {"reset_rate": 1.0})
    for _ in range(5):  # the cut shows as an incomplete body or a reset, depending on timing
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            centra.post(ORDERS)
    centra.admin("faults", {"reset_rate": 0.0, "slow_rate": 1.0, "slow_seconds": 2.0})
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(centra.graphql_url, json=ORDERS, headers={"Authorization": "Bearer test-token-full"}, timeout=0.3)
    centra.admin("faults", {"slow_rate": 0.0, "latency_ms": 150})
    started = time.monotonic()
    assert centra.post(ORDERS).status_code == 200 and time.monotonic() - started >= 0.15


def test_unknown_fault_setting_is_refused(centra):
    response = httpx.post(f"{centra.url}/admin/faults", json={"eror_rate": 1})
    assert response.status_code == 400 and "eror_rate" in response.json()["error"]


def test_bad_requests_get_clear_errors(centra):
    assert httpx.get(centra.graphql_url).status_code == 405
    garbage = httpx.post(centra.graphql_url, content=b"{not json", headers={"Authorization": "Bearer test-token-full"})
    assert garbage.status_code == 400 and "JSON" in garbage.json()["errors"][0]["message"]
    invalid = centra.post({"query": "{ orders { nosuchfield } }"}).json()
    assert invalid["errors"][0]["message"] == 'Cannot query field "nosuchfield" on type "Order".'
    assert invalid["extensions"]


def test_customer_total_orders_counts_their_orders_and_needs_its_permission(centra):
    """totalOrders = the customer's orders not cancelled (the simulator's reading of an UNCONFIRMED rule), those from
    before the simulator's history included; a token without Customer.totalOrders:read is refused it."""
    from collections import Counter

    admin = centra.admin
    placed = Counter(o["customer_id"] for o in admin("ground-truth/orders")["rows"] if o["status"] != "CANCELLED")
    before = {c["id"]: c["orders_before_history"] for c in admin("ground-truth/customers")["rows"]}
    both = "old: customers(limit: 50) { id totalOrders } new: customers(limit: 50, sort: [id_DESC]) { id totalOrders }"
    query = {"query": "{ " + both + " }"}
    data = centra.post(query).json()["data"]
    got = {c["id"]: c["totalOrders"] for c in data["old"] + data["new"]}
    assert got == {i: before[i] + placed[i] for i in got}
    assert any(before[i] for i in got) and any(placed[i] and not before[i] for i in got)
    admin("tokens", {"token": "no-order-counts", "permissions": ["Customer:read"]})
    body = centra.post(query, token="no-order-counts").json()
    denied = "You need Customer.totalOrders:read permission to access totalOrders."
    assert denied in {e["message"] for e in body["errors"]}


def test_the_simulator_guards_every_permission_the_docs_list(centra):
    """Each read permission the docs list for the project's queries is demanded by the simulator: without it,
    a query that uses it is denied, naming it (on pages of 50 records, so that every kind of record is read)."""
    from centra_assets.cli import project_queries

    from ..test_readme import _permission_table

    listed = {p for p, (ours, _, _) in _permission_table().items() if ours}
    queries = [{"query": query, "variables": {**variables, "limit": 50}} for _, query, variables in project_queries()]
    users = {p: [] for p in listed}
    for body in queries:
        for permission in centra.post(body).json()["extensions"]["permissionsUsed"]:
            users.setdefault(permission, []).append(body)
    unguarded = []
    for permission in sorted(listed):
        token = f"all-but-{permission}".replace(":", "-").replace(".", "-")
        centra.admin("tokens", {"token": token, "permissions": sorted(ALL_PERMISSIONS - {permission})})
        needed = f"You need {permission} permission"
        if not any(
            needed in e["message"]
            for body in users[permission]
            for e in centra.post(body, token).json().get("errors", [])
        ):
            unguarded.append(permission)
    assert unguarded == []
