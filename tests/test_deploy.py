"""The deployment configuration in deploy/ is what Dagster accepts, checked against the schema of the thing that
reads each file. `make test-deploy` (deploy/tests) runs the Docker deployment for real; no Kubernetes cluster
runs here, so the Helm values are checked to carry the same container settings."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from centra_assets.settings import read_stores_file

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
POSTGRES_ENV = (
    "DAGSTER_POSTGRES_HOST",
    "DAGSTER_POSTGRES_PORT",
    "DAGSTER_POSTGRES_USER",
    "DAGSTER_POSTGRES_PASSWORD",
    "DAGSTER_POSTGRES_DB",
)
# Docker-only settings the Helm chart does not need: Dagster's database is the chart's `postgresql` section, the
# marts are not a local DuckDB file there, and the endpoint is only for S3-compatible stores.
DOCKER_ONLY = {*POSTGRES_ENV, "CENTRA_DUCKDB_PATH", "AWS_ENDPOINT_URL"}


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker" / "docker-compose.yml").read_text())


def test_the_docker_instance_uses_postgres_and_the_docker_run_launcher(monkeypatch):
    from dagster._config import process_config
    from dagster._core.instance.config import dagster_instance_config
    from dagster_docker import DockerRunLauncher

    for name in POSTGRES_ENV:
        monkeypatch.setenv(name, "5432")
    config, _ = dagster_instance_config(str(DEPLOY / "docker"), "dagster.yaml")  # raises on anything invalid
    assert config["storage"]["postgres"]["postgres_db"]["hostname"] == {"env": "DAGSTER_POSTGRES_HOST"}
    launcher = config["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_docker", "DockerRunLauncher")
    checked = process_config(DockerRunLauncher.config_type(), launcher["config"])
    assert checked.success, checked.errors
    # every variable a run needs is passed on to its container
    assert set(compose()["x-centra-env"]) == set(launcher["config"]["env_vars"])


def test_run_containers_mount_the_volumes_the_compose_file_creates():
    """Compose prefixes a volume's name with the project's unless the volume is named: a run container (started
    by the daemon, not by compose) would get an empty volume of its own, and its DuckDB file and stores file
    would not be the deployment's."""
    instance = yaml.safe_load((DEPLOY / "docker" / "dagster.yaml").read_text())
    volumes = compose()["volumes"]
    mounted = [v.split(":")[0] for v in instance["run_launcher"]["config"]["container_kwargs"]["volumes"]]
    assert mounted and all((volumes.get(name) or {}).get("name") == name for name in mounted)
    services = compose()["services"]
    for mount in instance["run_launcher"]["config"]["container_kwargs"]["volumes"]:
        assert mount.rsplit(":ro", 1)[0] in [v.rsplit(":ro", 1)[0] for v in services["daemon"]["volumes"]]


def test_the_compose_file_runs_every_part_from_one_image_on_the_hosts_loopback():
    services = compose()["services"]
    assert {"postgres", "centra-code", "webserver", "daemon", "webhooks"} <= set(services)
    assert {services[s]["image"] for s in services if s != "postgres"} == {"centra-assets:latest"}
    workspace = yaml.safe_load((DEPLOY / "docker" / "workspace.yaml").read_text())
    assert workspace["load_from"][0]["grpc_server"]["host"] == "127.0.0.1"
    for name, service in services.items():
        assert service["network_mode"] == "host" and "ports" not in service, name
        command = service.get("command", [])
        for flag in ("-h", "--host"):
            if flag in command:
                assert command[command.index(flag) + 1] == "127.0.0.1", name  # listens on loopback only


def test_the_helm_values_configure_the_k8s_run_launcher_and_postgres():
    from dagster._config import process_config
    from dagster_k8s import K8sRunLauncher

    values = yaml.safe_load((DEPLOY / "k8s" / "values.yaml").read_text())
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    assert deployment["dagsterApiGrpcArgs"] == ["-m", "centra_assets.definitions"]
    assert deployment["includeConfigInLaunchedRuns"]["enabled"]
    env = {e["name"]: e.get("value") for e in deployment["env"]}
    assert env["CENTRA_WAREHOUSE_DIR"].startswith("s3://") and env["DBT_TARGET"] != "local"
    assert values["postgresql"]["enabled"] is False and values["postgresql"]["postgresqlHost"]
    # the container settings the Docker deployment runs with (make test-deploy) are set for every pod too
    named = {e["name"] for e in deployment["env"]}
    assert set(compose()["x-centra-env"]) - DOCKER_ONLY <= named
    # the container settings the chart hands the launcher are valid run_k8s_config for K8sRunLauncher
    run_config = values["runLauncher"]["config"]["k8sRunLauncher"]["runK8sConfig"]
    checked = process_config(
        K8sRunLauncher.config_type(),
        {"run_k8s_config": {"container_config": run_config["containerConfig"]}, "instance_config_map": "x"},
    )
    assert checked.success, checked.errors


@pytest.mark.parametrize("path", ["stores.example.yaml"])
def test_the_example_stores_file_is_valid(path):
    stores = read_stores_file(ROOT / path)
    assert [s.name for s in stores] == ["nordic", "us"]
    assert all(s.token_env and s.webhook_secret_env and s.api_url for s in stores)


def test_a_bad_stores_file_gets_a_clear_error(tmp_path):
    bad = tmp_path / "stores.yaml"
    bad.write_text("stores:\n  - name: Nordic Store\n    api_url: https://x\n    token_env: T\n")
    with pytest.raises(ValueError, match="a store name is a lower-case letter"):
        read_stores_file(bad)
    bad.write_text("stores:\n  - name: a\n    api_url: https://x\n    token: secret\n")
    with pytest.raises(ValueError, match="unknown field"):
        read_stores_file(bad)
    twice = "  - name: a\n    api_url: https://x\n    token_env: T\n"
    bad.write_text("stores:\n" + twice + twice)
    with pytest.raises(ValueError, match="unique"):
        read_stores_file(bad)


def test_a_store_whose_token_variable_is_unset_says_which_variable(monkeypatch, tmp_path):
    from centra_assets.defs.resources import CentraResource
    from centra_assets.settings import Store

    monkeypatch.delenv("CENTRA_TOKEN_NOWHERE", raising=False)
    store = Store(name="nowhere", api_url="https://nowhere.example/graphql", token_env="CENTRA_TOKEN_NOWHERE")
    with pytest.raises(RuntimeError, match="set CENTRA_TOKEN_NOWHERE"):
        CentraResource(pacer_path=str(tmp_path / "b.sqlite")).client(store)
