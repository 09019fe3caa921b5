"""The Centra resource: connection settings and pacing, from the environment at run time."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import dagster as dg
from pydantic import Field

from centra_assets.centra.client import CentraClient
from centra_assets.centra.pacing import Pacer


class CentraResource(dg.ConfigurableResource):
    """Centra's GraphQL Integration API, paced by a rate budget every run on this machine shares."""

    api_url: str = Field(description="The store's GraphQL endpoint, e.g. https://<store>.centra.com/graphql")
    api_token: str = Field(description="An Integration API token with the read permissions `centra-assets check` lists")
    pacer_path: str = Field(description="SQLite file holding the shared rate budget (under the warehouse directory)")
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

    def client(self) -> CentraClient:
        pacer = Pacer(self.pacer_path, share=self.rate_share, window_scale=self.rate_window_scale)
        return CentraClient(
            self.api_url, self.api_token, pacer=pacer, max_attempts=self.max_attempts, read_timeout=self.read_timeout
        )

    @property
    def source(self) -> str:
        """The Centra environment the rows come from: the API host (several stores can share a warehouse)."""
        return urlparse(self.api_url).netloc or self.api_url


def centra_resource(warehouse_dir: str) -> CentraResource:
    return CentraResource(
        api_url=dg.EnvVar("CENTRA_API_URL"),
        api_token=dg.EnvVar("CENTRA_API_TOKEN"),
        pacer_path=str(Path(warehouse_dir) / ".state" / "centra-rate-budget.sqlite"),
    )
