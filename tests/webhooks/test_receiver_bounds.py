"""`centra-webhooks serve` bounds what a client may send, so it survives without a reverse proxy: a slow client is
cut, an oversized header is refused, and intake goes on while many slow connections are open. And the README's
example of a signed delivery, posted with curl, is stored."""

from __future__ import annotations

import os
import re
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from centra_assets.webhooks.signature import sign
from centra_assets.webhooks.store import SqliteEventStore
from centra_sim.process import free_port
from centra_sim.testing.dagster_ui import until

from .test_receiver import FORM, SECRET, body_of, event

pytestmark = pytest.mark.slow  # a receiver process of its own

REQUEST_SECONDS = 1.0  # the bound under test, short so that the tests wait little
OPEN_FILES = 64  # the receiver's open-file limit: a few dozen slow connections would take every one


@pytest.fixture(scope="module")
def receiver(tmp_path_factory):
    port, path = free_port(), tmp_path_factory.mktemp("bounds") / "webhooks.sqlite"
    cmd = [sys.executable, "-m", "centra_assets.webhooks.cli", "serve", "--port", str(port), "--store", str(path)]
    proc = subprocess.Popen(
        [*cmd, "--request-seconds", str(REQUEST_SECONDS), "--log-level", "warning"],
        env={**os.environ, "CENTRA_WEBHOOK_SECRET": SECRET},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES, OPEN_FILES)),
    )
    try:
        until(lambda: httpx.get(f"http://127.0.0.1:{port}/health", timeout=1), 30, "the receiver to start", 0.05)
        yield port, path
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def slow_client(port: int, sent: bytes) -> socket.socket:
    """A connection that has sent `sent`, part of a request, and then says nothing more."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(sent)
    return sock


def closed_by_the_server(sock: socket.socket) -> bool:
    """Whether the server closes the connection (within the socket's 30 s timeout: far beyond the bound)."""
    try:
        while data := sock.recv(65536):
            del data  # a 400 before closing is fine too
        return True
    except TimeoutError:
        return False
    finally:
        sock.close()


HEAD = b"POST /webhooks/centra HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"


@pytest.mark.parametrize(
    "sent",
    [HEAD, HEAD + b"Content-Length: 100\r\n\r\npayload=%7B"],
    ids=["headers-never-end", "body-never-ends"],
)
def test_a_slow_client_is_cut_after_the_bound(receiver, sent):
    port, _ = receiver
    assert closed_by_the_server(slow_client(port, sent))


def test_an_oversized_header_is_refused_and_nothing_is_stored(receiver):
    port, path = receiver
    body = body_of([event(64)])
    headers = {**FORM, "X-Centra-Signature": sign(SECRET, body), "X-Padding": "a" * 1024 * 1024}
    try:
        status = httpx.post(f"http://127.0.0.1:{port}/webhooks/centra", content=body, headers=headers, timeout=30)
        refused = status.status_code == 400
    except httpx.TransportError:  # closed while the client was still sending: refused as well
        refused = True
    assert refused
    assert 64 not in {e.object_id for e in SqliteEventStore(path).read_after(0)}


def deliver(port: int, n: int) -> int:
    """Post a delivery as Centra does: again after a connection the receiver dropped (within a minute)."""
    body = body_of([event(n)])
    headers = {**FORM, "X-Centra-Signature": sign(SECRET, body)}
    deadline = time.monotonic() + 60
    while True:
        try:
            return httpx.post(f"http://127.0.0.1:{port}/webhooks/centra", content=body, headers=headers).status_code
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_intake_goes_on_after_more_slow_connections_than_the_receiver_has_files(receiver):
    """Each slow connection holds one of the receiver's files: beyond its limit, new connections are dropped at
    once. Cut after the bound, they free them, and the next delivery is stored."""
    port, path = receiver
    slow = [slow_client(port, HEAD) for _ in range(OPEN_FILES + 16)]
    try:
        assert deliver(port, 80) == 200
    finally:
        for sock in slow:
            sock.close()
    assert 80 in {e.object_id for e in SqliteEventStore(path).read_after(0)}


def test_the_readmes_signed_webhook_example_is_stored(receiver):
    """The README's copy-paste example, run as written against a real receiver (its port and secret swapped in)."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = next(b for b in re.findall(r"```bash\n(.*?)```", readme, re.S) if "X-Centra-Signature" in b)
    port, path = receiver
    script = block.replace("127.0.0.1:8787", f"127.0.0.1:{port}").replace("my-endpoint-secret", SECRET)
    result = subprocess.run(["bash", "-ec", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == '{"stored":1}', result.stdout + result.stderr
    stored = [e for e in SqliteEventStore(path).read_after(0) if e.object_id == 1042]
    assert [(e.type, e.action) for e in stored] == [("order", "update")]
