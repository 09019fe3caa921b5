"""The Docker deployment (deploy/Dockerfile, deploy/docker/*) run for real, as `docker-compose` runs it.

A Docker engine of the test's own builds the project's image and runs the code location, webserver, daemon
and webhook receiver from deploy/docker/docker-compose.yml. Around them, on 127.0.0.1: PostgreSQL (Dagster's
runs, the webhook events, the rate budget), moto's S3 server (the warehouse) and two simulated Centra stores.
The tests drive it only from outside, as an operator does: the UI's GraphQL API, a signed webhook, and the
files the deployment writes (S3, the state folder). They run in order, on one deployment.

Not collected by `make test` (pytest's testpaths is tests/); `make test-deploy` runs them.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import signal
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import httpx
import psycopg
import pyarrow.parquet as pq
import pytest
import s3fs
from engine import IMAGE, ROOT, Engine, _log, remove_tree

from centra_assets.webhooks.signature import sign
from centra_sim.process import SimulatorProcess, free_port
from centra_sim.testing.services import S3, Postgres

COMPOSE_FILE = ROOT / "deploy" / "docker" / "docker-compose.yml"
PROJECT = "centra"
LOCATION = "centra_assets"
REPOSITORY = "__repository__"
TOKEN = "deploy-test-token"
STORES = {  # name: (seed, timezone): different data, days cut in different places
    "nordic": (5, "Europe/Stockholm"),
    "us": (6, "America/New_York"),
}
IN_PROCESS = {"execution": {"config": {"in_process": {}}}}  # every step in the run's own process
RUN_TIMEOUT = 600  # seconds for one run: a container start plus the definitions load on a busy 2-core machine


class Deployment:
    """Everything the test starts, and its stop (idempotent, also after a failure halfway)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.engine: Engine | None = None
        self.postgres: Postgres | None = None
        self.s3: S3 | None = None
        self.stores: dict[str, SimulatorProcess] = {}
        self.webhook_secrets = {name: secrets.token_hex(16) for name in STORES}
        self.pg_password = secrets.token_hex(12)
        self.ports = {"web": free_port(), "code": free_port(), "hooks": free_port()}
        self.config_dir, self.data_dir = workdir / "config", workdir / "data"
        self.env_file = workdir / "deployment.env"
        self.warehouse = ""

    # ------------------------------------------------------------ start

    def start_services(self) -> None:
        """PostgreSQL, S3 and the two stores on the host, as a real deployment finds them outside Docker."""
        self.postgres = Postgres()
        with psycopg.connect(self.postgres.url("postgres"), autocommit=True) as con:
            con.execute(f"CREATE ROLE dagster LOGIN PASSWORD '{self.pg_password}'")
            con.execute("CREATE DATABASE dagster OWNER dagster")
        self.s3 = S3()  # also points this process's AWS_* variables at it
        self.warehouse = self.s3.url("deployed")
        for name, (seed, tz) in STORES.items():
            sim = SimulatorProcess(
                *("--seed", str(seed), "--days", "3", "--orders-per-day", "25", "--timezone", tz, "--no-rate-limits"),
                token=TOKEN,
            )
            self.stores[name] = sim.__enter__()
        self.config_dir.mkdir()
        self.data_dir.mkdir()
        lines = ["stores:"]
        for name, (_, tz) in STORES.items():
            start = (dt.datetime.now(ZoneInfo(tz)).date() - dt.timedelta(days=3)).isoformat()
            lines += [
                f"  - name: {name}",
                f"    api_url: {self.stores[name].graphql_url}",
                f"    token_env: CENTRA_TOKEN_{name.upper()}",
                f"    webhook_secret_env: CENTRA_WEBHOOK_SECRET_{name.upper()}",
                f"    timezone: {tz}",
                f"    start_date: {start}",
            ]
        (self.config_dir / "stores.yaml").write_text("\n".join(lines) + "\n")
        env = {
            "DAGSTER_POSTGRES_HOST": "127.0.0.1",
            "DAGSTER_POSTGRES_PORT": self.postgres.port,
            "DAGSTER_POSTGRES_PASSWORD": self.pg_password,
            "CENTRA_WAREHOUSE_DIR": self.warehouse,
            "CENTRA_CONFIG_DIR": self.config_dir,
            "CENTRA_DATA_DIR": self.data_dir,
            "DBT_TARGET": "local",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": self.s3.endpoint,
            "DAGSTER_WEBSERVER_PORT": self.ports["web"],
            "CENTRA_CODE_PORT": self.ports["code"],
            "CENTRA_WEBHOOKS_PORT": self.ports["hooks"],
            **{f"CENTRA_TOKEN_{n.upper()}": TOKEN for n in STORES},
            **{f"CENTRA_WEBHOOK_SECRET_{n.upper()}": s for n, s in self.webhook_secrets.items()},
        }
        self.env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))

    def start_engine(self) -> None:
        self.engine = Engine()
        self.engine.start()
        self.engine.build_base_image()
        self.engine.build_image()
        self.env_file.write_text(self.env_file.read_text() + f"DOCKER_SOCKET={self.engine.socket}\n")

    def compose(self, *args: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
        cmd = ["docker-compose", "-p", PROJECT, "-f", str(COMPOSE_FILE), "--env-file", str(self.env_file), *args]
        return subprocess.run(cmd, env=self.engine.env, check=check, **kw)

    def up(self, *services: str) -> None:
        _log(f"docker-compose up -d {' '.join(services)}")
        self.compose("up", "-d", "--no-build", *services)

    # ------------------------------------------------------------ talk to it

    @property
    def ui(self) -> str:
        return f"http://127.0.0.1:{self.ports['web']}"

    def graphql(self, query: str, **variables) -> dict:
        response = httpx.post(f"{self.ui}/graphql", json={"query": query, "variables": variables}, timeout=60)
        response.raise_for_status()
        body = response.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]

    def logs(self) -> str:
        if self.engine is None or self.engine.proc is None or self.engine.proc.poll() is not None:
            return ""
        done = self.compose("logs", "--no-color", "--tail", "60", check=False, capture_output=True, text=True)
        return done.stdout + done.stderr

    def run_containers(self, run_id: str) -> list[dict]:
        ids = self.engine.output("ps", "-aq", "--filter", f"label=dagster/run_id={run_id}").split()
        return json.loads(self.engine.output("inspect", *ids)) if ids else []

    # ------------------------------------------------------------ stop

    def stop(self) -> None:
        """Every container (the compose services and the runs), dockerd, the servers: by PID, in reverse."""
        if self.engine is not None:
            if self.engine.proc is not None and self.engine.proc.poll() is None:
                runs = self.engine.output("ps", "-aq", "--filter", "label=dagster/run_id").split()
                if runs:  # first the runs' containers, which hold the compose file's volumes too
                    self.engine.docker("rm", "-f", *runs, check=False, quiet=True)
                self.compose("down", "-v", "--remove-orphans", "-t", "5", check=False)
            self.engine.stop()
        for sim in self.stores.values():
            sim.stop()
        if self.s3 is not None:
            self.s3.stop()
        if self.postgres is not None:
            self.postgres.stop()
        remove_tree(self.workdir)


