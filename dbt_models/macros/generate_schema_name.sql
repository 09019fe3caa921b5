{# Layers in their own schemas: the marts in the target's schema (DuckDB: main; PostgreSQL: analytics), staging
   and intermediate views in `staging` and `intermediate` (dbt's default would prefix the target's schema). #}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ (custom_schema_name or target.schema) | trim }}
{%- endmacro %}
