"""The resources: Centra (connection settings and pacing, from the environment at run time), and the published
warehouse read-only for the Python assets on the marts."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse, urlsplit

import dagster as dg
from dagster_duckdb import DuckDBResource
from pydantic import Field

from centra_assets.centra.client import CentraClient
from centra_assets.centra.pacing import Pacer, PostgresBudget, SqliteBudget
from centra_assets.settings import Settings, Store
from centra_assets.shared_state import is_postgres_url, redacted


class CentraResource(dg.ConfigurableResource):
    """Centra's GraphQL Integration API, paced by a rate budget every run on this machine shares (or, with
    `rate_budget_url`, every process of the deployment)."""

    api_url: str = Field(
        default="", description="The store's GraphQL endpoint, e.g. https://<store>.centra.com/graphql"
    )
    api_token: str = Field(
        default="", description="An Integration API token with the read permissions `centra-assets check` lists"
    )
    pacer_path: str = Field(description="SQLite file holding the shared rate budget (under the warehouse directory)")
    rate_budget_url: str = Field(
        default="",
        description="A postgresql:// URL (CENTRA_RATE_BUDGET_URL): the rate budget lives there, shared by every "
        "process of the deployment, instead of in the SQLite file of one machine",
    )
    schema_cache_dir: str = Field(
        default="",
        description="Folder caching each store's schema per Centra version (empty: beside the rate budget file)",
    )
    rate_share: float = Field(
        default=0.9,
        description="Part of Centra's rate limits this project may use; the "
        "rest is left to the store's other integrations",
    )
    rate_window_scale: float = Field(default=1.0, description="Only for a simulator started with --time-scale")
    concurrency: int = Field(default=4, description="Pages in flight per partition")
    max_attempts: int = Field(default=6, description="Tries per request on 5xx, timeouts and resets")
    read_timeout: float = Field(default=60.0, description="Seconds to wait for an answer before retrying")
    backoff_base: float = Field(default=0.5, description="First retry delay in seconds; doubles, with full jitter")

    def connection(self, store: Store | None = None) -> tuple[str, str]:
        """(API URL, token) of a store: the resource's own, or those the stores file names (token by env var)."""
        if store is None or not store.api_url:
            if not (self.api_url and self.api_token):
                raise RuntimeError("Set CENTRA_API_URL and CENTRA_API_TOKEN (or list the stores in CENTRA_STORES_FILE)")
            return self.api_url, self.api_token
        token = os.environ.get(store.token_env, "") if store.token_env else ""
        if not token:
            raise RuntimeError(
                f"Store {store.name!r}: set {store.token_env} to its Centra Integration API token "
                "(the stores file names the variable, never the token)"
            )
        return store.api_url, token

    def client(self, store: Store | None = None) -> CentraClient:
        url, token = self.connection(store)
        pacer_path = self.pacer_path
        if store is not None and store.api_url:  # each Centra store has a rate budget of its own
            path = Path(self.pacer_path)
            pacer_path = str(path.with_name(f"{path.stem}-{store.name}{path.suffix}"))
        if self.rate_budget_url and not is_postgres_url(self.rate_budget_url):
            raise RuntimeError("CENTRA_RATE_BUDGET_URL must be a postgresql:// URL (or unset: SQLite on this machine)")
        # one budget per Centra environment: in PostgreSQL keyed by its API URL, else in the store's own file
        pacer = Pacer(
            rate_budget(self.rate_budget_url or pacer_path),
            share=self.rate_share,
            window_scale=self.rate_window_scale,
            budget=_budget_key(url),
        )
        return CentraClient(
            url,
            token,
            pacer=pacer,
            max_attempts=self.max_attempts,
            read_timeout=self.read_timeout,
            schema_cache_dir=self.schema_cache_dir or str(Path(self.pacer_path).with_name("centra-schemas")),
        )

    def audit(self, store: Store) -> dict[str, str]:
        """The columns every raw row carries: the store's name, and the API host the row came from."""
        url = store.api_url or self.api_url
        return {"_store": store.name, "_source": urlparse(url).netloc or url}


def rate_budget(location: str) -> SqliteBudget | PostgresBudget:
    """Where a rate budget lives, by the rule of shared_state: PostgreSQL for a postgresql:// URL, else SQLite."""
    if is_postgres_url(location):
        return PostgresBudget(location, shown_as=redacted(location))
    return SqliteBudget(location)


def _budget_key(url: str) -> str:
    """A Centra environment, as its rate budget is keyed: the API URL without credentials, query or fragment."""
    parts = urlsplit(url)
    netloc = f"{parts.hostname}:{parts.port}" if parts.port else (parts.hostname or "")
    return parts._replace(netloc=netloc, query="", fragment="").geturl()


def centra_resource(settings: Settings) -> CentraResource:
    pacer_path = str(settings.local_state / "centra-rate-budget.sqlite")
    # the URL holds a password: the resource names the variable, so the UI and run config never show it
    shared = {"rate_budget_url": dg.EnvVar("CENTRA_RATE_BUDGET_URL")} if settings.rate_budget_url else {}
    if settings.multi_store:  # every store names its own URL and token variable
        return CentraResource(pacer_path=pacer_path, **shared)
    return CentraResource(
        api_url=dg.EnvVar("CENTRA_API_URL"), api_token=dg.EnvVar("CENTRA_API_TOKEN"), pacer_path=pacer_path, **shared
    )


def warehouse_reader(settings: Settings) -> DuckDBResource:
    """The published warehouse, read-only: a reader never takes DuckDB's write lock, and dbt builds into a copy
    that replaces the file by rename (publish.py), so an asset reading it never blocks or waits for a build."""
    return DuckDBResource(database=str(settings.duckdb_file), connection_config={"access_mode": "READ_ONLY"})
