"""How `centra-webhooks serve` runs the receiver's app: uvicorn, bounded so that it needs no reverse proxy to
survive what a client may send.

- Header size: uvicorn's h11 protocol with `h11_max_incomplete_event_size`; a request whose headers exceed it
  gets 400 and is closed, never buffered (the default httptools protocol buffers headers without bound).
- Time: a request must arrive whole (headers and body) within `REQUEST_SECONDS` of the connection opening, or
  of the previous response; else the connection is closed (slowloris). uvicorn bounds only the idle time
  between requests (`timeout_keep_alive`), so `_DeadlineProtocol` adds this one timer to its h11 protocol.
- Connections: `limit_concurrency`; over it, uvicorn answers 503 at once (Centra delivers again later).
"""

from __future__ import annotations

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

MAX_HEADER_BYTES = 16 * 1024  # a Centra delivery's headers are a few hundred bytes
REQUEST_SECONDS = 10.0  # Centra gives up on a delivery after 5 s: a genuine one arrives well within this
IDLE_SECONDS = 5  # between two requests on one connection (uvicorn's timeout_keep_alive)
MAX_CONNECTIONS = 1000  # below the usual 1,024 open-file limit: the process keeps files for its event store


class _DeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request to arrive whole."""

    request_seconds = REQUEST_SECONDS

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._deadline = self.loop.call_later(self.request_seconds, self._too_slow)

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state not in (h11.IDLE, h11.SEND_BODY):
            self._deadline.cancel()  # the request arrived whole (or the connection is over)

    def on_response_complete(self) -> None:
        self._deadline.cancel()
        self._deadline = self.loop.call_later(self.request_seconds, self._too_slow)  # the next request's
        super().on_response_complete()

    def connection_lost(self, exc) -> None:
        self._deadline.cancel()
        super().connection_lost(exc)

    def _too_slow(self) -> None:
        if not self.transport.is_closing() and self.conn.their_state in (h11.IDLE, h11.SEND_BODY):
            self.transport.close()  # the app, if it was reading the body, hears `http.disconnect`


def config(
    app,
    host: str,
    port: int,
    request_seconds: float = REQUEST_SECONDS,
    max_connections: int = MAX_CONNECTIONS,
    max_header_bytes: int = MAX_HEADER_BYTES,
) -> uvicorn.Config:
    """uvicorn's settings for the receiver, with its bounds (see the module's docstring)."""
    protocol = type("DeadlineProtocol", (_DeadlineProtocol,), {"request_seconds": request_seconds})
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=protocol,
        h11_max_incomplete_event_size=max_header_bytes,
        timeout_keep_alive=IDLE_SECONDS,
        limit_concurrency=max_connections,
        log_level="warning",
        access_log=False,
    )
