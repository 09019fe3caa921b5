"""A Centra that cannot be reached is named with its host and the reason in a few words, not urllib3's 300
characters per retry, and the error does not promise that a retry helps: a typo in the host never answers."""

from __future__ import annotations

import socket

import pytest

from centra_assets.centra.client import CentraClient
from centra_assets.centra.errors import CentraUnavailable


def closed_port() -> int:
    with socket.socket() as s:  # a port the system just gave out and nothing listens on
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    "host, reason",
    [
        ("centra.invalid", "could not reach centra.invalid:80: its name does not resolve (a typo in the host"),
        (f"127.0.0.1:{closed_port()}", "nothing accepts connections on its port (connection refused)"),
    ],
    ids=["typo-in-the-host", "nothing-listening"],
)
def test_an_unreachable_centra_is_named_with_its_host_and_the_reason(host, reason, caplog):
    client = CentraClient(f"http://{host}/graphql", "a-token", max_attempts=2, backoff_base=0.01)
    with pytest.raises(CentraUnavailable) as failed:
        client.execute("query { __typename }", {})
    message = str(failed.value)
    assert reason in message and "a retry of the run helps only if the outage was passing" in message
    assert "HTTPConnectionPool" not in message and "retried safely" not in message
    (retry,) = [r.getMessage() for r in caplog.records if "retry 1/1" in r.getMessage()]
    assert reason in retry and len(retry) < 200
