"""The dbt models as Dagster assets: lineage from every Centra asset to every mart, every dbt test an asset check
with a short name and a description, typed column schemas and row counts on every build, marts that refresh
themselves when the raw data they read changes, and one atomic publish per build."""

import hashlib
import importlib.metadata
import json
import re
import sys
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets
from packaging import version

from centra_assets.settings import Settings
from centra_assets.warehouse import files, layout, turns
from centra_assets.warehouse.publish import building, interrupted

from ..policy import BUILD_RETRY, REFRESH_WHEN_UPSTREAM_CHANGES, owners, raw_freshness
from .changes import asset_key, changed_partitions, code_version, macros_called, told_to_dbt
from .project import DBT_PROJECT


class CentraDbtTranslator(DagsterDbtTranslator):
    """dbt source `centra.<table>` is the Centra asset `centra/<table>`, source `analytics.<table>` the Python asset
    `analytics/<table>` (models/marts/_analytics__sources.yml); models are `analytics/<model>`, staging ones
    shortened to `analytics/stg_<table>` (the graph cuts `stg_centra__purchase_order_lines` to a few letters).
    Groups follow the layers: `analytics` (marts), `analytics_intermediate`, `analytics_staging`."""

    def __init__(self, freshness: dg.FreshnessPolicy | None = None, owners: list[str] | None = None):
        super().__init__()
        self.freshness = freshness  # the raw assets' (policy.raw_freshness): the marts follow the store's calendar too
        self.owners = owners or []  # the deployment's (policy.owners)

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: Any) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        return spec if spec.key.path[0] == "centra" else spec.replace_attributes(freshness_policy=self.freshness)

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        return asset_key(dbt_resource_props)  # one naming, shared with changes.py

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str:
        fqn = dbt_resource_props.get("fqn", [])
        layer = "staging" if "staging" in fqn else "intermediate" if "intermediate" in fqn else None
        return f"analytics_{layer}" if layer else "analytics"

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str]:
        return self.owners

    def get_automation_condition(self, dbt_resource_props: Mapping[str, Any]) -> dg.AutomationCondition | None:
        return REFRESH_WHEN_UPSTREAM_CHANGES

    def get_code_version(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] != "model":
            return super().get_code_version(dbt_resource_props)
        return code_version(dbt_manifest(), dbt_resource_props)  # with the macros it calls (changes.py)


# A generic dbt test's name runs to 146 characters (`accepted_values_fct_orders_status__PENDING__CONFIRMED...`), which
# Dagster shows cut off; a singular test's name is its file's. Each test becomes the asset check `<test>_<column>`
# on its model (`unique_key` for a model key, `not_null` for its columns that are never null), described in words.
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SQL_WORDS = {"cast", "as", "varchar", "text", "coalesce"}


def _columns(expression: str | None) -> list[str]:
    """The columns of a test's column expression: `(store || '|' || order_number)` -> [store, order_number]."""
    if not expression:
        return []
    without_strings = re.sub(r"'[^']*'", " ", expression)
    words = [w for w in _IDENTIFIER.findall(without_strings) if w.lower() not in _SQL_WORDS]
    return list(dict.fromkeys(words))


def _tested_columns(test: Mapping[str, Any]) -> list[str]:
    """The columns a generic test checks: its column expression's, or a list (not_null_columns' `columns`)."""
    kwargs = test["test_metadata"].get("kwargs", {})
    return list(kwargs.get("columns") or []) or _columns(test.get("column_name") or kwargs.get("column_name"))


def _describe(test: Mapping[str, Any]) -> str:
    kind, kwargs = test["test_metadata"]["name"], test["test_metadata"].get("kwargs", {})
    columns = _tested_columns(test)
    named = ", ".join(f"`{c}`" for c in columns)
    warning = " A warning, not a failure." if str(test["config"].get("severity", "")).lower() == "warn" else ""
    if kind == "unique":
        text = f"No two rows share {named}" + (" (the key)." if len(columns) > 1 else ".")
    elif kind in ("not_null", "not_null_columns"):
        text = f"{named} {'is' if len(columns) == 1 else 'are'} never null."
    elif kind == "accepted_values":
        text = f"{named} is one of {', '.join(map(str, kwargs.get('values', [])))}."
        warning = " A warning: Centra may add values." if warning else ""
    elif kind == "relationships":
        target = re.sub(r"ref\('(\w+)'\)", r"\1", str(kwargs.get("to", "")))
        text = f"Every {named} is in {target} ({', '.join(_columns(kwargs.get('field')))})."
    else:
        text = f"dbt test `{kind}` on {named}."
    return text + warning


