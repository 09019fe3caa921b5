"""`centra-sim serve` as a child process on a free 127.0.0.1 port: for the demo, the tests and the benchmarks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
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
            "centra_assets.simulator.cli",
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
