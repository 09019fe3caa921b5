{#
  The raw layout as dbt reads it: every day's Parquet file of one raw table, of every store
  (`<warehouse>/store=<store>/raw/<table>/date=YYYY-MM-DD/data.parquet`). The layout is defined once, in Python:
  centra_assets/warehouse/layout.py (`raw_files`). The sources (models/staging/_centra__sources.yml) are generated
  from that definition (dbt renders no macro in YAML); the staging macro (centra_staging.sql) reads the files
  through this one. tests/marts/test_dbt_project.py fails if either disagrees with the Python.
#}
{% macro centra_raw_files(table) -%}
    {{ var('centra_warehouse_dir', env_var('CENTRA_WAREHOUSE_DIR', '../warehouse')) }}/store=*/raw/{{ table }}/date=*/data.parquet
{%- endmacro %}
