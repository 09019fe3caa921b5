"""The webhook receiver: answers 2xx only for stored, genuinely signed deliveries; refuses everything else."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg
import pytest

from centra_assets.webhooks.app import _payload_field, build_app
from centra_assets.webhooks.signature import sign
from centra_assets.webhooks.store import PostgresEventStore, Replay, SqliteEventStore
from centra_sim.process import BackgroundServer, free_port

SECRET = "whsec-test-0123456789"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def body_of(events: list[dict]) -> bytes:
    return ("payload=" + urllib.parse.quote(json.dumps({"events": events}), safe="")).encode()


def event(n: int, kind: str = "order", action: str = "update") -> dict:
    return {"type": kind, "action": action, "date": "2026-11-18 14:40:58.628033", "id": n}


@pytest.fixture
def receiver(tmp_path):
    store = SqliteEventStore(tmp_path / "webhooks.sqlite")
    with BackgroundServer(build_app(store, SECRET)) as url:
        yield f"{url}/webhooks/centra", store
    store.close()


def post(url: str, body: bytes, signature: str | None = "sign", headers: dict | None = None) -> httpx.Response:
    headers = {**FORM, **(headers or {})}
    if signature == "sign":
        signature = sign(SECRET, body)
    if signature:
        headers["X-Centra-Signature"] = signature
    return httpx.post(url, content=body, headers=headers, timeout=10)


def test_a_signed_delivery_is_stored_before_the_answer(receiver):
    url, store = receiver
    events = [event(1042), event(7, "shipment", "good_to_go"), event(3, "wishlist", "create")]  # unknown type too
    response = post(url, body_of(events))
    assert response.status_code == 200 and response.json() == {"stored": 3}
    stored = store.read_after(0)
    assert [(e.type, e.action, e.object_id) for e in stored] == [
        ("order", "update", 1042),
        ("shipment", "good_to_go", 7),
        ("wishlist", "create", 3),
    ]
    assert json.loads(stored[0].raw) == events[0]
    assert httpx.get(url.replace("/webhooks/centra", "/health")).json() == {
        "ok": True,
        "events": 3,
        "by_store": {"default": 3},
    }


def test_the_other_plugin_versions_payload_is_stored_too(receiver):
    url, store = receiver
    body = ("payload=" + urllib.parse.quote(json.dumps({"products": ["1", "6"], "categories": ["2"]}))).encode()
    assert post(url, body).status_code == 200
    assert [(e.type, e.object_id) for e in store.read_after(0)] == [("products", 1), ("products", 6), ("categories", 2)]


@pytest.mark.parametrize(
    "signature, reason",
    [
        (None, "no X-Centra-Signature"),
        ("v1=abc", "malformed"),
        ("t=12345,v1=" + "0" * 64, "does not match"),
    ],
)
def test_missing_malformed_or_forged_signatures_get_401(receiver, signature, reason):
    url, store = receiver
    response = post(url, body_of([event(1)]), signature)
    assert response.status_code == 401 and reason in response.json()["error"]
    assert store.count() == 0


def test_a_signature_over_another_body_or_with_another_secret_gets_401(receiver):
    url, store = receiver
    genuine = body_of([event(1)])
    assert post(url, body_of([event(2)]), sign(SECRET, genuine)).status_code == 401  # tampered body
    assert post(url, genuine, sign("another-secret", genuine)).status_code == 401
    assert store.count() == 0


@pytest.mark.parametrize("age", [-400, 400])
def test_stale_and_future_timestamps_are_refused(receiver, age):
    url, store = receiver
    body = body_of([event(1)])
    response = post(url, body, sign(SECRET, body, int(time.time()) - age))
    assert response.status_code == 401 and "outside" in response.json()["error"]


def test_a_replayed_request_is_refused(receiver):
    url, store = receiver
    body = body_of([event(1)])
    signature = sign(SECRET, body)
    assert post(url, body, signature).status_code == 200
    assert post(url, body, signature).status_code == 409
    assert store.count() == 1


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.slow)])
def reopen(request, tmp_path):
    """Open the event store at the same place again, as a restarted receiver does: SQLite or PostgreSQL."""
    if request.param == "sqlite":
        return lambda: SqliteEventStore(tmp_path / "webhooks.sqlite")
    url = request.getfixturevalue("postgres_server").new_database()
    return lambda: PostgresEventStore(url, "default")


def test_a_replay_is_refused_after_a_restart_and_within_one_group_commit(reopen):
    first = reopen()
    assert first.append("sig-a", int(time.time()), [event(1)]) == 1
    first.close()
    again = reopen()  # a restarted receiver remembers what it acknowledged

    async def twice_at_once():
        return await asyncio.gather(
            *(again.append_async(s, int(time.time()), [event(2)]) for s in ("sig-a", "sig-b", "sig-b")),
            return_exceptions=True,
        )

    first_replayed, stored, second_copy = asyncio.run(twice_at_once())
    assert isinstance(first_replayed, Replay) and stored == 1 and isinstance(second_copy, Replay)
    assert [e.object_id for e in again.read_after(0)] == [1, 2]


def test_postgres_keeps_stores_apart_and_refuses_a_replay_another_receiver_stored(postgres_server):
    url = postgres_server.new_database()
    one, two, other = (
        PostgresEventStore(url, "nordic"),
        PostgresEventStore(url, "nordic"),
        PostgresEventStore(url, "us"),
    )
    now = int(time.time())
    assert one.append("sig-a", now, [event(1)]) == 1
    with pytest.raises(Replay):
        two.append("sig-a", now, [event(1)])  # two receivers of one store: the second refuses the first's copy
    assert other.append("sig-a", now, [event(2)]) == 1  # another store's endpoint and secret: not a replay
    assert [e.object_id for e in two.read_after(0)] == [1] and [e.object_id for e in other.read_after(0)] == [2]
    for store in (one, two, other):
        store.close()


def test_with_two_receivers_writing_the_sensors_cursor_never_passes_an_event(postgres_server):
    """Event ids are handed out inside one lock, so a reader that has seen id N has seen every id below it."""
    url = postgres_server.new_database()
    writers, reader = [PostgresEventStore(url, "s") for _ in range(2)], PostgresEventStore(url, "s")
    per_writer, seen, cursor = 150, [], 0

    def write(w: int) -> None:
        for i in range(per_writer):
            writers[w].append(f"sig-{w}-{i}", int(time.time()), [event(w * per_writer + i)])

    threads = [threading.Thread(target=write, args=(w,)) for w in range(2)]
    for t in threads:
        t.start()

    def read() -> list[int]:
        nonlocal cursor
        batch = reader.read_after(cursor, 7)
        cursor = batch[-1].id if batch else cursor
        return [e.object_id for e in batch]

    while any(t.is_alive() for t in threads):  # the sensor reading while the receivers write
        seen += read()
    while batch := read():
        seen += batch
    assert sorted(seen) == list(range(2 * per_writer))  # nothing skipped, nothing twice
    for store in (*writers, reader):
        store.close()


def test_a_delivery_that_failed_to_store_may_be_sent_again(tmp_path):
    store = SqliteEventStore(tmp_path / "webhooks.sqlite")
    store._write.execute("PRAGMA query_only=ON")  # the disk refuses the write
    with pytest.raises(sqlite3.OperationalError):
        store.append("sig-a", int(time.time()), [event(1)])
    store._write.execute("PRAGMA query_only=OFF")
    assert store.append("sig-a", int(time.time()), [event(1)]) == 1  # Centra's retry is not a replay
    assert store.count() == 1


@pytest.mark.parametrize(
    "payload",
    ['{"events": [{"type": "order", "id": 1}]}', '{"a": "x+y z%&=;\\u00e9é"}', '{"k": "%zz"}'],
)
@pytest.mark.parametrize("encoding", ["quote", "quote_plus", "lower-case escapes", "a raw % that escapes nothing"])
def test_the_fast_form_decoder_agrees_with_urllib(payload, encoding):
    quote = urllib.parse.quote_plus if encoding == "quote_plus" else urllib.parse.quote
    body = ("payload=" + quote(payload, safe="")).encode()
    if encoding == "lower-case escapes":
        body = body.lower()
    elif encoding.startswith("a raw"):
        body += b"%zz"
    expected = urllib.parse.parse_qs(body.decode(), strict_parsing=True)["payload"][0].encode()
    assert _payload_field(body) == expected


@pytest.mark.parametrize(
    "body, headers, status",
    [
        (b'{"events": []}', {"Content-Type": "application/json"}, 415),
        (b"nothing=here", None, 400),
        (b"payload=not-json", None, 400),
        (b"payload=" + urllib.parse.quote('{"events": "nope"}').encode(), None, 400),
        (b"payload=" + urllib.parse.quote("[1, 2]").encode(), None, 400),
        (b"\xff\xfe", None, 400),
        (b"payload=" + b"x" * 1_100_000, None, 413),
    ],
)
def test_bad_input_gets_the_right_answer_and_leaves_nothing(receiver, body, headers, status):
    url, store = receiver
    assert post(url, body, headers=headers).status_code == status
    assert store.count() == 0


def test_wrong_method_gets_405(receiver):
    url, _ = receiver
    response = httpx.get(url)
    assert response.status_code == 405 and response.headers["allow"] == "POST"


def test_logs_say_what_happened_without_secret_or_signature(receiver, caplog):
    url, _ = receiver
    body = body_of([event(1)])
    signature = sign(SECRET, body)
    with caplog.at_level(logging.INFO, logger="centra_assets.webhooks"):
        post(url, body, signature)
        post(url, body, signature)
        post(url, body_of([event(2)]), "t=1,v1=" + "ab" * 32)
    text = caplog.text
    assert "stored 1 events (order)" in text and "replayed" in text and "does not match" in text
    assert SECRET not in text and signature.split("v1=")[1] not in text


def test_webhooks_from_the_simulator_verify_and_land(make_centra, receiver):
    url, store = receiver
    centra = make_centra(webhook_url=url, webhook_secret=SECRET, time_scale=50.0)
    centra.admin("clock", {"advance": 8 * 3600})
    deadline = time.monotonic() + 30
    while not centra.admin("webhooks")["idle"] and time.monotonic() < deadline:
        time.sleep(0.05)
    stats = centra.admin("webhooks")["stats"]
    assert stats["delivered_events"] > 50 and stats["failed_attempts"] == 0
    assert store.count() == stats["delivered_events"]
    assert {e.type for e in store.read_after(0, 100_000)} <= {"order", "shipment", "return", "customer"}


def test_a_receiver_on_postgres_carries_on_after_the_server_restarts(postgres_server):
    """A restart ends the receiver's sessions: /health and the next delivery reconnect instead of answering 500
    until the receiver itself is restarted."""
    url = postgres_server.new_database()
    store = PostgresEventStore(url)
    try:
        with BackgroundServer(build_app(store, SECRET)) as base:
            assert post(f"{base}/webhooks/centra", body_of([event(1)])).status_code == 200
            assert httpx.get(f"{base}/health").json()["events"] == 1
            postgres_server.restart()
            health = httpx.get(f"{base}/health", timeout=10)
            assert health.status_code == 200 and health.json()["events"] == 1, health.text
            assert post(f"{base}/webhooks/centra", body_of([event(2)])).status_code == 200
    finally:
        store.close()
    with psycopg.connect(url) as con:  # what the server holds, read on a connection of the test's own
        stored = con.execute("SELECT object_id FROM centra_webhook_event ORDER BY id").fetchall()
    assert stored == [(1,), (2,)]


@pytest.mark.slow  # `centra-webhooks serve`, killed and restarted
def test_every_acknowledged_event_survives_a_sigkill_under_load(tmp_path):
    port, path = free_port(), tmp_path / "webhooks.sqlite"
    env = {**os.environ, "CENTRA_WEBHOOK_SECRET": SECRET}
    cmd = [
        sys.executable,
        "-m",
        "centra_assets.webhooks.cli",
        "serve",
        "--port",
        str(port),
        "--store",
        str(path),
        "--log-level",
        "warning",
    ]
    url = f"http://127.0.0.1:{port}/webhooks/centra"

    def start() -> subprocess.Popen:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                return proc
            except httpx.TransportError:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.05)

    proc = start()
    acknowledged, lock, stop = set(), threading.Lock(), threading.Event()

    def sender(worker: int) -> None:
        with httpx.Client(timeout=5) as client:
            for i in range(10_000):
                if stop.is_set():
                    return
                n = worker * 100_000 + i
                body = body_of([event(n)])
                try:
                    r = client.post(url, content=body, headers={**FORM, "X-Centra-Signature": sign(SECRET, body)})
                except httpx.TransportError:
                    return  # the receiver is gone: this one was never acknowledged
                if r.status_code == 200:
                    with lock:
                        acknowledged.add(n)

    with ThreadPoolExecutor(8) as pool:
        for w in range(8):
            pool.submit(sender, w)
        while len(acknowledged) < 300:
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)  # mid-load: requests are in flight
        proc.wait(timeout=10)
        stop.set()
    proc = start()
    try:
        stored = {e.object_id for e in SqliteEventStore(path).read_after(0, 1_000_000)}
        assert acknowledged and acknowledged <= stored
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)


def test_one_store_served_at_both_paths_is_counted_once(tmp_path):
    store = SqliteEventStore(tmp_path / "webhooks.sqlite")
    with BackgroundServer(build_app(store, SECRET, stores={"nordic": (store, SECRET)})) as url:
        for path in ("/webhooks/centra", "/webhooks/centra/nordic"):
            assert post(f"{url}{path}", body_of([event(len(path))])).status_code == 200
        assert httpx.get(f"{url}/health").json() == {"ok": True, "events": 2, "by_store": {"nordic": 2}}
    store.close()
