"""A Docker engine of the test's own: Debian's dockerd as root on a private socket and data root, with no
bridge, no iptables and no forwarding (every container uses the host's network, so every address stays on
127.0.0.1), started in its own process group and stopped by PID; and the images the deployment runs.

No image registry is reachable here, so the base image is a Debian root filesystem from debootstrap, imported
with `docker import`. The host's CA bundle ($SSL_CERT_FILE) is trusted inside it so pip and uv reach PyPI; it
lives only in the local image, never in the repository.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BASE_IMAGE = "centra-assets-base:bookworm"
IMAGE = "centra-assets:latest"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
# what the image build needs from the repository (tracked files only: no .venv, warehouse or secrets)
BUILD_CONTEXT = (
    "pyproject.toml",
    "uv.lock",
    "README.md",
    "centra_assets",
    "centra_sim",
    "dbt_models",
    "deploy/Dockerfile",
)


def _log(message: str) -> None:
    print(f"[deploy {time.strftime('%H:%M:%S')}] {message}", flush=True)


def _mounts_under(path: Path) -> list[str]:
    prefix = str(path.resolve()) + "/"
    with open("/proc/self/mounts") as f:
        points = [line.split()[1] for line in f]
    return sorted((p for p in points if p.startswith(prefix)), key=len, reverse=True)


def remove_tree(path: Path) -> None:
    """Unmount whatever is left mounted below `path` (a debootstrap interrupted with /proc mounted, a
    container's shm), then delete it without ever crossing into another file system."""
    if not path.exists():
        return
    for point in _mounts_under(path):
        subprocess.run(["umount", "-l", point], check=False)
    subprocess.run(["rm", "-rf", "--one-file-system", str(path)], check=False)


class Engine:
    """``with Engine() as docker: docker.run("ps")``: dockerd and everything it ran are gone on exit."""

    def __init__(self) -> None:
        if os.geteuid() != 0:
            raise RuntimeError("the Docker deployment test starts dockerd, which needs root (run as root or sudo)")
        self.root = Path(tempfile.mkdtemp(prefix="cad-", dir="/tmp"))  # short: socket paths have a length limit
        self.socket = self.root / "docker.sock"
        self.env = {
            **os.environ,
            "DOCKER_HOST": f"unix://{self.socket}",
            "DOCKER_BUILDKIT": "0",  # the classic builder: no buildx plugin here
            "DOCKER_CONFIG": str(self.root / "client"),  # no credentials or settings from the user's ~/.docker
        }
        self.proc: subprocess.Popen | None = None
        self.driver = ""
        self.log = self.root / "dockerd.log"

    def __enter__(self) -> Engine:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        """overlay2 where the kernel and file system allow it (layers shared, not copied), else vfs."""
        for driver in ("overlay2", "vfs"):
            try:
                return self._start(driver)
            except RuntimeError as exc:
                _log(f"dockerd with --storage-driver={driver} failed: {exc}")
                self._kill()
                remove_tree(self.root / "data")
                remove_tree(self.root / "exec")
        raise RuntimeError(f"dockerd did not start with overlay2 or vfs (log: {self.log})")

    def _start(self, driver: str) -> None:
        cmd = [
            shutil.which("dockerd") or "/usr/sbin/dockerd",
            f"--storage-driver={driver}",
            "--iptables=false",
            "--ip6tables=false",
            "--ip-forward=false",
            "--ip-masq=false",
            "--bridge=none",
            f"--data-root={self.root / 'data'}",
            f"--exec-root={self.root / 'exec'}",
            f"--pidfile={self.root / 'dockerd.pid'}",
            f"--host=unix://{self.socket}",
        ]
        _log(f"dockerd ({driver}) on {self.socket}")
        self.proc = subprocess.Popen(
            cmd,
            stdout=subprocess.DEVNULL,
            stderr=open(self.log, "ab"),
            start_new_session=True,  # noqa: SIM115
        )
        deadline = time.monotonic() + 60
        while self.docker("version", check=False, quiet=True, stderr=subprocess.DEVNULL).returncode != 0:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dockerd did not start:\n{self.log.read_text()[-2000:]}")
            time.sleep(0.2)
        # a driver that starts may still fail to run a container: try the smallest one
        probe = self.root / "probe"
        probe.mkdir(exist_ok=True)
        tar = subprocess.run(["tar", "-C", str(probe), "-c", "."], check=True, capture_output=True).stdout
        self.docker("import", "-", "probe:1", input=tar, quiet=True, stderr=subprocess.DEVNULL)
        made = self.docker("create", "--network", "host", "probe:1", "/none", check=False, capture_output=True)
        if made.returncode != 0:
            raise RuntimeError(made.stderr.decode()[-1000:])
        self.docker("rm", made.stdout.decode().strip(), quiet=True)
        self.docker("rmi", "probe:1", quiet=True)
        self.driver = driver

    def docker(self, *args: str, check: bool = True, quiet: bool = False, **kw) -> subprocess.CompletedProcess:
        out = subprocess.DEVNULL if quiet else None
        return subprocess.run(["docker", *args], env=self.env, check=check, stdout=kw.pop("stdout", out), **kw)

    def output(self, *args: str) -> str:
        return subprocess.run(
            ["docker", *args], env=self.env, check=True, capture_output=True, text=True
        ).stdout.strip()

    def stop(self) -> None:
        """Every container removed, dockerd stopped by its PID (it stops the containerd it started), its folders
        deleted."""
        if self.proc is not None and self.proc.poll() is None:
            ids = self.docker("ps", "-aq", check=False, capture_output=True, text=True).stdout.split()
            if ids:
                self.docker("rm", "-f", "-v", *ids, check=False, quiet=True, stderr=subprocess.DEVNULL)
        self._kill()
        remove_tree(self.root)

    def _kill(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        try:  # anything of its process group left behind (containerd, shims): by the group dockerd led
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    # ------------------------------------------------------------------ images

    def build_base_image(self) -> None:
        """Debian bookworm with Python 3.11 and venv, from Debian's own packages, trusting the host's CAs."""
        rootfs = Path(tempfile.mkdtemp(prefix="cad-rootfs-", dir="/tmp"))
        try:
            _log("debootstrap bookworm (python3, python3-venv)")
            cmd = ["debootstrap", "--variant=minbase", "--include=python3,python3-venv", "bookworm", str(rootfs)]
            # its own process group: stopped whole (dpkg, wget, ...) if the test is interrupted
            boot = subprocess.Popen([*cmd, DEBIAN_MIRROR], stdout=subprocess.DEVNULL, start_new_session=True)
            try:
                if boot.wait() != 0:
                    raise RuntimeError(f"debootstrap failed (exit {boot.returncode})")
            finally:
                try:
                    os.killpg(boot.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                boot.wait()
            for mount in _mounts_under(rootfs):
                subprocess.run(["umount", "-l", mount], check=False)
            for junk in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man"):
                subprocess.run(["rm", "-rf", "--one-file-system", str(rootfs / junk)], check=False)
            ca = os.environ.get("SSL_CERT_FILE")
            changes = []
            if ca and Path(ca).is_file():
                target = rootfs / "etc/ssl/certs/host-ca-bundle.crt"
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(ca, target)
                bundle = "/etc/ssl/certs/host-ca-bundle.crt"
                changes = ["-c", f"ENV SSL_CERT_FILE={bundle}", "-c", f"ENV PIP_CERT={bundle}"]
            _log(f"docker import {BASE_IMAGE}")
            tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
            self.docker("import", *changes, "-", BASE_IMAGE, stdin=tar.stdout, quiet=True)
            if tar.wait() != 0:
                raise RuntimeError("tar of the debootstrap root failed")
        finally:
            remove_tree(rootfs)

    def build_image(self) -> None:
        """The project's image (deploy/Dockerfile) on that base, from the repository's tracked files."""
        files = subprocess.run(
            ["git", "ls-files", "-z", "--", *BUILD_CONTEXT], cwd=ROOT, check=True, capture_output=True
        ).stdout
        _log(f"docker build {IMAGE} from deploy/Dockerfile")
        tar = subprocess.Popen(
            ["tar", "-C", str(ROOT), "--null", "-T", "-", "-c"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        build = subprocess.Popen(
            ["docker", "build", "--network", "host", "--build-arg", f"BASE={BASE_IMAGE}"]
            + ["-f", "deploy/Dockerfile", "-t", IMAGE, "-"],
            env=self.env,
            stdin=tar.stdout,
        )
        try:
            tar.stdin.write(files)
            tar.stdin.close()
            tar.stdout.close()
            if build.wait() != 0 or tar.wait() != 0:
                raise RuntimeError("docker build of deploy/Dockerfile failed (its output is above)")
        finally:
            for proc in (build, tar):
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
