"""The Dagster layer, by pipeline stage: raw/ (Centra into Parquet), realtime/ (changes announced or swept, refreshed),
marts/ (dbt and the Python assets over it), with their run policy in policy.py. Here: the definitions they make
together, and the executor their runs use."""

from __future__ import annotations

import logging

import dagster as dg

from centra_assets.settings import Settings

from .marts.automation import marts_automation_sensor
from .marts.dbt import build_dbt_assets, dbt_resource
from .marts.replenishment import build_replenishment_asset
from .raw.assets import build_sync_assets
from .raw.checks import build_file_checks
from .raw.schedules import build_jobs, build_schedules
from .realtime.event_queue import build_event_queue_sensor
from .realtime.sweep import build_sweep_sensor
from .realtime.webhooks import build_webhook_sensor
from .resources import centra_resource, warehouse_reader

# Dagster's managed loggers (cli.py INSTANCE_DEFAULTS) pass what the logger lets through, and a logger without a
# level of its own lets through warnings only: the project's INFO lines (a budget wait, a day synced whole instead
# of refreshed) reach the run's event log with this. Dagster's `python_log_level` would do it too, but it also sets
# the level of Dagster's own logger, whose DEBUG events (step starts and ends) the event log needs.
if not logging.getLogger("centra_assets").level:
    logging.getLogger("centra_assets").setLevel(logging.INFO)


def _marts_only(job) -> bool:
    """Whether the run selects only the marts (the models and the Python assets over them: the automation's builds)."""
    selected = getattr(job, "asset_selection", None)  # a reconstructable job subset to the run's selection
    return bool(selected) and all(key.path[0] == "analytics" for key in selected)


def _forkserver_by_default(init_context: dg.InitExecutorContext) -> dg.Executor:
    """Dagster's default executor, its multiprocess mode starting steps with `forkserver` unless the run config
    picks a start method: the code location's module is imported once per run in the forkserver and every step
    forks from it, instead of each step spawning a fresh Python that imports it again (seconds per step). The
    module is fork-safe: importing it starts no thread and opens no file, socket or connection (clients, DuckDB
    and the pacer's SQLite/PostgreSQL connections are all made inside the step)."""
    config = init_context.executor_config
    multiprocess = config.get("multiprocess")
    if isinstance(multiprocess, dict) and not multiprocess.get("start_method") and _marts_only(init_context.job):
        # a build of the marts is dbt (which runs its models side by side itself) and the Python assets after it:
        # nothing for a forkserver to run side by side, and starting one imports the code location again, seconds
        # between the run's start and its dbt build (issue #27: webhook to `daily_sales` within a minute)
        retries = {
            "retries": multiprocess["retries"],
            "step_dependency_config": multiprocess.get("step_dependency_config"),
        }
        config = {"in_process": retries}
    elif isinstance(multiprocess, dict) and not multiprocess.get("start_method"):
        # named explicitly: Dagster 1.13 reads a missing preload_modules as [] and would preload only itself
        get_module = getattr(init_context.job, "get_module", None)  # a reconstructable job: where it was loaded from
        module = get_module() if get_module else None
        # with the instance's storage classes, which each step would otherwise import after the fork (seconds)
        ref = None if init_context.instance.is_ephemeral else init_context.instance.get_ref()
        storage = [data.module_name for data in (ref or {}) if hasattr(data, "module_name")]
        forkserver = {"preload_modules": [module, *dict.fromkeys(storage)]} if module else {}
        config = {"multiprocess": {**multiprocess, "start_method": {"forkserver": forkserver}}}
    return dg.multi_or_in_process_executor.executor_creation_fn(init_context._replace(executor_config=config))


# the same run config as Dagster's default (`execution: config: in_process: {}` or `multiprocess: {...}`)
executor = dg.ExecutorDefinition(
    name="multi_or_in_process_executor",
    config_schema=dg.multi_or_in_process_executor.config_schema,
    requirements=dg.multi_or_in_process_executor.get_requirements,
    executor_creation_fn=_forkserver_by_default,
    description="Each step in a process forked from a forkserver that imported the code location once "
    "(multiprocess, the default; a build of the marts alone runs in the run's process), or every step in the run's "
    "own process (in_process)",
)


def build_definitions(settings: Settings) -> dg.Definitions:
    assets = build_sync_assets(settings)
    file_checks = build_file_checks(settings)
    jobs = build_jobs(file_checks)
    # Python assets over the marts read the local DuckDB file dbt publishes (not a shared warehouse of deploy/)
    readers = [build_replenishment_asset(settings)] if settings.dbt_target == "local" else []
    return dg.Definitions(
        assets=[*assets, build_dbt_assets(settings), *readers],
        asset_checks=[file_checks],
        sensors=[
            build_webhook_sensor(settings, assets),
            build_event_queue_sensor(settings, assets),
            build_sweep_sensor(settings, assets),
            marts_automation_sensor(),
        ],
        schedules=build_schedules(settings, jobs),
        jobs=list(jobs.values()),
        resources={"centra": centra_resource(settings), "dbt": dbt_resource(), "warehouse": warehouse_reader(settings)},
        executor=executor,
    )
