{#
  dbt's persist_docs on DuckDB (dbt_project.yml: relation and column descriptions as COMMENT ON), writing only the
  comments that differ from those the relation already holds. dbt writes every one after every build of a model, one
  statement a column: on a table an incremental build only appends to, they are all already there, and rewriting
  them cost 0.1-0.2 s a model (each alters the catalog entry), a few seconds of a refresh build over a dozen
  incremental models (issue #27). A table rebuilt whole, or a view re-created, holds none: it gets them all.
#}
{% macro duckdb__persist_docs(relation, model, for_relation, for_columns) -%}
    {%- set where -%}
        database_name = '{{ relation.database }}' and schema_name = '{{ relation.schema }}'
        and {{ 'view_name' if relation.is_view else 'table_name' }} = '{{ relation.identifier }}'
    {%- endset -%}
    {%- set query -%}
        select null as column_name, comment from {{ 'duckdb_views()' if relation.is_view else 'duckdb_tables()' }}
        where {{ where }}
        union all
        select column_name, comment from duckdb_columns() where {{ where | replace('view_name', 'table_name') }}
    {%- endset -%}
    {%- set stored, statements = {}, [] -%}
    {%- for row in run_query(query).rows -%}{%- do stored.update({row[0]: row[1]}) -%}{%- endfor -%}
    {%- if for_relation and config.persist_relation_docs() and model.description
        and (stored.get(none) or '') != model.description -%}
        {%- do statements.append(alter_relation_comment(relation, model.description)) -%}
    {%- endif -%}
    {%- if for_columns and config.persist_column_docs() -%}
        {%- for name, column in model.columns.items() if name in stored and (stored[name] or '') != column.description -%}
            {%- do statements.append('comment on column ' ~ relation ~ '.'
                ~ (adapter.quote(name) if column.quote else name) ~ ' is ' ~ duckdb_escape_comment(column.description) ~ ';') -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if statements -%}{%- do run_query(statements | join('\n')) -%}{%- endif -%}
{%- endmacro %}
