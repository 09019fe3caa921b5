"""`centra-assets check` reports the token and exactly which read permissions are present and missing."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys

import pytest

from centra_sim.api.permissions import ALL_PERMISSIONS

from .test_readme import _permission_table


def run_check(centra, token: str, **more_env: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CENTRA_API_URL": centra.graphql_url, "CENTRA_API_TOKEN": token, **more_env}
    return subprocess.run(
        [sys.executable, "-m", "centra_assets.cli", "check"], env=env, capture_output=True, text=True, timeout=120
    )


def test_check_lists_the_permissions_the_queries_use(centra):
    result = run_check(centra, "test-token-full")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Token: accepted" in result.stdout and "All read permissions present" in result.stdout
    for permission in ("Order:read", "ProductSize.stock:read", "PurchaseOrderDelivery:read", "Return:read"):
        assert f"ok       {permission}" in result.stdout
    assert ":write" not in result.stdout.replace("no write permission", "")


def test_check_names_missing_permissions_exactly(centra):
    centra.admin(
        "tokens",
        {
            "token": "partial-token-123",
            "permissions": sorted(ALL_PERMISSIONS - {"Return:read", "ProductSize.stock:read"}),
        },
    )
    result = run_check(centra, "partial-token-123")
    assert result.returncode == 1
    assert "MISSING  ProductSize.stock:read" in result.stdout and "MISSING  Return:read" in result.stdout
    assert "2 read permission(s) missing: ProductSize.stock:read, Return:read" in result.stdout


def test_check_says_when_the_token_is_rejected_and_never_prints_it(centra):
    centra.admin("tokens", {"token": "expired-token-abcdef123", "expiresIn": 0})
    result = run_check(centra, "expired-token-abcdef123")
    assert result.returncode == 2
    assert "Token: REJECTED" in result.stdout and "Access token has expired" in result.stdout
    assert "expired-token-abcdef123" not in result.stdout + result.stderr


def test_check_goes_through_every_store_of_a_stores_file(centra, tmp_path):
    centra.admin(
        "tokens", {"token": "us-token-without-returns", "permissions": sorted(ALL_PERMISSIONS - {"Return:read"})}
    )
    stores = tmp_path / "stores.yaml"
    stores.write_text(
        "stores:\n"
        f"  - {{name: nordic, api_url: '{centra.graphql_url}', token_env: TOKEN_NORDIC}}\n"
        f"  - {{name: us, api_url: '{centra.graphql_url}', token_env: TOKEN_US}}\n"
    )
    env = {**os.environ, "CENTRA_STORES_FILE": str(stores), "TOKEN_NORDIC": "test-token-full"}
    env["TOKEN_US"] = "us-token-without-returns"
    result = subprocess.run(
        [sys.executable, "-m", "centra_assets.cli", "check"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1, result.stdout + result.stderr  # one store lacks a permission
    nordic, us = result.stdout.split("== store us ==")
    assert "== store nordic ==" in nordic and "All read permissions present" in nordic
    assert "MISSING  Return:read" in us
    assert "us-token-without-returns" not in result.stdout  # tokens are never printed


def test_check_fails_when_the_shared_rate_budgets_server_is_down(centra):
    from centra_sim.process import free_port

    password = "budget-password-0123456789"
    url = f"postgresql://centra:{password}@127.0.0.1:{free_port()}/budget"  # nothing listens there
    result = run_check(centra, "test-token-full", CENTRA_RATE_BUDGET_URL=url)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Rate budget: UNAVAILABLE" in result.stdout and "centra:***@127.0.0.1" in result.stdout
    assert "All read permissions present" in result.stdout  # the Centra checks ran too: one run names everything
    assert password not in result.stdout + result.stderr


def test_check_names_every_missing_permission_in_one_run(centra):
    """A token with a few permissions lacks the others in several places (types, nested fields under types it
    lacks, fields of types it holds): one run names every one, and calls none of them ok."""
    held = {"Order:read", "Product:read", "ProductSize:read", "ProductVariant:read"}
    centra.admin("tokens", {"token": "four-permissions-token", "permissions": sorted(held)})
    result = run_check(centra, "four-permissions-token")
    assert result.returncode == 1, result.stdout + result.stderr
    marks = {line.split()[1]: line.split()[0] for line in result.stdout.splitlines() if line.startswith("  ")}
    listed = {p for p, (ours, _, _) in _permission_table().items() if ours}  # the docs' list (test_readme.py)
    assert set(marks) >= listed
    # a permission read only below a denied field cannot be tested: named, but not called missing
    assert {p for p in listed if marks[p] not in ("MISSING", "unknown")} == held, result.stdout
    assert {marks[p] for p in held} == {"ok"}
    summary = result.stdout.split("read permission(s) missing: ")[1]
    assert set(re.findall(r"[A-Z]\w*(?:\.\w+)?:read", summary)) == listed - held, summary


@pytest.mark.slow  # it holds a port, as another process would
def test_dev_with_its_port_taken_fails_clearly_and_starts_nothing(tmp_path):
    from centra_sim.process import free_port

    with socket.socket() as other:  # another process's server on the UI's port
        port = free_port()
        other.bind(("127.0.0.1", port))
        other.listen()
        env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home")}
        dev = subprocess.Popen(
            [sys.executable, "-m", "centra_assets.cli", "dev", "--port", str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            out, _ = dev.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            dev.terminate()  # it stops the Dagster it started, as on Ctrl-C
            out, _ = dev.communicate(timeout=120)
    assert dev.returncode == 2, out
    assert f"Port {port} on 127.0.0.1 is taken" in out and "Dagster UI at" not in out
    assert not (tmp_path / "home" / "dagster-dev.log").exists()  # no Dagster was started
