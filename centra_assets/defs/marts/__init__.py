"""The marts stage: the dbt models as Dagster assets, their automation, and Python assets on the marts."""
