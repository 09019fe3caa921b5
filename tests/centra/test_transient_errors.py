"""A 200 answer is not always Centra's last word: an internal error beside partial data is tried again, a
refused query is not."""

from __future__ import annotations

import pytest

from centra_assets.centra.client import CentraClient
from centra_assets.centra.errors import CentraQueryError, CentraUnavailable

ORDERS = "{ orders(limit: 2) { number } }"


def test_an_internal_error_is_retried_until_the_attempts_run_out_and_a_refused_query_is_not(make_centra):
    centra = make_centra()
    client = CentraClient(centra.graphql_url, "test-token-full", max_attempts=3, backoff_base=0.01)
    assert client.execute(ORDERS).data["orders"]  # learns the budget before the fault is switched on
    centra.admin("faults", {"internal_error_rate": 1.0})
    sent = centra.sim.stats["requests"]
    with pytest.raises(CentraUnavailable, match="after 3 attempts .*Internal server error"):
        client.execute(ORDERS)
    assert centra.sim.stats["requests"] - sent == 3 and client.stats.retries == 2
    sent = centra.sim.stats["requests"]
    with pytest.raises(CentraQueryError, match='Centra refused the query: Cannot query field "noSuchField"'):
        client.execute("{ orders(limit: 1) { noSuchField } }")
    assert centra.sim.stats["requests"] - sent == 1  # a validation error is not retried
    client.close()
