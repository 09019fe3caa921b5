"""A simulator served in process over HTTP on 127.0.0.1, with a real gql client for it: the tests' ``centra``
fixtures (tests/conftest.py) stand theirs up with ``serve``."""

from __future__ import annotations

import datetime as dt

import httpx
from gql import Client, gql
from gql.transport.requests import RequestsHTTPTransport

from ..app import build_app
from ..backend import Simulator
from ..process import BackgroundServer

# A fixed "now" keeps data identical run to run; a Wednesday afternoon in the store's timezone.
NOW = dt.datetime(2026, 11, 18, 15, 30, tzinfo=dt.timezone(dt.timedelta(hours=1))).timestamp()
TOKEN = "test-token-full"


class Centra:
    """A running simulator: its URL, the Simulator object (for ground truth) and helpers."""

    def __init__(self, sim: Simulator, url: str):
        self.sim, self.url, self.graphql_url = sim, url, f"{url}/graphql"

    def client(self, token: str = TOKEN, timeout: float = 10) -> Client:
        transport = RequestsHTTPTransport(
            url=self.graphql_url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout, retries=0
        )
        return Client(transport=transport, fetch_schema_from_transport=False)

    def query(self, text: str, variables: dict | None = None, token: str = TOKEN):
        """Run through the real gql client; returns graphql-core's ExecutionResult (data, errors, extensions)."""
        request = gql(text)
        request.variable_values = variables
        with self.client(token) as session:
            return session.execute(request, get_execution_result=True)

    def post(self, body: dict, token: str | None = TOKEN, **kw) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.post(self.graphql_url, json=body, headers=headers, timeout=10, **kw)

    def admin(self, path: str, body: dict | None = None) -> dict:
        url = f"{self.url}/admin/{path}"
        response = httpx.post(url, json=body, timeout=30) if body is not None else httpx.get(url, timeout=30)
        response.raise_for_status()
        return response.json()


def serve(**kwargs):
    sim = Simulator(**{"seed": 7, "days": 20, "orders_per_day": 60, "now": NOW, "rate_limits": False, **kwargs})
    sim.add_token(TOKEN)
    server = BackgroundServer(build_app(sim))
    url = server.__enter__()
    return Centra(sim, url), server
