"""Where each piece of shared state lives, told from its location: PostgreSQL, or a local file.

The rate budget (centra/pacing.py), the webhook events (webhooks/store.py) and the warehouse's turns
(warehouse/turns.py) each live in PostgreSQL when their location is a ``postgresql://`` URL, shared by every
process of a deployment, and otherwise in a file of the local state folder (SQLite, a lock file), shared by
the processes of one machine. This module is the one place that rule is written, with the one way to name
such a URL in logs and messages without its password. The warehouse itself is the one location that may be
object storage (``s3://bucket/prefix``); `is_remote` tells it from a local folder. Imports nothing of the
project: every floor above may use it (`centra/` is handed the choice by its caller, defs/resources.py).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(location: str | Path | None) -> bool:
    """Whether a piece of shared state lives in PostgreSQL (else: a local file, or SQLite in memory for None)."""
    return str(location or "").startswith(POSTGRES_SCHEMES)


def is_remote(url: str) -> bool:
    """Whether the warehouse is on object storage (``s3://...``) rather than in a local folder."""
    return "://" in str(url) and not str(url).startswith("file://")


def redacted(url: str) -> str:
    """A database URL without its password, for logs and messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)).geturl()


def without_password(text: str, url: str) -> str:
    """`text` (a driver's error message) with the password of `url` replaced by ``***``."""
    password = urlsplit(url).password
    return text.replace(password, "***") if password else text
