"""The analytics layer: the dbt project's generated staging layer and its wiring into Dagster."""
