"""Real servers for the "beyond one machine" runs of the tests and benchmarks: PostgreSQL (Debian's package) and an
S3-compatible store (moto's server mode), both on 127.0.0.1, started once per process and stopped by PID."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psycopg

from ..process import free_port

BUCKET = "centra-warehouse"


def _wait(ready, what: str, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            if ready():
                return
        except Exception:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start within {seconds} s")


def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, sig)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def postgres_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name)]
    if not found[-1]:
        raise RuntimeError(f"PostgreSQL's {name} is not installed: `make test` installs Debian's postgresql package")
    return found[-1]


class Postgres:
    """A throwaway cluster in a temp folder. PostgreSQL refuses to run as root, so as root it runs as the
    `postgres` user the Debian package creates (setpriv execs, so the PID we hold is the server's)."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="centra-pg-"))
        self.port = free_port()
        as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            as_user = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"]
        self._as_user, self.data = as_user, self.dir / "data"
        initdb = [postgres_bin("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8"]
        subprocess.run([*as_user, *initdb], check=True, stdout=subprocess.DEVNULL)
        self._start()

    def _start(self) -> None:
        self.proc = subprocess.Popen(
            [
                *self._as_user,
                postgres_bin("postgres"),
                "-D",
                str(self.data),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-k",
                str(self.dir),
                "-c",
                "fsync=off",  # a throwaway test server: durability is PostgreSQL's, not under test here
                "-c",
                "max_connections=200",
            ],
            stdout=subprocess.DEVNULL,
            stderr=open(self.dir / "server.log", "ab"),  # noqa: SIM115 (the server owns it until it stops)
        )
        _wait(lambda: psycopg.connect(self.url("postgres"), connect_timeout=1).close() or True, "PostgreSQL", self.proc)

    def restart(self) -> None:
        """Stop the server ("fast" shutdown: every session is ended, as in a crash or an upgrade) and start it
        again on the same port and data: what long-running clients must survive."""
        _stop(self.proc, signal.SIGINT)
        self._start()

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self, template: str | None = None) -> str:
        name = f"t_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as con:
            con.execute(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
        return self.url(name)

    def stop(self) -> None:
        _stop(self.proc, signal.SIGINT)  # "fast" shutdown
        shutil.rmtree(self.dir, ignore_errors=True)


class S3:
    """moto's S3 in server mode, a real HTTP endpoint; the AWS variables point this process (and the dbt
    subprocesses it starts) at it."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait(lambda: httpx.get(f"{self.endpoint}/moto-api/", timeout=1).status_code == 200, "moto", self.proc)
        os.environ.update(
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION="us-east-1",
            AWS_ENDPOINT_URL=self.endpoint,
        )
        httpx.put(f"{self.endpoint}/{BUCKET}").raise_for_status()  # the bucket is the operator's to create

    def url(self, prefix: str) -> str:
        return f"s3://{BUCKET}/{prefix}"

    def stop(self) -> None:
        _stop(self.proc)
