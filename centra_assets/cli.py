"""centra-assets: operator commands.

centra-assets check     connect with CENTRA_API_URL / CENTRA_API_TOKEN (or every store in CENTRA_STORES_FILE),
                        learn the store's schema, run every query the project uses once with the smallest limit,
                        and report the token, its read permissions, and the fields the store's schema lacks;
                        reach the shared rate budget's PostgreSQL (CENTRA_RATE_BUDGET_URL) if one is set
centra-assets queries   print the query of each data type (as a store with the documented schema is sent it);
                        --evidence: every Type.field they send, with the evidence that Centra has it
                        (centra_assets/entities/evidence.py) and, for an UNCONFIRMED one, what the sync does without it
centra-assets init      write the Dagster instance's settings to $DAGSTER_HOME/dagster.yaml (default ./.dagster_home):
                        run history kept there, the centra_api pool (at most 2 ops talk to Centra at once), a cap of
                        4 concurrent runs, a thread per sensor, telemetry off; settings already in the file are
                        kept
centra-assets dev       the Dagster UI and daemon on 127.0.0.1 with that instance (init first if needed); the
                        engine's log goes to $DAGSTER_HOME/dagster-dev.log
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml

from centra_assets.centra.client import CentraClient
from centra_assets.centra.errors import CentraAuthError, CentraError, CentraPermissionError, CentraSchemaError
from centra_assets.entities import ALL
from centra_assets.entities.evidence import evidence_table
from centra_assets.entities.query import default_plan, lacking_fields, plan_for


def project_queries(client: CentraClient | None = None) -> list[tuple[str, str, dict]]:
    """(data type, query, variables) for every query the project runs, with the smallest page: as fitted to the
    client's store, or as a store with the documented schema is sent them."""
    out = []
    for spec in ALL:
        plan = plan_for(client, spec) if client else default_plan(spec)
        out.append((spec.name, plan.document, {"where": None, "limit": 1, "page": 1}))
        light = spec.changes and (plan_for(client, spec.changes) if client else default_plan(spec.changes)).document
        for extra, document in (("count", spec.count_query), ("locate", light)):
            if document:
                variables = {"where": None} if extra == "count" else {"where": None, "limit": 1, "page": 1}
                out.append((f"{spec.name} ({extra})", document, variables))
    return out


def report_schema(client: CentraClient, out) -> bool:
    """Print what the store's schema lacks per data type; False when a data type cannot be synced at all."""
    schema = client.store_schema()
    how = "introspected" if schema.schema is not None else "introspection refused: learnt from validation errors"
    print(f"Centra version {schema.app_version} (schema {how})", file=out)
    fine = True
    lines = []
    for spec in ALL:
        try:
            plan = plan_for(client, spec)
        except CentraSchemaError as exc:
            lines.append(f"  CANNOT  {spec.name}: {exc}")
            fine = False
            continue
        except CentraPermissionError:
            continue  # named in the permissions report below
        for field in lacking_fields(plan):
            lines.append(f"  empty   {spec.name}: {field}")
        for column, path in plan.alternatives.items():
            lines.append(f"  alt     {spec.name}: {column} read from `{path}`")
    if lines:
        print("Fields this store's schema lacks (their columns stay empty) or names differently:", file=out)
        print("\n".join(lines), file=out)
    else:
        print("The store's schema has every field the project reads.", file=out)
    return fine


