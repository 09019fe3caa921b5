"""The dbt project, alone in its module (dagster-dbt's `prepare-and-package` must import it without the assets)."""

from dagster_dbt import DbtProject

from .dbt_sources import DBT_DIR

DBT_PROJECT = DbtProject(project_dir=DBT_DIR, profiles_dir=DBT_DIR)
