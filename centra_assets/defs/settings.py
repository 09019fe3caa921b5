"""Settings from the environment, read in one place (definitions.py) and passed down.

Partitions need the start date and timezone when the definitions are built, so those are read then;
the API URL and token are read by the resource at run time (dg.EnvVar), never stored in definitions.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_START_DATE = "2025-01-01"


@dataclass(frozen=True)
class Settings:
    warehouse_dir: str = "warehouse"
    timezone: str = "UTC"
    start_date: str = DEFAULT_START_DATE
    duckdb_path: str = ""  # the analytics warehouse dbt builds; default <warehouse_dir>/centra.duckdb
    events_cron: str = "15 0 * * *"  # the daily event sync, in the store's timezone
    snapshot_cron: str = "30 1 * * *"  # the daily snapshots, in the store's timezone

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def duckdb_file(self) -> Path:
        return Path(self.duckdb_path or Path(self.warehouse_dir) / "centra.duckdb").resolve()


def settings_from_env(env: dict | None = None) -> Settings:
    env = os.environ if env is None else env
    settings = Settings(
        warehouse_dir=env.get("CENTRA_WAREHOUSE_DIR") or "warehouse",
        timezone=env.get("CENTRA_TIMEZONE") or "UTC",
        start_date=env.get("CENTRA_START_DATE") or DEFAULT_START_DATE,
        duckdb_path=env.get("CENTRA_DUCKDB_PATH") or "",
        events_cron=env.get("CENTRA_EVENTS_CRON") or Settings.events_cron,
        snapshot_cron=env.get("CENTRA_SNAPSHOT_CRON") or Settings.snapshot_cron,
    )
    try:
        ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"CENTRA_TIMEZONE={settings.timezone!r} is not a timezone name such as 'Europe/Stockholm'"
        ) from None
    try:
        dt.date.fromisoformat(settings.start_date)
    except ValueError:
        raise ValueError(f"CENTRA_START_DATE={settings.start_date!r} is not a date like 2025-01-01") from None
    return settings