def check(url: str, token: str, out=sys.stdout) -> int:
    """0: everything readable; 1: read permissions missing; 2: token rejected or Centra unreachable."""
    client = CentraClient(url, token, max_attempts=3)
    print(f"Centra Integration API at {url}", file=out)
    try:
        limits = client.rate_limits()
    except CentraAuthError as exc:
        print(f"Token: REJECTED. {exc}", file=out)
        return 2
    except CentraError as exc:
        print(f"Cannot use Centra: {exc}", file=out)
        return 2
    print("Token: accepted", file=out)
    print(
        "Rate budget now (shared by every integration of the store): "
        + ", ".join(f"{b['type']} {b['remainingQuota']}/{b['quota']} per {b['intervalSeconds']}" for b in limits),
        file=out,
    )
    try:
        syncable = report_schema(client, out)
    except CentraError as exc:
        print(f"Cannot learn the store's schema: {exc}", file=out)
        return 2
    needed: dict[str, set[str]] = {}
    missing: dict[str, set[str]] = {}
    confirmed: set[str] = set()
    queries = project_queries(client)
    for name, query, variables in queries:
        try:
            used, denied, answered = _permissions_of(client, query, variables)
        except CentraError as exc:
            print(f"  {name}: the query failed: {exc}", file=out)
            return 2
        for permission in used:
            needed.setdefault(permission, set()).add(name)
        for permission in denied:
            missing.setdefault(permission, set()).add(name)
        confirmed |= answered
    # what no answered query used was never shown to be held: a field below a denied one is not read at all
    unknown = set(needed) - confirmed - set(missing)
    print(f"\nRead permissions the project's {len(queries)} queries use:", file=out)
    for permission in sorted(needed):
        mark = "MISSING" if permission in missing else "unknown" if permission in unknown else "ok     "
        print(f"  {mark}  {permission:<36} {', '.join(sorted(needed[permission]))}", file=out)
    writes = sorted(p for p in needed if not p.endswith(":read"))
    if writes:  # never expected: the sync is read-only
        print(f"\nUnexpected write permissions used: {', '.join(writes)}", file=out)
    untested = (
        f" {len(unknown)} could not be tested (Centra read no field needing them: below a missing permission, or "
        f"absent from the first record): {', '.join(sorted(unknown))}; make sure the token holds them."
        if unknown
        else ""
    )
    if missing:
        print(
            f"\n{len(missing)} read permission(s) missing: {', '.join(sorted(missing))}.{untested} Add them to the "
            "token in Centra (System → API Tokens), or create a new token with all of the above.",
            file=out,
        )
        return 1
    print(f"\nAll read permissions present.{untested} The project needs no write permission.", file=out)
    return 0 if syncable else 1


def _permissions_of(client: CentraClient, query: str, variables: dict) -> tuple[set[str], set[str], set[str]]:
    """(the permissions `query` uses, those Centra denied, those shown held: used by fields Centra read).

    Centra checks a permission when it reads a field: it names a denied field's permission, but not those of
    the fields below it, which it never reads, nor of fields no record on the page has (a wholesale order's
    buyer when the page holds a D2C order). So the query runs again without the denied fields until Centra
    answers it, and once more with only the fields its answer holds, whose permissions are then held. What
    neither shows stays untested: `check` names it, so one run lists everything the token may lack."""
    used: set[str] = set()
    denied: set[str] = set()
    first = True
    while query is not None:
        try:
            response = client.execute(query, variables)
        except CentraPermissionError as exc:
            used.update(exc.used)
            denied.update(exc.missing)
            query = _prune(query, denied=[e["path"] for e in exc.errors if e.get("path")])
            first = False
            continue
        except CentraError:
            if first:
                raise
            break  # the query without those fields is not valid: nothing more to learn
        answered = set(response.extensions.get("permissionsUsed") or [])
        read = _prune(query, answered=response.data)
        if read is not None:
            answered = set(client.execute(read, variables).extensions.get("permissionsUsed") or [])
        return used | set(response.extensions.get("permissionsUsed") or []), denied, answered
    return used, denied, set()