def readable_tests(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest with each test named `<test>_<columns>` (numbered where one model has two alike) and described
    (`meta.description`, which dagster-dbt gives the check): singular tests keep their file's name and the
    description of their properties in tests/_tests.yml. dbt selects tests by unique id and fqn, never by this
    name, so builds and subsets are unchanged."""
    tests = {uid: node for uid, node in manifest["nodes"].items() if node["resource_type"] == "test"}
    names: dict[str, str] = {}
    for uid, node in tests.items():
        if node.get("test_metadata"):
            kind = node["test_metadata"]["name"]
            columns = _tested_columns(node)
            if kind == "not_null_columns":  # one test of a model's columns that are never null
                kind, columns = "not_null", []
            elif len(columns) > 1:  # a key: the store is in every one
                columns = ["key"] if kind == "unique" else [c for c in columns if c != "store"]
            names[uid] = "_".join([kind, *columns])[:60]
        else:
            names[uid] = node["name"]
    seen: Counter[tuple[str, str]] = Counter()
    for uid in sorted(tests):
        node = tests[uid]
        attached = node.get("attached_node") or "|".join(sorted(node["depends_on"]["nodes"]))
        seen[(attached, names[uid])] += 1
        if seen[(attached, names[uid])] > 1:
            names[uid] = f"{names[uid]}_{seen[(attached, names[uid])]}"
        description = node.get("description", "").strip() or (_describe(node) if node.get("test_metadata") else "")
        meta = {**node.get("meta", {}), "description": description or f"dbt test {node['name']}."}
        tests[uid] = {**node, "name": names[uid], "meta": meta}
    return {**manifest, "nodes": {**manifest["nodes"], **tests}}


@cache
def dbt_manifest() -> dict[str, Any]:
    return readable_tests(json.loads(Path(DBT_PROJECT.manifest_path).read_text()))


def dbt_vars(settings: Settings, duckdb_path: str) -> str:
    return json.dumps(
        {
            "duckdb_path": duckdb_path,
            "centra_warehouse_dir": settings.warehouse_url,
            "store_timezones": {s.name: s.timezone for s in settings.stores},
        }
    )


def dbt_target_path(settings: Settings) -> Path:
    """Where a warehouse's builds keep dbt's artifacts, one build after another (they take turns): dbt parses the
    project again whenever the --vars differ from those its saved parse was made with, and dagster-dbt's default, a
    new folder per build seeded from `make prepare`'s parse (made without --vars), paid a full parse (~20 s of a
    build on a busy machine, make bench) every time. Here the last build's parse is reused: the same --vars each
    time, and dbt re-reads only the files that changed."""
    return settings.local_state / "dbt-target"


# dbt's unit tests check the models' SQL on fixed rows, not the data: they change only with the code, so `make test`
# runs them (tests/marts), and a build of the marts, run on every change of raw data, does not pay for them again
NO_UNIT_TESTS = ("--exclude-resource-type", "unit_test")


def build_dbt_assets(settings: Settings) -> dg.AssetsDefinition:
    @dbt_assets(
        manifest=dbt_manifest(),
        project=DBT_PROJECT,
        dagster_dbt_translator=CentraDbtTranslator(raw_freshness(settings), owners(settings)),
        name="centra_dbt",
        op_tags={"centra/writer": "duckdb"},
        retry_policy=BUILD_RETRY,
    )
    def centra_dbt(context: dg.AssetExecutionContext, dbt: DbtCliResource):
        """Builds the selected dbt models and runs their tests into a copy of the warehouse, and publishes it
        only if everything passed: the events are reported once the new warehouse is in place.

        The build holds the warehouse's turn (turns.taking_turns) from before dbt reads raw data until its events
        are recorded: refresh runs publish before it or after it, never during it, so it reads each data type whole
        (DuckDB re-opens a Parquet file by path mid-scan), and a refresh published after it is recorded after it,
        which asks for the next build."""
        with turns.taking_turns(turns.turn_lock(settings), "the dbt build"):
            refuse_torn_days(settings)
            if settings.dbt_target != "local":  # a shared warehouse (deploy/): dbt builds each model in place
                invocation = dbt.cli(
                    [
                        "build",
                        *NO_UNIT_TESTS,
                        *unselected_tests(context, None),
                        "--target",
                        settings.dbt_target,
                        "--vars",
                        dbt_vars(settings, ""),
                    ],
                    context=context,
                    target_path=dbt_target_path(settings),
                    raise_on_error=False,
                )
                events = list(invocation.stream().fetch_row_counts().fetch_column_metadata(with_column_lineage=False))
                failed = None if invocation.is_successful() else BuildFailed(invocation, events, None)
            else:
                failed = None
                try:
                    changed = told_to_dbt(changed_partitions(context.instance, settings, context.selected_asset_keys))
                    with building(settings.duckdb_file) as database, changed:
                        existing = relations(database)
                        kept, definitions = kept_view_keys(context, settings, existing)
                        invocation = dbt.cli(
                            [
                                "build",
                                *NO_UNIT_TESTS,
                                *unselected_tests(context, existing, kept),
                                "--vars",
                                dbt_vars(settings, str(database)),
                            ],
                            context=context,
                            target_path=dbt_target_path(settings),
                            raise_on_error=False,
                        )
                        events = list(invocation.stream())
                        if not invocation.is_successful():  # the copy is thrown away; the last good build stays
                            raise BuildFailed(invocation, events, database)
                        # dagster-dbt's fetch_row_counts() would open the file while dbt still writes it (DuckDB:
                        # one writer, no readers beside it), so the build's tables are read once dbt is done, before
                        # publishing
                        events = with_table_metadata(with_views(context, events, kept, definitions), database)
                    context.log.info(f"published {settings.duckdb_file}")
                except BuildFailed as exc:
                    failed = exc
            if failed is None:
                yield from events
                return
            # the failed tests' results (their failing rows) reach their checks; the rest of the build is not
            # published, so nothing is reported as materialized
            yield from failed.check_results()
        raise failed.failure()

    return centra_dbt


def refuse_torn_days(settings: Settings) -> None:
    """A day whose publish was cut off mixes two syncs of its data type (an order's payments without the order):
    no build reads it as whole. The last good marts stay until a sync of that day repairs it."""
    torn = interrupted(layout.raw_files(settings.warehouse_dir))
    if torn:
        shown = "\n".join(torn[:TORN_SHOWN]) + ("\n..." if len(torn) > TORN_SHOWN else "")
        raise dg.Failure(
            f"Not built: the publish of {len(torn)} raw file(s) was cut off midway, so their days may mix two syncs "
            f"of a data type; the last good marts stay. Re-sync those days (the next run of their partitions "
            f"repairs them):\n{shown}",
            allow_retries=False,  # a retry reads the same files: only a sync repairs them
        )


TORN_SHOWN = 20


# a view's definition as it was created, recorded on its materialization: a build need not create it again
DEFINITION = "centra/definition"


def view_definitions(settings: Settings, views: Iterable[str]) -> dict[str, str]:
    """What each view's stored query is made of (`views`: dbt unique ids), hashed: its SQL, the SQL of every macro it
    calls, directly or not (a staging view is the macro centra_staging), the raw tables it reads as dbt's sources
    describe them (columns, meta) and whether any of their files exist yet (centra_staging stands an empty, typed
    select in for a table never synced: its first files change the view), and the build's vars but the file it
    builds into (the raw Parquet's location, the stores' timezones). dagster-dbt's code version hashes the model's
    SQL alone. The raw files are listed once (on object storage, a listing per table would list the warehouse)."""
    manifest = dbt_manifest()
    synced = {Path(f).parent.parent.name for f in files.glob(layout.raw_files(settings.warehouse_url))}
    out = {}
    for uid in views:
        node = manifest["nodes"][uid]
        parts = [node.get("raw_code", ""), dbt_vars(settings, "")]
        for parent in node["depends_on"]["nodes"]:
            source = manifest["sources"].get(parent)
            if source is not None:
                described = [source["columns"], source["meta"], source["config"], source["name"] in synced]
                parts.append(json.dumps(described, sort_keys=True))
        parts += macros_called(manifest, node)
        out[uid] = hashlib.sha1("\n".join(sorted(parts)).encode()).hexdigest()
    return out


def kept_views(
    selected: Iterable[str], existing: set[str] | None, recorded: Mapping[str, str | None], current: Mapping[str, str]
) -> set[str]:
    """The views among the dbt models `selected` (unique ids) that a build need not create again: one in the warehouse
    it starts from (`existing`), created with the definition it has now (`recorded`: each view's, from its last
    materialization; `current`: view_definitions). A view stores no rows: it reads the raw Parquet whenever it is
    queried, so new raw data changes what it shows without a build (make bench: re-creating the 7 staging views of
    the order tables and running their 8 tests took 3.4-8.6 s of dbt's threads in a 1M-order refresh, 16 of its 115
    nodes). A view missing from the warehouse, or whose definition changed, is created again. Only views reading raw
    tables alone (the staging views): reported before the build's events (with_views), each comes before what reads
    it, as Dagster wants a build's assets reported in the graph's order."""
    nodes = dbt_manifest()["nodes"]
    return {
        uid
        for uid in selected
        if nodes[uid]["config"].get("materialized") == "view"
        and all(parent.startswith("source.") for parent in nodes[uid]["depends_on"]["nodes"])
        and existing is not None
        and nodes[uid].get("alias", nodes[uid]["name"]) in existing
        and recorded.get(uid) is not None
        and recorded.get(uid) == current.get(uid)
    }


def kept_view_keys(
    context: dg.AssetExecutionContext, settings: Settings, existing: set[str] | None
) -> tuple[set[dg.AssetKey], dict[str, str]]:
    """The views among the build's selected models that it does not create again (kept_views), as asset keys, and
    the definitions of the selected views (view_definitions)."""
    translator, selected = CentraDbtTranslator(), set(context.selected_asset_keys)
    views = {
        uid: key
        for uid, node in dbt_manifest()["nodes"].items()
        if node["resource_type"] == "model"
        and node["config"].get("materialized") == "view"
        and (key := translator.get_asset_key(node)) in selected
    }
    latest = context.instance.get_latest_materialization_events(views.values())  # one query for them all
    recorded: dict[str, str | None] = {}
    for uid, key in views.items():
        event = latest.get(key)
        value = event.asset_materialization.metadata.get(DEFINITION) if event else None
        recorded[uid] = str(value.value) if value is not None else None
    current = view_definitions(settings, views)
    return {views[uid] for uid in kept_views(views, existing, recorded, current)}, current


def with_views(
    context: dg.AssetExecutionContext, events: list[Any], kept: Collection[dg.AssetKey], definitions: Mapping[str, str]
) -> list[Any]:
    """The build's events with each view's definition (`definitions`: view_definitions) on its materialization, and a
    materialization of each view kept (status `reused`, dagster-dbt's word for a node dbt did not build again): it
    shows the raw data the build read, and its freshness follows the raw tables like every model's."""
    nodes, translator, out = dbt_manifest()["nodes"], CentraDbtTranslator(), []
    for uid, node in nodes.items():
        key = translator.get_asset_key(node) if node["resource_type"] == "model" else None
        if key in kept:
            out.append(
                dg.Output(
                    None,
                    output_name=context.assets_def.get_output_name_for_asset_key(key),
                    metadata={"unique_id": uid, "status": "reused", DEFINITION: definitions[uid]},
                )
            )
    for event in events:
        uid = str(event.metadata["unique_id"].value) if isinstance(event, dg.Output) else ""
        if uid in definitions:
            event = event.with_metadata({**event.metadata, DEFINITION: definitions[uid]})
        out.append(event)
    return out


def kept_fqns(kept: Collection[dg.AssetKey]) -> list[str]:
    """dbt's names of the views kept (kept_views) and of the tests on them: what a build leaves out for them."""
    translator, nodes = CentraDbtTranslator(), dbt_manifest()["nodes"]
    views = {u for u, n in nodes.items() if n["resource_type"] == "model" and translator.get_asset_key(n) in kept}
    return [".".join(n["fqn"]) for u, n in nodes.items() if u in views or n.get("attached_node") in views]


def unselected_tests(
    context: dg.AssetExecutionContext, existing: set[str] | None, kept: Collection[dg.AssetKey] = ()
) -> list[str]:
    """`--exclude` for the dbt tests a build of part of the project must not run: those whose asset check is on a
    model the run does not build, and those that read a model neither built by the run nor in the warehouse yet.
    dbt's default (eager) indirect selection runs every test that reads a selected model: an automatic build of the
    staging views alone ran `assert_order_gross_equals_its_lines`, the check of `fct_orders`, before `fct_orders`
    was ever built ("Catalog Error: Table with name fct_orders does not exist"). A test runs when its check's model
    is built: what it compares that model with was built in the same run when the same change touched it
    (MartsBuildInFlight coalesces builds; conditions.held_roots holds a model back with every model its tests
    compare it with), and holds still otherwise. `existing`: the relations of the DuckDB file the build starts
    from (None: a shared warehouse, where what exists is not looked up). `kept`: views the build does not create
    again (kept_views): neither they nor their tests run."""
    assets_def = context.assets_def
    selected = set(context.selected_asset_keys) - set(kept)
    if selected >= set(assets_def.node_keys_by_output_name.values()):  # the whole project
        return []
    manifest = dbt_manifest()
    built = {
        unique_id
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and CentraDbtTranslator().get_asset_key(node) in selected
    }
    tests = kept_fqns(kept)
    for spec in assets_def.node_check_specs_by_output_name.values():
        test = manifest["nodes"].get((spec.metadata or {}).get("dagster_dbt/unique_id", ""))
        if test is None:
            continue
        reads = [n for n in test["depends_on"]["nodes"] if n.startswith("model.")]
        absent = existing is not None and any(
            n not in built and manifest["nodes"][n].get("alias", n.rsplit(".", 1)[-1]) not in existing for n in reads
        )
        if spec.asset_key not in selected or absent:
            tests.append(".".join(test["fqn"]))
    # dagster-dbt's form: one value, names by spaces
    return ["--exclude", " ".join(sorted(set(tests)))] if tests else []


def relations(database: Path | None) -> set[str] | None:
    """The tables and views in the DuckDB file a build starts from (None when not looked up)."""
    if database is None:
        return None
    if not database.exists():
        return set()
    with duckdb.connect(str(database), read_only=True) as con:
        return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
FAILING_ROWS_SHOWN = 5


class BuildFailed(Exception):
    """A dbt build that did not pass, with what failed: each failed test's check name, its model, its failing
    row count and its first failing rows (read from the unpublished build before it is thrown away), and each
    model that could not be built with dbt's message."""

    def __init__(self, invocation: Any, events: list[Any], database: Path | None):
        super().__init__("dbt build failed")
        self.events = events
        manifest = dbt_manifest()
        try:
            results = invocation.get_artifact("run_results.json").get("results", [])
        except FileNotFoundError:  # dbt stopped before running anything (a bad argument, a project error)
            results = []
        self.tests: list[dict[str, Any]] = []
        self.errors: list[str] = []
        for result in results:
            if result.get("status") not in ("fail", "error"):
                continue
            node = manifest["nodes"].get(result["unique_id"], {})
            message = _ANSI.sub("", str(result.get("message") or "")).strip()
            if node.get("resource_type") == "test" and result["status"] == "fail":
                self.tests.append(
                    {
                        "check": node.get("name", result["unique_id"]),
                        "model": _checked_model(node),
                        "failures": result.get("failures"),
                        "rows": _failing_rows(database, result.get("compiled_code")),
                    }
                )
            else:
                name = (
                    node.get("name") if node.get("resource_type") == "test" else result["unique_id"].split(".", 2)[-1]
                )
                self.errors.append(f"{name}: {message}")

    def check_results(self) -> list[dg.AssetCheckResult]:
        """The failed tests' check results as dagster-dbt reported them, with their failing rows."""
        rows = {t["check"]: t for t in self.tests}
        out = []
        for event in self.events:
            if isinstance(event, dg.AssetCheckResult) and not event.passed:
                test = rows.get(event.check_name or "")
                extra = {"failing_rows": dg.MetadataValue.json(test["rows"])} if test and test["rows"] else {}
                out.append(
                    dg.AssetCheckResult(
                        passed=False,
                        asset_key=event.asset_key,
                        check_name=event.check_name,
                        severity=event.severity,
                        description=event.description,
                        metadata={**event.metadata, **extra, "published": False},
                    )
                )
        return out

    def failure(self) -> dg.Failure:
        lines = [
            f"- {t['check']} (check of {t['model']}): {t['failures']} failing rows, first "
            f"{json.dumps(t['rows'], default=str)}"
            for t in self.tests
        ] + [f"- {e}" for e in self.errors]
        return dg.Failure(
            description="The dbt build failed and was not published (the warehouse keeps the last good build):\n"
            + "\n".join(lines or ["- dbt failed before running any model (see the run's log)"]),
            metadata={
                "failed_tests": dg.MetadataValue.json([t["check"] for t in self.tests]),
                "errors": dg.MetadataValue.json(self.errors),
            },
            # a failing test fails again on the same data: not tried again (policy.BUILD_RETRY is for passing faults)
            allow_retries=not self.tests,
        )


def _checked_model(test: Mapping[str, Any]) -> str:
    ref = ((test.get("meta") or {}).get("dagster") or {}).get("ref", {}).get("name")
    attached = str(test.get("attached_node") or "").rsplit(".", 1)[-1]
    return ref or attached or ", ".join(n.rsplit(".", 1)[-1] for n in test.get("depends_on", {}).get("nodes", []))


def _failing_rows(database: Path | None, sql: str | None) -> list[dict[str, Any]]:
    """The first failing rows of a test, from the build it failed in (its compiled query run again), as JSON values:
    a row's dates and decimals as text, so that the check's metadata can carry them (a date once made the report of
    a failed build fail in turn, hiding which test failed: the soak test)."""
    if database is None or not sql:
        return []
    try:
        with duckdb.connect(str(database), read_only=True) as con:
            cursor = con.execute(f"SELECT * FROM ({sql}) AS failing LIMIT {FAILING_ROWS_SHOWN}")
            names = [d[0] for d in cursor.description]
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            return json.loads(json.dumps(rows, default=str))
    except duckdb.Error as exc:
        return [{"could_not_read_failing_rows": str(exc)[:200]}]


def with_table_metadata(events: Iterable[Any], database: Path) -> list[Any]:
    """Each built model's event with its columns as DuckDB typed them (`dagster/column_schema`) and, for tables, its
    row count (`dagster/row_count`; a view's would run its query)."""
    with duckdb.connect(str(database), read_only=True) as con:
        columns: dict[str, list[dg.TableColumn]] = {}
        for table, column, data_type in con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_catalog = current_database() ORDER BY table_name, ordinal_position"
        ).fetchall():
            columns.setdefault(table, []).append(dg.TableColumn(column, data_type))
        tables = con.execute(
            "SELECT table_name, table_schema FROM information_schema.tables "
            "WHERE table_catalog = current_database() AND table_type = 'BASE TABLE'"
        ).fetchall()
        counts = {t: con.execute(f'SELECT count(*) FROM "{schema}"."{t}"').fetchone()[0] for t, schema in tables}
    out = []
    for event in events:
        model = str(event.metadata["unique_id"].value).rsplit(".", 1)[-1] if isinstance(event, dg.Output) else ""
        if model in columns:
            extra: dict[str, Any] = {"dagster/column_schema": dg.TableSchema(columns[model])}
            if model in counts:
                extra["dagster/row_count"] = dg.MetadataValue.int(counts[model])
            event = event.with_metadata({**event.metadata, **extra})
        out.append(event)
    return out


class CentraDbtCli(DbtCliResource):
    """dagster-dbt's resource without two costs it pays before every dbt command of a build of the local warehouse
    (in a webhook's way to the marts: `make bench freshness-daily-sales`). It ran `dbt --version` to learn the
    version of the dbt beside this Python, which is the dbt-core installed here: a process importing dbt and asking
    PyPI for the latest version (2-5 s, and off loopback). And it opened a dbt adapter in the run's own process
    (profile, project and macros loaded: 1-3 s), which only its row-count and column fetchers use: the build of a
    shared warehouse (`--target`, deploy/) uses them and keeps the adapter; the local build reads its tables' row
    counts and columns itself (`with_table_metadata`)."""

    @cached_property
    def _cli_version(self) -> version.Version:
        if Path(self.dbt_executable) != BESIDE_PYTHON:  # another dbt: ask it
            return super()._cli_version
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]):
        return super()._initialize_dbt_core_adapter(args) if "--target" in args else None


BESIDE_PYTHON = Path(sys.executable).with_name("dbt")  # the virtualenv's dbt, also when it is not on PATH


def dbt_resource() -> DbtCliResource:
    return CentraDbtCli(project_dir=DBT_PROJECT, dbt_executable=str(BESIDE_PYTHON) if BESIDE_PYTHON.exists() else "dbt")
