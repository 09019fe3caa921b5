{#
  Incremental builds of the order-grain models: a build recomputes only the days its raw changes touch.

  Dagster passes the raw partitions that changed since the last successful build
  ({store: {table: [day, ...]}}, centra_assets/defs/marts/changes.py); without it (by hand, the first build,
  --full-refresh, anything Dagster cannot vouch for) every model is rebuilt whole. int_changed_days turns the
  changed partitions into the days to recompute, by anchor: `order` days (the orders placed that day: their
  rows in int_order_lines, int_orders, fct_order_lines and their sales in int_sales_booked) and `return` days (the
  returns created that day: their units and refunds in int_sales_booked). An incremental model deletes its rows
  of those days (pre-hook centra_delete_changed) and appends them again, computed from those days' raw files
  only (centra_staged). Choices: DECISIONLOG.md ("Incremental builds").
#}

{# The changed raw partitions, or none for a full build: from Dagster in an environment variable (new --vars each
   build would make dbt parse the whole project again), by hand in var `changed`. #}
{% macro centra_changed() -%}
    {%- set changed = env_var('CENTRA_CHANGED_PARTITIONS', '') or var('changed', none) -%}
    {%- if changed is string -%}{%- set changed = fromjson(changed) if changed else none -%}{%- endif -%}
    {{- return(changed) -}}
{%- endmacro %}

{# Whether this model builds only the changed days: an incremental model whose table exists, in a build told
   what changed (never in a unit test, which has no table: `this` is none there). #}
{% macro centra_incremental() -%}
    {{- return(this is not none and centra_changed() is not none and is_incremental()) -}}
{%- endmacro %}

{# The [store, day] pairs of one anchor ('order' or 'return') that this build recomputes. #}
{% macro centra_changed_days(anchor) -%}
    {%- if not execute -%}{{- return([]) -}}{%- endif -%}
    {%- set rows = run_query("select store, cast(day as varchar) from " ~ ref('int_changed_days')
        ~ " where anchor = '" ~ anchor ~ "' order by 1, 2") -%}
    {{- return(rows.rows | map('list') | list) -}}
{%- endmacro %}

{# A condition: (store, day) is one of the pairs; constant, so that DuckDB prunes hive partitions on it. #}
{% macro centra_in_days(store, day, pairs) -%}
    {%- set by_store = {} -%}
    {%- for s, d in pairs -%}{%- do by_store.setdefault(s, []).append(d) -%}{%- endfor -%}
    {%- if not by_store %}(1 = 0){% else %}({% for s, days in by_store.items() -%}
        {% if not loop.first %} or {% endif %}({{ store }} = '{{ s }}' and {{ day }} in (
        {%- for d in days %}{% if not loop.first %}, {% endif %}cast('{{ d }}' as date){% endfor %}))
    {%- endfor %}){% endif -%}
{%- endmacro %}

{# One raw table staged like its staging model, for a few days only (see centra_staging). #}
{% macro centra_staged(table, days) -%}
    ({{ centra_staging(table, days) }})
{%- endmacro %}

{# Pre-hook of an incremental model: its rows of the days it recomputes go (all of them when it recomputes every
   day into the existing table), and the model's select appends them anew. A model holding rows of both anchors
   names the column telling which (anchor_column). #}
{% macro centra_delete_changed(anchor, store, day, anchor_column=none) -%}
    {%- if centra_incremental() and anchor_column -%}
        delete from {{ this }} where
            ({{ anchor_column }} = 'order' and {{ centra_in_days(store, day, centra_changed_days('order')) }})
            or ({{ anchor_column }} = 'return' and {{ centra_in_days(store, day, centra_changed_days('return')) }})
    {%- elif centra_incremental() -%}
        delete from {{ this }} where {{ centra_in_days(store, day, centra_changed_days(anchor)) }}
    {%- elif is_incremental() -%}
        delete from {{ this }}
    {%- endif -%}
{%- endmacro %}