def wait_for(what: str, check, timeout: float, deployment: Deployment, every: float = 2.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as exc:  # not up yet
            last = exc
        time.sleep(every)
    raise AssertionError(f"{what}: not within {timeout:.0f} s (last error: {last!r})\n{deployment.logs()}")


RUN = """query($id: ID!) { runOrError(runId: $id) { __typename
  ... on Run { status tags { key value } } ... on PythonError { message } } }"""


def wait_for_run(deployment: Deployment, run_id: str) -> dict:
    def finished():
        run = deployment.graphql(RUN, id=run_id)["runOrError"]
        if run.get("status") in ("SUCCESS", "FAILURE", "CANCELED"):
            return run
        return None

    run = wait_for(f"run {run_id}", finished, RUN_TIMEOUT, deployment, every=5)
    if run["status"] != "SUCCESS":
        events = deployment.graphql(
            """query($id: ID!) { logsForRun(runId: $id) { ... on EventConnection { events {
               __typename ... on MessageEvent { message } } } } }""",
            id=run_id,
        )["logsForRun"]["events"]
        messages = "\n".join(e.get("message") or e["__typename"] for e in events[-40:])
        raise AssertionError(f"run {run_id} ended {run['status']}:\n{messages}\n{deployment.logs()}")
    return run


def launch(
    deployment: Deployment, job: str, tags: dict | None = None, assets: list | None = None, config: dict | None = None
) -> str:
    selector = {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY, "pipelineName": job}
    if assets:
        selector["assetSelection"] = [{"path": a} for a in assets]
    result = deployment.graphql(
        """mutation($params: ExecutionParams!) { launchPipelineExecution(executionParams: $params) {
             __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
             ... on RunConfigValidationInvalid { errors { message } } ... on InvalidSubsetError { message } } }""",
        params={
            "selector": selector,
            "runConfigData": config or {},
            "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]},
        },
    )["launchPipelineExecution"]
    assert result["__typename"] == "LaunchRunSuccess", result
    return result["run"]["runId"]


def partition_tags(day: str, store: str) -> dict:
    """The tags the UI gives a run of one day-by-store partition."""
    return {"dagster/partition": f"{day}|{store}", "dagster/partition/date": day, "dagster/partition/store": store}


def store_day(name: str, days_back: int) -> str:
    return (dt.datetime.now(ZoneInfo(STORES[name][1])).date() - dt.timedelta(days=days_back)).isoformat()


def truth(sim: SimulatorProcess, entity: str, day: str, tz: str) -> list[dict]:
    start = dt.datetime.fromisoformat(day).replace(tzinfo=ZoneInfo(tz))
    window = {"from": start.isoformat(), "to": (start + dt.timedelta(days=1)).isoformat()}
    url = f"{sim.url}/admin/ground-truth/{entity}?{urllib.parse.urlencode(window)}"
    return httpx.get(url, timeout=60).json()["rows"]


def read_raw(deployment: Deployment, store: str, table: str, day: str):
    """A partition as the deployment left it in the bucket, read back with s3fs and pyarrow."""
    fs = s3fs.S3FileSystem(key="testing", secret="testing", endpoint_url=deployment.s3.endpoint)
    path = f"{deployment.warehouse[len('s3://') :]}/store={store}/raw/{table}/date={day}/data.parquet"
    with fs.open(path, "rb") as f:
        return pq.read_table(f)


def _interrupt(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    # SIGTERM (a CI timeout, a killed make) unwinds like Ctrl-C, so the stop below still runs
    previous = signal.signal(signal.SIGTERM, _interrupt)
    d = Deployment(Path(tmp_path_factory.mktemp("deployment")))
    try:
        d.start_services()
        d.start_engine()
        d.up("centra-code")
        wait_for(
            "the code location's gRPC server",
            lambda: (
                subprocess.run(
                    [sys.executable, "-m", "dagster", "api", "grpc-health-check", "--port", str(d.ports["code"])],
                    capture_output=True,
                ).returncode
                == 0
            ),
            300,
            d,
        )
        d.up("webserver", "webhooks")
        wait_for("the webserver", lambda: httpx.get(f"{d.ui}/server_info", timeout=5).status_code == 200, 300, d)
        yield d
    finally:
        _log("stopping everything the test started")
        d.stop()
        signal.signal(signal.SIGTERM, previous)


def test_the_ui_answers_and_loads_the_code_location(deployment):
    assert ">Dagster</title>" in httpx.get(deployment.ui, timeout=30).text
    entries = deployment.graphql(
        """{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus
             locationOrLoadError { __typename ... on PythonError { message } } } } } }"""
    )["workspaceOrError"]["locationEntries"]
    assert [(e["name"], e["locationOrLoadError"]["__typename"]) for e in entries] == [
        (LOCATION, "RepositoryLocation")
    ], entries


def test_only_the_webhook_sensor_ticks_then_the_daemon_starts(deployment):
    """Schedules and sensors that would start runs on their own (the sweep, the daily schedules, the marts'
    automation) are stopped, so each run below is the one the test asked for; the webhook sensor is started.
    Then the daemon, which launches runs."""
    repo = {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY}
    found = deployment.graphql(
        """query($repo: RepositorySelector!) {
             sensorsOrError(repositorySelector: $repo) {
               ... on Sensors { results { id name sensorState { status } } } }
             schedulesOrError(repositorySelector: $repo) {
               ... on Schedules { results { id name scheduleState { status } } } }
           }""",
        repo=repo,
    )
    for sensor in found["sensorsOrError"]["results"]:
        if sensor["sensorState"]["status"] == "RUNNING":
            deployment.graphql("mutation($id: String) { stopSensor(id: $id) { __typename } }", id=sensor["id"])
    for schedule in found["schedulesOrError"]["results"]:
        if schedule["scheduleState"]["status"] == "RUNNING":
            deployment.graphql(
                "mutation($id: String) { stopRunningSchedule(id: $id) { __typename } }", id=schedule["id"]
            )
    started = deployment.graphql(
        """mutation($s: SensorSelector!) { startSensor(sensorSelector: $s) {
             __typename ... on Sensor { sensorState { status } } ... on PythonError { message } } }""",
        s={**repo, "sensorName": "centra_webhook_sensor"},
    )["startSensor"]
    assert started["__typename"] == "Sensor", started
    deployment.up("daemon")
    names = {s["name"] for s in found["sensorsOrError"]["results"]}
    assert {"centra_webhook_sensor", "centra_sweep_sensor"} <= names


@pytest.fixture(scope="module")
def snapshots(deployment):
    """Today's snapshots of the nordic store (the marts need every raw table), launched early so they run
    beside the other runs; in one process, as it is only the marts' input here: its run id."""
    # snapshots are partitioned by store only: a snapshot is always today's
    run_id = launch(deployment, "centra_snapshots", tags={"dagster/partition": "nordic"}, config=IN_PROCESS)
    _log(f"launched centra_snapshots for nordic: run {run_id}")
    return run_id


@pytest.fixture(scope="module")
def synced_day(deployment, snapshots):
    """A launched run of centra_events for yesterday in the nordic store: (run id, run, day)."""
    day = store_day("nordic", 1)
    run_id = launch(deployment, "centra_events", tags=partition_tags(day, "nordic"))
    _log(f"launched centra_events for {day}|nordic: run {run_id}")
    return run_id, wait_for_run(deployment, run_id), day


def test_a_launched_run_runs_in_a_container_of_its_own_and_writes_the_warehouse_to_s3(deployment, synced_day):
    run_id, run, day = synced_day
    (container,) = deployment.run_containers(run_id)  # started by the DockerRunLauncher, labelled with the run
    assert container["Config"]["Image"] == IMAGE
    assert container["HostConfig"]["NetworkMode"] == "host"
    assert container["State"]["ExitCode"] == 0
    assert container["Config"]["Labels"]["dagster/job_name"] == "centra_events"
    assert "com.docker.compose.project" not in container["Config"]["Labels"]  # not one of the compose services
    expected = truth(deployment.stores["nordic"], "orders", day, STORES["nordic"][1])
    orders = read_raw(deployment, "nordic", "orders", day)
    assert expected and sorted(orders.column("order_number").to_pylist()) == sorted(o["number"] for o in expected)
    assert set(orders.column("_store").to_pylist()) == {"nordic"}
    lines = read_raw(deployment, "nordic", "order_lines", day)
    assert lines.num_rows == sum(o["line_count"] for o in expected)


def test_a_signed_webhook_leads_the_sensor_to_a_refresh_run_in_a_container(deployment, synced_day):
    _, _, day = synced_day
    order = truth(deployment.stores["nordic"], "orders", day, STORES["nordic"][1])[0]["number"]
    before = read_raw(deployment, "nordic", "orders", day).to_pylist()
    loaded_before = {r["order_number"]: r["_loaded_at"] for r in before}
    now = dt.datetime.now(ZoneInfo(STORES["nordic"][1]))
    event = {"type": "order", "action": "update", "id": str(order), "date": now.strftime("%Y-%m-%d %H:%M:%S.%f")}
    body = ("payload=" + urllib.parse.quote(json.dumps({"events": [event]}), safe="")).encode()
    hooks = f"http://127.0.0.1:{deployment.ports['hooks']}/webhooks/centra/nordic"
    response = httpx.post(
        hooks,
        content=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Centra-Signature": sign(deployment.webhook_secrets["nordic"], body),
        },
        timeout=30,
    )
    assert response.status_code == 200, response.text
    unsigned = httpx.post(hooks, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert unsigned.status_code == 401

    def refresh_run():
        query = "{ runsOrError { ... on Runs { results { runId tags { key value } } } } }"
        runs = deployment.graphql(query)["runsOrError"]["results"]
        for run in runs:
            tags = {t["key"]: t["value"] for t in run["tags"]}
            if tags.get("centra/reason", "").startswith("webhook"):
                return run["runId"]
        return None

    run_id = wait_for("the webhook sensor's refresh run", refresh_run, 300, deployment, every=5)
    _log(f"the webhook sensor asked for run {run_id}")
    run = wait_for_run(deployment, run_id)
    tags = {t["key"]: t["value"] for t in run["tags"]}
    assert tags["dagster/partition"] == f"{day}|nordic"
    (container,) = deployment.run_containers(run_id)
    assert container["Config"]["Image"] == IMAGE and container["State"]["ExitCode"] == 0
    after = {r["order_number"]: r["_loaded_at"] for r in read_raw(deployment, "nordic", "orders", day).to_pylist()}
    assert after.keys() == loaded_before.keys()  # merged into its partition, nothing lost
    # that order re-fetched (its run says so); rewritten only if Centra changed it since the sync (a refresh that
    # finds a record unchanged leaves the partition as it was: no new materialization, issue #27)
    logs = """query($id: ID!) { runOrError(runId: $id) { ... on Run {
      eventConnection { events { ... on MessageEvent { message } } } } } }"""
    events = deployment.graphql(logs, id=run_id)
    messages = [e.get("message") or "" for e in events["runOrError"]["eventConnection"]["events"]]
    assert any(f"orders {day}: 1 records refreshed" in m for m in messages), messages
    assert after[order] >= loaded_before[order]
    assert all(after[n] == loaded_before[n] for n in after if n != order)  # and only that one


def test_the_marts_build_on_the_target_the_deployment_configures(deployment, synced_day, snapshots):
    """DBT_TARGET=local: dbt builds the DuckDB file on the state volume, which outlives the run's container
    and is the host folder CENTRA_DATA_DIR. It needs every raw table, so today's snapshots first."""
    _, _, day = synced_day
    wait_for_run(deployment, snapshots)
    nodes = deployment.graphql("{ assetNodes { assetKey { path } } }")["assetNodes"]
    marts = [n["assetKey"]["path"] for n in nodes if n["assetKey"]["path"][0] == "analytics"]  # every model
    run_id = launch(deployment, "__ASSET_JOB", assets=marts)
    _log(f"launched the dbt build: run {run_id}")
    wait_for_run(deployment, run_id)
    assert len(deployment.run_containers(run_id)) == 1
    expected = truth(deployment.stores["nordic"], "orders", day, STORES["nordic"][1])
    with duckdb.connect(str(deployment.data_dir / "centra.duckdb"), read_only=True) as con:
        built = con.execute("SELECT order_number FROM fct_orders WHERE store = 'nordic'").fetchall()
        sales = con.execute("SELECT sum(orders) FROM daily_sales WHERE store = 'nordic'").fetchone()[0]
    assert sorted(n for (n,) in built) == sorted(o["number"] for o in expected)  # the one day synced
    assert sales == sum(o["status"] != "CANCELLED" for o in expected)


def test_everything_it_started_is_stopped_and_removed(deployment):
    engine = deployment.engine
    dockerd, root = engine.proc.pid, engine.root
    servers = [deployment.postgres.proc, deployment.s3.proc, *(s.proc for s in deployment.stores.values())]
    assert engine.output("ps", "-aq")  # the deployment's containers and the runs' are there until now
    deployment.stop()
    assert not Path(f"/proc/{dockerd}").exists(), "dockerd still running"
    assert all(p.poll() is not None for p in servers)
    assert not root.exists() and not deployment.workdir.exists()
    leftovers = subprocess.run(["pgrep", "-f", str(root)], capture_output=True, text=True).stdout.split()
    assert not leftovers, f"processes of the engine left: {leftovers}"
    deployment.stop()  # and a second stop (the fixture's) is harmless
