"""Builds and publishes on separate machines (Kubernetes pods: each its own disk, the warehouse on S3) take turns
through the PostgreSQL they already share for the rate budget (CENTRA_RATE_BUDGET_URL): a session advisory lock.
Each machine here is a process of its own with its own state folder; what they share is the PostgreSQL server."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import psycopg
import pytest

from centra_assets.settings import Settings
from centra_assets.warehouse import turns
from centra_sim.process import free_port

PASSWORD = "s3cret-pw"  # the test server trusts every login: a password is accepted, and must never be shown

# One run on one machine: a dbt build holding the turn until it is killed, or a refresh publishing one file.
RUN = """
import sys, time
from centra_assets.settings import Settings
from centra_assets.warehouse import publish, turns

role, warehouse, state, url, target = sys.argv[1:]
turns.WAIT_NOTICE_AFTER = 0.5
lock = turns.turn_lock(Settings(warehouse_dir=warehouse, state_dir=state, rate_budget_url=url))
if role == "build":
    with turns.taking_turns(lock):
        print("holding", flush=True)
        time.sleep(60)  # until killed
else:
    staged = publish.staging_file(target)
    staged.write_text("new")
    with publish.published_together(lock):
        publish.publish(staged, target)
"""


def run_on_a_machine(role: str, machine, warehouse: str, url: str, target="") -> subprocess.Popen:
    args = [role, warehouse, str(machine / "state"), url, str(target)]
    return subprocess.Popen(
        [sys.executable, "-c", RUN, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def waiting_for_advisory_locks(url: str) -> int:
    """Sessions waiting for an advisory lock in the database: PostgreSQL's own view, not the project's."""
    with psycopg.connect(url) as con:
        return con.execute(
            """SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
               AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"""
        ).fetchone()[0]


def with_password(url: str) -> str:
    return url.replace("postgres@", f"postgres:{PASSWORD}@", 1)


@pytest.mark.parametrize("shared", ["postgresql", "nothing"])
def test_a_publish_on_another_machine_waits_for_the_build_and_a_killed_build_gives_up_its_turn(
    postgres_server, tmp_path, shared
):
    url = with_password(postgres_server.new_database()) if shared == "postgresql" else ""
    warehouse = f"s3://centra-warehouse/{uuid.uuid4().hex[:8]}"  # the lock's key only: no object storage is read
    build = run_on_a_machine("build", tmp_path / "machine-a", warehouse, url)
    try:
        assert build.stdout.readline() == "holding\n", build.communicate()[1]
        target = tmp_path / "machine-b" / "orders.parquet"
        publish = run_on_a_machine("publish", tmp_path / "machine-b", warehouse, url, target)
        if shared == "nothing":  # a flock on each machine's own disk: the publish lands in the middle of the build
            assert publish.wait(timeout=30) == 0 and target.exists() and build.poll() is None
            return
        deadline = time.monotonic() + 30
        while not waiting_for_advisory_locks(url) and publish.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1)  # past the waiting notice
        assert publish.poll() is None and not target.exists()  # queued in PostgreSQL behind the build
        build.kill()  # SIGKILL: nothing of the build runs; PostgreSQL ends its session, and the lock with it
        build.wait()
        _, errors = publish.communicate(timeout=30)
    finally:
        build.kill()
        build.wait()
    assert publish.returncode == 0, errors
    assert target.read_text() == "new"
    assert f"waiting for the warehouse's turn (held by a build, pid {build.pid} on" in errors
    assert PASSWORD not in errors + build.stderr.read()


def test_a_turn_ends_with_its_block_and_a_turn_lost_while_held_is_an_error(postgres_server, tmp_path):
    url = with_password(postgres_server.new_database())
    lock = turns.turn_lock(Settings(warehouse_dir=str(tmp_path / "warehouse"), rate_budget_url=url))
    holders = """SELECT a.pid, a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                 WHERE l.locktype = 'advisory' AND l.granted AND a.datname = current_database()"""
    with psycopg.connect(url, autocommit=True) as con:
        with turns.taking_turns(lock, "a publish"):
            ((_, holder),) = con.execute(holders).fetchall()
            assert holder.startswith("a publish, pid ")
        assert con.execute(holders).fetchall() == []

        # the holder's connection ends mid-turn (PostgreSQL restarted, the network cut): the turn is gone, and a
        # build that read raw data meanwhile may have read half a publish, so it fails (and is tried again)
        with pytest.raises(turns.TurnUnavailable, match="lost the turn while holding it") as lost:
            with turns.taking_turns(lock):
                ((pid, _),) = con.execute(holders).fetchall()
                con.execute("SELECT pg_terminate_backend(%s)", (pid,))
        assert PASSWORD not in str(lost.value)


def test_an_unreachable_postgresql_is_a_clear_error_naming_its_host_without_the_password(tmp_path):
    url = f"postgresql://centra:{PASSWORD}@127.0.0.1:{free_port()}/dagster"
    lock = turns.turn_lock(Settings(warehouse_dir=str(tmp_path), rate_budget_url=url))
    assert PASSWORD not in repr(lock)
    with pytest.raises(turns.TurnUnavailable) as unreachable, turns.taking_turns(lock):
        pass
    message = str(unreachable.value)
    assert f"(CENTRA_RATE_BUDGET_URL, postgresql://centra:***@127.0.0.1:{url.rsplit(':', 1)[1]})" in message
    assert "cannot be reached" in message and PASSWORD not in message
