"""Typed errors that say what to do. None of them ever carries the API token."""

from __future__ import annotations

TOKEN_HELP = (
    "Create a new Integration API token in Centra (System → API Tokens → + Integration API token, "
    "with the read permissions `centra-assets check` lists) and set it as CENTRA_API_TOKEN."
)


class CentraError(Exception):
    """Base class: anything that went wrong talking to Centra."""

    retryable = False


class CentraAuthError(CentraError):
    """The token was rejected (missing, invalid, revoked or expired). Never retried."""

    def __init__(self, detail: str):
        super().__init__(f"Centra rejected the API token: {detail}. {TOKEN_HELP}")


class CentraPermissionError(CentraError):
    """The token lacks read permissions; names each exactly, as Centra's messages do."""

    def __init__(
        self, missing: dict[str, str], message: str, used: list[str] | None = None, errors: list[dict] | None = None
    ):
        self.missing = missing  # permission -> the field that needs it
        self.used = used or []  # extensions.permissionsUsed: what the query would have used
        self.errors = errors or []  # Centra's errors as sent: each denied field's `path` (`check` reads past them)
        self.permission, self.field = next(iter(missing.items()))
        needs = ", ".join(f"{p} (needed to read `{f}`)" for p, f in missing.items())
        names = ", ".join(missing)
        super().__init__(
            f"The Centra token lacks the permission {needs}: {message} Add {names} to the token in Centra "
            "(System → API Tokens); centra-assets only needs read permissions."
        )


class CentraConfigError(CentraError):
    """The URL does not answer like a Centra GraphQL endpoint."""


class CentraQueryError(CentraError):
    """Centra refused the query itself (validation, schema drift, bad arguments). Never retried."""

    def __init__(self, message: str, errors: list[dict] | None = None):
        super().__init__(message)
        self.errors = errors or []  # Centra's GraphQL errors as sent (messages, locations, extensions)


class CentraSchemaError(CentraError):
    """The store's schema lacks a field a data type cannot do without (its key, partition date, refresh filter)."""


class CentraUnavailable(CentraError):
    """5xx, timeouts, resets or error pages that outlasted every retry."""

    retryable = True
