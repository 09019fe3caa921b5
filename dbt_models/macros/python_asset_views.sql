{#
  The tables Dagster's Python assets write beside the marts (source `analytics`, models/marts/_analytics__sources.yml)
  as views in the marts' schema, with their descriptions: an analyst opening the DuckDB file finds
  `replenishment_suggestions` beside the marts it comes from. The asset cannot write the file itself (dbt is its one
  writer), so each build of the marts (on-run-end) makes the view over the Parquet the asset last published, and so
  does the asset's first run (`dbt run-operation python_asset_views` into a copy it publishes); the view reads the
  file when queried, so it shows the asset's latest run. A table whose asset has not run yet has no file and
  gets no view (none is better than an empty one that reads as "nothing to order"). Only on DuckDB: a shared
  warehouse (PostgreSQL) cannot read the Parquet.
#}
{% macro python_asset_views() %}
    {%- if execute and target.type == 'duckdb' and invocation_args_dict.get('which') in ('build', 'run', 'run-operation') -%}
        {%- set warehouse = var('centra_warehouse_dir', env_var('CENTRA_WAREHOUSE_DIR', '../warehouse')) -%}
        {%- for table in graph.sources.values() if table.source_name == 'analytics' -%}
            {%- set location = warehouse ~ '/analytics/' ~ table.name ~ '/data.parquet' -%}
            {%- set found = run_query("select count(*) from glob(" ~ dbt.string_literal(location) ~ ")") -%}
            {%- set view = adapter.quote(target.schema) ~ '.' ~ adapter.quote(table.name) -%}
            {%- if found.columns[0].values()[0] > 0 -%}
                {#- the columns the YAML describes, by name: a file that lacks one fails the build, naming it -#}
                {%- do run_query("create or replace view " ~ view ~ " as select "
                    ~ table.columns.keys() | join(', ')
                    ~ " from read_parquet(" ~ dbt.string_literal(location) ~ ")") -%}
                {%- do run_query("comment on view " ~ view ~ " is " ~ dbt.string_literal(table.description | replace("'", "''"))) -%}
                {%- for column in table.columns.values() -%}
                    {%- do run_query("comment on column " ~ view ~ "." ~ column.name ~ " is "
                        ~ dbt.string_literal(column.description | replace("'", "''"))) -%}
                {%- endfor -%}
            {%- else -%}
                {%- do run_query("drop view if exists " ~ view) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{% endmacro %}
