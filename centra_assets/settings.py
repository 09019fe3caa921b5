"""Settings from the environment, read in one place (definitions.py) and passed down.

Partitions need the stores, their start dates and timezones when the definitions are built, so those are
read then; API URLs and tokens are read at run time (dg.EnvVar, or the token variable a store names), never
stored in definitions.

One store: ``CENTRA_API_URL``, ``CENTRA_API_TOKEN``, ``CENTRA_TIMEZONE``, ``CENTRA_START_DATE`` (and
``CENTRA_STORE``, its name in the warehouse, "default" unless set). Several: ``CENTRA_STORES_FILE`` names a
YAML file listing them (see ``stores.example.yaml``); partitions are then day by store.

``CENTRA_CLOCK_OFFSET`` shifts the product's clock (``calendar.now``) from the machine's, for replays, demos and
tests: read at each reading of the clock, since it is the one setting that every process (Dagster's run
subprocesses, the daemon, the receiver) must agree on without being handed the Settings.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from centra_assets.shared_state import is_postgres_url, is_remote

DEFAULT_START_DATE = "2025-01-01"
DEFAULT_STORE = "default"
STORE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")  # it names paths, webhook routes and run keys too
# What Dagster accepts as an asset owner (dagster._core.definitions.utils.is_valid_owner): an email or team:<name>
OWNER = re.compile(r"team:.+|[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z|]{2,7}")
CLOCK_OFFSET = "CENTRA_CLOCK_OFFSET"
OFFSET = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Store:
    """One Centra environment. Empty `api_url` / `token_env`: the resource's CENTRA_API_URL / CENTRA_API_TOKEN."""

    name: str = DEFAULT_STORE
    timezone: str = "UTC"
    start_date: str = DEFAULT_START_DATE
    api_url: str = ""
    token_env: str = ""
    webhook_secret_env: str = "CENTRA_WEBHOOK_SECRET"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Settings:
    warehouse_dir: str = "warehouse"  # a folder or an object-storage URL (s3://bucket/prefix)
    timezone: str = "UTC"  # the single store's (without a stores file)
    start_date: str = DEFAULT_START_DATE
    duckdb_path: str = ""  # the analytics warehouse dbt builds; default <warehouse_dir or state_dir>/centra.duckdb
    events_cron: str = "15 0 * * *"  # the daily event sync, in each store's timezone
    snapshot_cron: str = "30 1 * * *"  # the daily snapshots, in each store's timezone
    store_name: str = DEFAULT_STORE
    stores_file_stores: tuple[Store, ...] = field(default=())  # from CENTRA_STORES_FILE: partitions day x store
    state_dir: str = ""  # local state (rate budget, webhook SQLite); default <warehouse_dir>/.state or .centra_state
    webhook_store: str = ""  # a PostgreSQL URL, or empty for SQLite under state_dir
    rate_budget_url: str = ""  # a PostgreSQL URL: the rate budget shared by every process; empty: SQLite per machine
    dbt_target: str = "local"  # profiles.yml target: local (a file, published by rename), motherduck, postgres
    asset_owner: str = ""  # every asset's owner in Dagster (an email or team:name); empty: none

    @property
    def multi_store(self) -> bool:
        return bool(self.stores_file_stores)

    @property
    def stores(self) -> tuple[Store, ...]:
        if self.stores_file_stores:
            return self.stores_file_stores
        return (Store(self.store_name, self.timezone, self.start_date),)

    def store(self, name: str) -> Store:
        for s in self.stores:
            if s.name == name:
                return s
        raise KeyError(f"no Centra store named {name!r} (stores: {', '.join(s.name for s in self.stores)})")

    @property
    def local_state(self) -> Path:
        if self.state_dir:
            return Path(self.state_dir).resolve()
        if is_remote(self.warehouse_dir):
            return Path(".centra_state").resolve()
        return (Path(self.warehouse_dir) / ".state").resolve()

    @property
    def webhook_events(self) -> str:
        """Where webhook events are kept: CENTRA_WEBHOOK_STORE (a PostgreSQL URL), else SQLite in the state folder."""
        return self.webhook_store or str(self.local_state)

    @property
    def duckdb_file(self) -> Path:
        if self.duckdb_path:
            return Path(self.duckdb_path).resolve()
        if is_remote(self.warehouse_dir):
            return self.local_state / "centra.duckdb"
        return (Path(self.warehouse_dir) / "centra.duckdb").resolve()

    @property
    def warehouse_url(self) -> str:
        """The warehouse as dbt and DuckDB read it: the URL as given, or an absolute folder."""
        return self.warehouse_dir if is_remote(self.warehouse_dir) else str(Path(self.warehouse_dir).resolve())