def _prune(query: str, denied: list[list] | None = None, answered: dict | None = None) -> str | None:
    """`query` without the fields at the `denied` response paths (list indices ignored), or with only the fields
    the `answered` data holds; None when nothing changed or nothing is left to ask."""
    from graphql import FieldNode, InlineFragmentNode, NameNode, SelectionSetNode, parse, print_ast

    gone = {tuple(step for step in path if isinstance(step, str)) for path in denied or []}
    changed = False

    def objects(values: list) -> list[dict]:
        out = []
        for value in values:
            out.extend(objects(value) if isinstance(value, list) else [value] if isinstance(value, dict) else [])
        return out

    def prune(selection_set: SelectionSetNode, at: tuple, held: list[dict] | None) -> SelectionSetNode | None:
        nonlocal changed
        kept = []
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                key = (node.alias or node.name).value
                values = None if held is None else [o[key] for o in held if key in o]
                if (*at, key) in gone or values == []:
                    changed = True
                    continue
                if node.selection_set is not None:
                    node.selection_set = prune(
                        node.selection_set, (*at, key), None if held is None else objects(values)
                    )
                    if node.selection_set is None:
                        continue
            elif isinstance(node, InlineFragmentNode):
                node.selection_set = prune(node.selection_set, at, held)
                if node.selection_set is None:
                    continue
            kept.append(node)
        if not kept and held is not None:  # read, but nothing below it was: the field's own check passed
            kept = [FieldNode(name=NameNode(value="__typename"))]
        return SelectionSetNode(selections=tuple(kept)) if kept else None

    document = parse(query)
    operation = document.definitions[0]
    operation.selection_set = prune(operation.selection_set, (), None if answered is None else [answered])
    return print_ast(document) if changed and operation.selection_set is not None else None


# What the pipeline needs of the Dagster instance. The sync's ops share one rate budget and draw on the
# `centra_api` pool; the pool's limit (the default limit of every pool) bounds how many talk to Centra at once.
# The run cap keeps a year's backfill from starting hundreds of runs. Telemetry stays on this machine.
INSTANCE_DEFAULTS = {
    "telemetry": {"enabled": False},
    "concurrency": {
        # ops talking to Centra at once (the centra_api pool), across every run. The run queue leaves the pool to
        # the steps (a buffer past any number of waiting steps): a run starts when a run slot is free, and its steps
        # take the pool's slots by priority, a refresh's (policy.REFRESH_PRIORITY) before a sync's or a backfill's.
        # Without it a run stays queued while any pool step waits anywhere, whatever its priority: a webhook's
        # refresh waited behind every step of a snapshot sync (issue #27's soak).
        "pools": {"default_limit": 2, "granularity": "op", "op_granularity_run_buffer": 100},
        # one build of the marts at a time (policy.MARTS_BUILD_TAG): one asked for by hand waits in the queue
        "runs": {"max_concurrent_runs": 4, "tag_concurrency_limits": [{"key": "centra/marts_build", "limit": 1}]},
    },
    # the project's own log lines (a run waiting for the warehouse's turn, and who holds it) in the run's event log
    "python_logs": {"managed_python_loggers": ["centra_assets"]},
    # the run queue starts a queued run within a second (Dagster's default: 5 s), and a change waits in it twice,
    # its refresh and then the marts' build (issue #27: webhook to `daily_sales` within a minute)
    "run_queue": {"dequeue_interval_seconds": 1},
    # the sensor daemon evaluates each sensor in a thread of its own: by default it evaluates them one after the
    # other, so a sweep tick of up to a minute (policy.TICK_SECONDS) or an automation tick held the webhook
    # sensor's next tick back by as much (issue #27). One thread per sensor of the code location (webhooks, event
    # queue, sweep, marts' automation); their work runs in the code server, the threads mostly wait.
    "sensors": {"use_threads": True, "num_workers": 4},
}


RUN_LIMITS = {"max_concurrent_runs", "tag_concurrency_limits", "block_op_concurrency_limited_runs"}


def dagster_home(env=None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get("DAGSTER_HOME") or ".dagster_home").resolve()


def _fill(config: dict, defaults: dict) -> dict:
    """`config` with every key of `defaults` it lacks (nested); what it already says wins."""
    out = dict(config)
    for k, v in defaults.items():
        out[k] = (
            _fill(out.get(k) or {}, v) if isinstance(v, dict) and isinstance(out.get(k, {}), dict) else out.get(k, v)
        )
    return out


