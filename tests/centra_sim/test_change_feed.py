"""Live changes: the event queue holds events until confirmed; webhooks are signed as Centra signs them."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
import urllib.parse

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from centra_sim.events import changes_between, sign, webhook_body
from centra_sim.process import BackgroundServer

HOUR = 3600


def test_signature_matches_centras_documented_example():
    # docs/centra-facts.md §8: secret test123, t=12345678, this body -> this v1.
    body = b"payload=%7B%22x%22%3A%22test%22%7D"
    assert (
        sign("test123", 12345678, body)
        == "t=12345678,v1=0b9cd84f5d583e5e1aadfb9f160aa8080b51d5b85ff85808d6b75bdac356c549"
    )


def test_event_queue_returns_the_same_events_until_confirmed(centra_live):
    centra = centra_live
    centra.query("""mutation { setEventListeners(input: [{objectType: Order}, {objectType: Shipment,
        changeTypes: [CREATED]}]) { eventListeners { objectType changeTypes } userErrors { message } } }""")
    centra.admin("clock", {"advance": 6 * HOUR})
    fetch = """{ events(limit: 200) { id objectType changeType objectReference createdAt
        object { __typename ... on DirectToConsumerOrder { number status } } } }"""
    first = centra.query(fetch).data["events"]
    again = centra.query(fetch).data["events"]
    assert first and first == again  # unconfirmed events come back, oldest first
    assert [e["id"] for e in first] == sorted(e["id"] for e in first)
    assert {e["objectType"] for e in first} <= {"Order", "Shipment"}
    assert all(e["changeType"] == "CREATED" for e in first if e["objectType"] == "Shipment")
    for e in first:
        if e["objectType"] == "Order" and e["object"] and e["object"]["__typename"] == "DirectToConsumerOrder":
            assert e["object"]["number"] == e["objectReference"]  # Order events carry the order number
    done = centra.query(
        "mutation($ids: [Int!]!) { confirmEvents(input: {eventsIds: $ids}) { events { id } } }",
        {"ids": [e["id"] for e in first[:5]]},
    )
    assert [e["id"] for e in done.data["confirmEvents"]["events"]] == [e["id"] for e in first[:5]]
    assert centra.query(fetch).data["events"][:1] == first[5:6]


def test_events_match_what_changed_in_the_store(centra_live):
    centra = centra_live
    centra.query(
        "mutation { setEventListeners(input: [{objectType: Order, changeTypes: [CREATED]}]) "
        "{ eventListeners { objectType } } }"
    )
    before = centra.sim.clock.now()
    centra.admin("clock", {"advance": 3 * HOUR})
    created = set()
    while events := centra.query(
        "{ events(limit: 200, where: {objectType: [Order], changeType: [CREATED]}) { id objectReference } }"
    ).data["events"]:
        created |= {e["objectReference"] for e in events}
        centra.query(
            "mutation($ids: [Int!]!) { confirmEvents(input: {eventsIds: $ids}) { events { id } } }",
            {"ids": [e["id"] for e in events]},
        )
    window = {
        "from": dt.datetime.fromtimestamp(before).isoformat(),
        "to": dt.datetime.fromtimestamp(centra.sim.clock.now()).isoformat(),
    }
    truth = {
        r["number"]
        for r in centra.admin(f"ground-truth/orders?{urllib.parse.urlencode(window)}")["rows"]
        if dt.datetime.fromisoformat(r["created_at"]).timestamp() > before
    }
    assert truth and created == truth


def test_webhooks_are_signed_form_encoded_batched_and_retried(make_centra):
    received, failures_left = [], {"n": 1}

    async def hook(request: Request):
        if failures_left["n"] > 0:  # the first call fails: Centra must retry it
            failures_left["n"] -= 1
            return JSONResponse({"error": "try again"}, 500)
        received.append((await request.body(), dict(request.headers)))
        return JSONResponse({})

    with BackgroundServer(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as receiver:
        centra = make_centra(webhook_url=f"{receiver}/hook", webhook_secret="s3cret", time_scale=50.0)
        centra.admin("clock", {"advance": 12 * HOUR})
        deadline = time.monotonic() + 20
        while not centra.admin("webhooks")["idle"] and time.monotonic() < deadline:
            time.sleep(0.05)
    stats = centra.admin("webhooks")["stats"]
    assert received and stats["failed_attempts"] == 1 and stats["dropped_events"] == 0
    events = []
    for body, headers in received:
        assert headers["content-type"] == "application/x-www-form-urlencoded"
        parts = dict(p.split("=", 1) for p in headers["x-centra-signature"].split(","))
        expected = hmac.new(b"s3cret", parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(parts["v1"], expected)  # independent HMAC over the raw body
        assert abs(int(parts["t"]) - time.time()) < 60
        form = urllib.parse.parse_qs(body.decode())
        batch = json.loads(form["payload"][0])["events"]
        assert 0 < len(batch) <= 100
        events += batch
    assert {e["type"] for e in events} <= {"order", "shipment", "return", "customer"}
    assert all({"type", "action", "date", "id"} == set(e) for e in events)
    assert stats["delivered_events"] == len(events)


def test_webhooks_are_dropped_after_three_retries(make_centra):
    calls = []

    async def hook(request: Request):
        calls.append(time.monotonic())
        return JSONResponse({}, 503)

    with BackgroundServer(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as receiver:
        centra = make_centra(webhook_url=f"{receiver}/hook", webhook_secret="s", time_scale=100.0)
        now = centra.sim.clock.now()
        one_change = [c for c in changes_between(centra.sim, now - 6 * HOUR, now) if c.webhook][:1]
        centra.sim.webhooks.send(one_change)
        deadline = time.monotonic() + 10
        while not centra.admin("webhooks")["idle"] and time.monotonic() < deadline:
            time.sleep(0.02)
    assert len(calls) == 4  # one try and three retries
    gaps = [b - a for a, b in zip(calls, calls[1:], strict=False)]
    assert gaps == sorted(gaps)  # growing delay
    assert centra.admin("webhooks")["stats"]["dropped_events"] == 1


def test_webhook_body_is_the_url_encoded_json_payload():
    body = webhook_body([{"type": "order", "action": "update", "date": "2021-01-29 14:40:58.628033", "id": 2735}])
    assert body.startswith(b"payload=%7B%22events%22")
    decoded = json.loads(urllib.parse.parse_qs(body.decode())["payload"][0])
    assert decoded == {
        "events": [{"type": "order", "action": "update", "date": "2021-01-29 14:40:58.628033", "id": 2735}]
    }


def test_live_clock_runs_and_publishes_by_itself(make_centra):
    centra = make_centra(live=True, time_scale=3600.0)  # one simulated hour per second
    centra.query("mutation { setEventListeners(input: [{objectType: Order}]) { eventListeners { objectType } } }")
    centra.sim.start_ticking(interval=0.05)
    t0 = centra.sim.clock.now()
    deadline = time.monotonic() + 10
    while not centra.query("{ events(limit: 1) { id } }").data["events"] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert centra.sim.clock.now() > t0 and centra.query("{ events(limit: 1) { id } }").data["events"]