def _timezone(value: str, where: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{where}={value!r} is not a timezone name such as 'Europe/Stockholm'") from None
    return value


def _date(value, where: str) -> str:
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise ValueError(f"{where}={value!r} is not a date like 2025-01-01") from None


def _postgres_url(value: str, where: str) -> str:
    if value and not is_postgres_url(value):  # the value may hold a password: not shown
        raise ValueError(f"{where} must be a postgresql://user:password@host:port/database URL (or unset)")
    return value


def _owner(value: str) -> str:
    """An asset owner as Dagster accepts one (an email address or `team:<name>`), refused here with the setting's
    name rather than by Dagster when the definitions load."""
    value = value.strip()
    if value and not OWNER.fullmatch(value):
        raise ValueError(
            f"CENTRA_ASSET_OWNER {value!r} is not an asset owner: give an email address or team:<name> "
            "(or leave it unset)"
        )
    return value


def _name(value, where: str) -> str:
    if not isinstance(value, str) or not STORE_NAME.match(value):
        raise ValueError(
            f"{where}={value!r}: a store name is a lower-case letter, then letters, digits or '_' (e.g. 'nordic')"
        )
    return value


def read_stores_file(path: str | Path) -> tuple[Store, ...]:
    """The stores a deployment syncs, from YAML: a clear error for anything missing or malformed."""
    try:
        doc = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise ValueError(f"CENTRA_STORES_FILE={path}: no such file") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"CENTRA_STORES_FILE={path} is not valid YAML: {exc}") from None
    entries = doc.get("stores") if isinstance(doc, dict) else None
    if not entries or not isinstance(entries, list):
        raise ValueError(f"{path}: expected a 'stores:' list with at least one store")
    stores = []
    allowed = set(Store.__dataclass_fields__)
    for i, entry in enumerate(entries):
        where = f"{path}: stores[{i}]"
        if not isinstance(entry, dict):
            raise ValueError(f"{where} is not a mapping")
        unknown = set(entry) - allowed
        if unknown:
            raise ValueError(
                f"{where}: unknown field(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(allowed))}"
            )
        for required in ("name", "api_url", "token_env"):
            if not entry.get(required):
                raise ValueError(f"{where}: '{required}' is required")
        stores.append(
            Store(
                name=_name(entry["name"], f"{where}.name"),
                timezone=_timezone(entry.get("timezone", "UTC"), f"{where}.timezone"),
                start_date=_date(entry.get("start_date", DEFAULT_START_DATE), f"{where}.start_date"),
                api_url=str(entry["api_url"]),
                token_env=str(entry["token_env"]),
                webhook_secret_env=str(entry.get("webhook_secret_env") or f"CENTRA_WEBHOOK_SECRET_{entry['name']}"),
            )
        )
    names = [s.name for s in stores]
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: store names must be unique ({', '.join(names)})")
    return tuple(stores)


def clock_offset(env: dict | None = None) -> dt.timedelta:
    """CENTRA_CLOCK_OFFSET: how far the product's clock runs ahead of the machine's (negative: behind), in seconds
    or with a unit (``-42d``, ``+3h``, ``90m``, ``-3600``); unset: none. An offset rather than a pinned instant, so
    the shifted clock still advances (runs, sensors and the daily schedules see time pass) and separate processes
    that inherit it agree without sharing a starting instant."""
    value = (os.environ if env is None else env).get(CLOCK_OFFSET) or ""
    if not value:
        return dt.timedelta()
    match = OFFSET.match(value)
    if not match:
        raise ValueError(f"{CLOCK_OFFSET}={value!r} is not an offset such as -42d, +3h, 90m or -3600 (seconds)")
    return dt.timedelta(seconds=float(match[1]) * UNIT_SECONDS[match[2]])


def settings_from_env(env: dict | None = None) -> Settings:
    env = os.environ if env is None else env
    clock_offset(env)  # a malformed offset fails when the definitions load, not at a run's first reading of the clock
    stores_file = env.get("CENTRA_STORES_FILE") or ""
    return Settings(
        warehouse_dir=env.get("CENTRA_WAREHOUSE_DIR") or "warehouse",
        timezone=_timezone(env.get("CENTRA_TIMEZONE") or "UTC", "CENTRA_TIMEZONE"),
        start_date=_date(env.get("CENTRA_START_DATE") or DEFAULT_START_DATE, "CENTRA_START_DATE"),
        duckdb_path=env.get("CENTRA_DUCKDB_PATH") or "",
        events_cron=env.get("CENTRA_EVENTS_CRON") or Settings.events_cron,
        snapshot_cron=env.get("CENTRA_SNAPSHOT_CRON") or Settings.snapshot_cron,
        store_name=_name(env.get("CENTRA_STORE") or DEFAULT_STORE, "CENTRA_STORE"),
        stores_file_stores=read_stores_file(stores_file) if stores_file else (),
        state_dir=env.get("CENTRA_STATE_DIR") or "",
        webhook_store=env.get("CENTRA_WEBHOOK_STORE") or "",
        rate_budget_url=_postgres_url(env.get("CENTRA_RATE_BUDGET_URL") or "", "CENTRA_RATE_BUDGET_URL"),
        dbt_target=env.get("DBT_TARGET") or "local",
        asset_owner=_owner(env.get("CENTRA_ASSET_OWNER") or ""),
    )