def init_instance(home: Path) -> Path:
    """Write (or complete) $DAGSTER_HOME/dagster.yaml with the instance settings the pipeline relies on."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / "dagster.yaml"
    current = yaml.safe_load(path.read_text()) if path.exists() else None
    if current is not None and not isinstance(current, dict):
        raise SystemExit(f"{path} is not a YAML mapping; fix or remove it, then run `centra-assets init` again")
    # Dagster refuses the run limits there beside a `concurrency:` block, which holds the pool's limit (the dequeue
    # interval it takes from `run_queue:`)
    queue = (current or {}).get("run_queue") or {}
    older = ({"run_coordinator"} & set(current or {})) | ({"run_queue"} if set(queue) & RUN_LIMITS else set())
    if older:
        raise SystemExit(
            f"{path} configures the run queue under {', '.join(sorted(older))}, the older way. Move its "
            "max_concurrent_runs to `concurrency: runs: max_concurrent_runs: N` and remove that block (Dagster "
            "refuses both), then run `centra-assets init` again to add the centra_api pool's limit."
        )
    config = _fill(current or {}, INSTANCE_DEFAULTS)
    if config != current:
        path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def serve_dagster(port: str, env: dict, host: str = "127.0.0.1", out=sys.stdout) -> int:
    """`dagster dev` (UI and daemon) for the project's code location, its log in $DAGSTER_HOME/dagster-dev.log;
    stopped as a whole (its own process group) on Ctrl-C, SIGTERM or when it exits."""
    home = dagster_home(env)
    log_path = home / "dagster-dev.log"
    url = f"http://{host}:{port}"
    if taken := port_taken(host, port):
        print(taken, file=out, flush=True)
        return 2
    if threading.current_thread() is threading.main_thread():  # SIGTERM and SIGHUP stop it as Ctrl-C does
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, _interrupt)
    with open(log_path, "a") as log:
        dagster = subprocess.Popen(
            [sys.executable, "-m", "dagster", "dev", "-m", "centra_assets.definitions", "-h", host, "-p", port],
            env={**env, "DAGSTER_HOME": str(home)},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches this process only; it stops the group in order
        )
        print(f"Starting Dagster (instance {home}; its log: {log_path}) ...", file=out, flush=True)
        try:
            if _wait_for_ui(url, dagster):
                print(f"Dagster UI at {url}. Ctrl-C stops it.", file=out, flush=True)
            dagster.wait()
        except KeyboardInterrupt:
            pass
        finally:
            if threading.current_thread() is threading.main_thread():  # a second Ctrl-C must not cut this short
                for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                    signal.signal(signum, signal.SIG_IGN)
            if dagster.poll() is None:
                print("Stopping Dagster ...", file=out, flush=True)
                stop_session(dagster)
        return 0 if dagster.returncode in (0, -signal.SIGTERM, None) else dagster.returncode


def port_taken(host: str, port: str | int) -> str | None:
    """Why the UI cannot listen on `host`:`port` (another process holds it), in words; None if it can. Checked
    before anything starts: `dagster dev` would log its webserver's failure, run its daemon on, and the UI
    another process serves there would pass for its own."""
    import socket

    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the webserver binds: TIME_WAIT is fine
        try:
            probe.bind((host, int(port)))
        except OSError as exc:
            return (
                f"Port {port} on {host} is taken ({exc.strerror}): another process serves there. Stop it, or give "
                "the Dagster UI another port (--port, or DAGSTER_PORT). Nothing was started."
            )
    return None


def stop_session(proc: subprocess.Popen) -> None:
    """Stop a process started in a session of its own, with its children (`dagster dev` stops its own in order):
    SIGTERM to the group, SIGKILL after a minute."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def _interrupt(*_) -> None:
    raise KeyboardInterrupt


