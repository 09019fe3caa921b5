"""Running a simulator beside a program: `centra-sim serve` as a child process on a free 127.0.0.1 port, or an
ASGI app served from a thread (``BackgroundServer``), for the demo, the tests and the benchmarks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SimulatorProcess:
    """``with SimulatorProcess("--days", "7", token="t") as sim: sim.graphql_url`` — stopped by its PID on exit."""

    def __init__(self, *args: str, token: str, one_core: bool = False, quiet: bool = True):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.graphql_url = f"{self.url}/graphql"
        self.token = token
        self._cmd = [
            sys.executable,
            "-m",
            "centra_sim.cli",
            "serve",
            "--port",
            str(self.port),
            "--token",
            token,
            *args,
        ]
        self._one_core, self._quiet = one_core, quiet
        self.proc: subprocess.Popen | None = None
        self.startup_seconds = float("nan")

    def __enter__(self) -> SimulatorProcess:
        started = time.perf_counter()
        pin = (lambda: os.sched_setaffinity(0, {0})) if self._one_core else None
        self.proc = subprocess.Popen(
            self._cmd,
            preexec_fn=pin,
            stdout=subprocess.DEVNULL if self._quiet else None,
            stderr=subprocess.STDOUT if self._quiet else None,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{self.url}/admin/info", timeout=2)
                break
            except httpx.TransportError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"centra-sim did not start: {' '.join(self._cmd[3:])}") from None
                time.sleep(0.05)
        self.startup_seconds = time.perf_counter() - started
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> int | None:
        """SIGTERM by PID; uvicorn shuts down gracefully (and re-raises the signal, so the code is -15)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            return self.proc.wait(timeout=10)

    def rss_mb(self, field: str = "VmRSS") -> float:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1]) / 1024
        return float("nan")


class BackgroundServer:
    """Serve an ASGI app on 127.0.0.1 from a thread (tests, demo, bench): ``with BackgroundServer(app) as url``."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0):
        import uvicorn

        self._server = uvicorn.Server(
            uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="off")
        )
        self._thread = threading.Thread(target=self._server.run, name="centra-sim-http", daemon=True)
        self.url = ""

    def __enter__(self) -> str:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the HTTP server did not start")
            time.sleep(0.01)
        host, port = self._server.servers[0].sockets[0].getsockname()[:2]
        self.url = f"http://{host}:{port}"
        return self.url

    def __exit__(self, *exc) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
