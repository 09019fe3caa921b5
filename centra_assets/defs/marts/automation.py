"""The marts' automation sensor: asks for a dbt build of the models whose raw data changed, each model by its
automation condition (policy.REFRESH_WHEN_UPSTREAM_CHANGES)."""

import os
import warnings

import dagster as dg

from ..policy import MARTS_AUTOMATION_INTERVAL, MARTS_BUILD_TAG, MARTS_TICK_SETTLE_SECONDS

# Read by Dagster at each tick, in the code server that evaluates this sensor (policy.MARTS_TICK_SETTLE_SECONDS); a
# deployment may set its own
SETTLE_ENV = "DAGSTER_AUTOMATION_TICK_SETTLE_SECONDS"


def marts_automation_sensor() -> dg.AutomationConditionSensorDefinition:
    """Evaluated in the code server (`use_user_code_server`, beta in Dagster 1.13, chosen knowingly): the Dagster
    daemon knows only Dagster's own condition classes, and would skip the models the project's conditions guard. Its
    ticks read the event log as it was when they began (SETTLE_ENV)."""
    os.environ.setdefault(SETTLE_ENV, str(MARTS_TICK_SETTLE_SECONDS))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return dg.AutomationConditionSensorDefinition(
            "centra_marts_automation",
            target=dg.AssetSelection.key_prefixes("analytics"),
            default_status=dg.DefaultSensorStatus.RUNNING,  # costs nothing until raw data changes
            minimum_interval_seconds=MARTS_AUTOMATION_INTERVAL,
            use_user_code_server=True,
            run_tags={MARTS_BUILD_TAG: "automatic"},
            description="Asks for a dbt build of the models whose raw data changed (each model's "
            "automation condition); on by default",
        )