def _wait_for_ui(url: str, proc: subprocess.Popen) -> bool:
    import httpx

    while proc.poll() is None:
        try:
            if httpx.get(f"{url}/server_info", timeout=2).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(1)
    return False


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="centra-assets", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="check the token, its read permissions and the store's schema")
    queries = sub.add_parser("queries", help="print each data type's query, for review")
    queries.add_argument("data_types", nargs="*", help="data types (default: all)")
    queries.add_argument(
        "--evidence", action="store_true", help="list every Type.field the queries send with its evidence instead"
    )
    sub.add_parser("init", help="write the Dagster instance settings to $DAGSTER_HOME/dagster.yaml")
    dev = sub.add_parser("dev", help="the Dagster UI and daemon on 127.0.0.1, with the instance `init` writes")
    dev.add_argument("--port", default=os.environ.get("DAGSTER_PORT", "3000"))
    args = parser.parse_args(argv)
    if args.command in ("init", "dev"):
        home = dagster_home()
        path = init_instance(home)
        if args.command == "init":
            print(f"Dagster instance: {path}\n{path.read_text()}Use it: export DAGSTER_HOME={home}")
            return
        sys.exit(serve_dagster(args.port, {**os.environ, "DAGSTER_HOME": str(home)}))
    if args.command == "queries" and args.evidence:
        chosen = tuple(s for s in ALL if not args.data_types or s.name in args.data_types)
        names = {s.name for s in chosen}
        documents = [d for name, d, _ in project_queries() if name.split(" ")[0] in names]
        print("\n".join(evidence_table(documents, chosen)))
        return
    if args.command == "queries":
        for spec in ALL:
            if not args.data_types or spec.name in args.data_types:
                print(f"# {spec.name}\n{default_plan(spec).document}\n")
        return
    if args.command == "check":
        budget = check_rate_budget(os.environ.get("CENTRA_RATE_BUDGET_URL", ""))
        if os.environ.get("CENTRA_STORES_FILE"):
            sys.exit(max(budget, check_stores(os.environ["CENTRA_STORES_FILE"])))
        url, token = os.environ.get("CENTRA_API_URL"), os.environ.get("CENTRA_API_TOKEN")
        if not url or not token:
            print("Set CENTRA_API_URL (https://<store>.centra.com/graphql) and CENTRA_API_TOKEN first.")
            sys.exit(2)
        sys.exit(max(budget, check(url, token)))


def check_rate_budget(url: str, out=sys.stdout) -> int:
    """0: no shared rate budget is set (SQLite on this machine), or its PostgreSQL answers and holds its tables;
    2: the URL is not PostgreSQL's, or its server cannot be reached. Every run would fail on it, so `check`
    says so before they do (the Centra checks still run: one `check` names every problem)."""
    from centra_assets.centra.pacing import PostgresBudget, RateBudgetUnavailable
    from centra_assets.shared_state import is_postgres_url, redacted

    if not url:
        return 0
    if not is_postgres_url(url):  # the value may hold a password: not shown
        print(
            "Rate budget: CENTRA_RATE_BUDGET_URL must be a postgresql://user:password@host:port/database URL", file=out
        )
        return 2
    try:
        PostgresBudget(url, shown_as=redacted(url))
    except RateBudgetUnavailable as exc:
        print(f"Rate budget: UNAVAILABLE. {exc}", file=out)
        return 2
    print(f"Rate budget: shared in PostgreSQL {redacted(url)}", file=out)
    return 0


def check_stores(path: str, out=sys.stdout) -> int:
    """`check` for every store in a stores file; the worst exit code wins."""
    from centra_assets.settings import read_stores_file

    try:
        stores = read_stores_file(path)
    except ValueError as exc:
        print(exc, file=out)
        return 2
    worst = 0
    for store in stores:
        print(f"\n== store {store.name} ==", file=out)
        token = os.environ.get(store.token_env, "")
        if not token:
            print(f"Set {store.token_env} to the store's Integration API token.", file=out)
            worst = 2
            continue
        worst = max(worst, check(store.api_url, token, out))
    return worst


if __name__ == "__main__":
    main()
