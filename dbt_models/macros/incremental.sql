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
   what changed, where no snapshot it reads was taken again (never in a unit test, which has no table: `this` is
   none there). #}
{% macro centra_incremental() -%}
    {{- return(this is not none and is_incremental() and centra_changed_days_only(model.unique_id)) -}}
{%- endmacro %}

{# dbt's own should_full_refresh (which every materialization and is_incremental() ask), overridden for this
   project's incremental models: one that does not recompute only the changed days (centra_changed_days_only) would
   delete every row and append them all again, through a temporary table of every row (dbt-duckdb's incremental
   step): two writes of the whole table and a delete. It is built as a table is instead, in one CREATE TABLE AS
   swapped in by rename (make bench: the repeated full builds of daily_sales). A model's full_refresh config and
   --full-refresh keep their meaning. #}
{% macro should_full_refresh() -%}
    {%- set configured = config.get('full_refresh') -%}
    {%- if configured is not none -%}{{- return(configured) -}}{%- endif -%}
    {%- if flags.FULL_REFRESH -%}{{- return(true) -}}{%- endif -%}
    {{- return(execute and model.config.materialized == 'incremental' and not centra_changed_days_only(model.unique_id)) -}}
{%- endmacro %}

{# Whether the build recomputes only the changed days of node `unique_id` (a model, or the model a test checks):
   it was told what changed, it builds int_changed_days (the days of what it was told, not of what an earlier build
   was told: an automatic build of part of the project may leave it out), and no snapshot the node reads changed (a
   snapshot changes every row). #}
{% macro centra_changed_days_only(unique_id) -%}
    {%- set changed = centra_changed() -%}
    {%- if changed is none or flags.FULL_REFRESH or not centra_builds('int_changed_days') -%}{{- return(false) -}}{%- endif -%}
    {%- set snapshots = centra_snapshots_read(unique_id) -%}
    {%- for tables in changed.values() -%}
        {%- for table in tables if table in snapshots -%}{{- return(false) -}}{%- endfor -%}
    {%- endfor -%}
    {{- return(true) -}}
{%- endmacro %}

{# Whether this invocation builds model `name` (dbt's selected_resources). A table of what a build recomputes
   (int_changed_days, int_orders_recomputed) is read only in the build that made it: one left by an earlier build
   names the days of that build's changes. #}
{% macro centra_builds(name) -%}
    {{- return(execute and ('model.centra.' ~ name) in selected_resources) -}}
{%- endmacro %}

{# The [store, day] pairs of one anchor ('order', 'return' or 'shipment') that this build recomputes. (A model
   reading them refs int_changed_days in a depends_on comment; a test, which cannot, runs after its model.) #}
{% macro centra_changed_days(anchor) -%}
    {%- if not execute -%}{{- return([]) -}}{%- endif -%}
    {%- set node = graph.nodes['model.centra.int_changed_days'] -%}
    {%- set relation = api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias) -%}
    {%- set rows = run_query("select store, cast(day as varchar) from " ~ relation
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

{# The snapshot tables (partition 'snapshot' in the sources' meta) a node reads, directly or through the models it
   reads: a model reading one is rebuilt whole when that snapshot was taken again (centra_incremental). From dbt's
   graph, so that it cannot drift from the SQL. #}
{% macro centra_snapshots_read(unique_id) -%}
    {%- set seen, queue, tables = [], [unique_id], [] -%}
    {#- a breadth-first walk: Jinja's for loop also visits what is appended to its list while it runs -#}
    {%- for node_id in queue -%}
        {%- if node_id not in seen -%}
            {%- do seen.append(node_id) -%}
            {%- if node_id.startswith('source.') -%}
                {%- set source = graph.sources[node_id] -%}
                {%- if (source.config.meta or source.meta).get('partition') == 'snapshot' -%}
                    {%- do tables.append(source.name) -%}
                {%- endif -%}
            {%- elif node_id in graph.nodes -%}
                {%- for parent in graph.nodes[node_id].depends_on.nodes -%}{%- do queue.append(parent) -%}{%- endfor -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {{- return(tables | sort) -}}
{%- endmacro %}

{# The rows a generic test (unique, not_null, relationships, ...) checks: dbt's `where` config as usual; in a build
   that recomputes only the changed days, the rows of those days alone, as a full build tested the rest and nothing
   else changed them. An incremental model names its day column and anchor in its meta (changed_days), or, built by
   key, the keys it recomputes (changed_keys, centra_test_keys). A staging view of event data has no test (one row
   per key by construction: dbt_sources.py); a singular test filters itself (centra_test_days). #}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- set checked = graph.nodes.get(model.attached_node) if execute and model.attached_node else none -%}
    {%- set days = centra_test_days(checked) if checked is not none else none -%}
    {%- set keys = centra_test_keys(checked) if checked is not none and days is none else none -%}
    {%- if days is not none -%}
        {%- set where = centra_in_days('store', days.column, days.pairs) ~ (' and (' ~ where ~ ')' if where else '') -%}
    {%- elif keys is not none -%}
        {%- set where = keys ~ (' and (' ~ where ~ ')' if where else '') -%}
    {%- endif -%}
    {%- if where -%}
        {{- return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') -}}
    {%- endif -%}
    {{- return(relation) -}}
{%- endmacro %}

{# For a model node: none when its tests check every row (a full build, a model not built by day); else its day
   column and the [store, day] pairs recomputed. #}
{% macro centra_test_days(node) -%}
    {%- if node.resource_type != 'model' or not centra_changed_days_only(node.unique_id) -%}{{- return(none) -}}{%- endif -%}
    {%- set by_day = node.config.meta.get('changed_days') -%}
    {%- if by_day and node.config.materialized == 'incremental' -%}
        {{- return({'column': by_day.column, 'pairs': centra_changed_days(by_day.anchor)}) -}}
    {%- endif -%}
    {{- return(none) -}}
{%- endmacro %}

{# For a model built by key (meta changed_keys: {key: columns, sets: [{model, key?, day?, anchor?}]}): none when its
   tests check every row; else a condition on its rows: `key` is among the keys of the sets (a set's own `key`, else
   `key`, over the rows of `model` on the `anchor` days recomputed; over all of them without `day`: a table of what
   one build recomputes, int_orders_recomputed, read only in the build that makes it, centra_builds, as the model
   was rebuilt whole otherwise). Every row the build appended has such a key, and so has a row kept whose key it
   repeats: a duplicate the incremental step makes is checked. #}
{% macro centra_test_keys(node) -%}
    {%- set by_key = node.config.meta.get('changed_keys') if node.resource_type == 'model' else none -%}
    {%- if not by_key or node.config.materialized != 'incremental' or not centra_changed_days_only(node.unique_id) -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set sets = [] -%}
    {%- for part in by_key.sets -%}
        {%- if not part.day and not centra_builds(part.model) -%}{{- return(none) -}}{%- endif -%}
        {%- set upstream = graph.nodes['model.centra.' ~ part.model] -%}
        {%- set relation = api.Relation.create(database=upstream.database, schema=upstream.schema, identifier=upstream.alias) -%}
        {%- set rows = ' where ' ~ centra_in_days('store', part.day, centra_changed_days(part.anchor)) if part.day else '' -%}
        {%- do sets.append('select ' ~ part.get('key', by_key.key) ~ ' from ' ~ relation ~ rows) -%}
    {%- endfor -%}
    {{- return('(' ~ by_key.key ~ ') in (' ~ sets | join(' union ') ~ ')') -}}
{%- endmacro %}

{# Pre-hook of an incremental model without a day column: its rows recomputed are those whose key is among the keys
   of the days recomputed, per kind of row. parts: [{when: condition on the model's rows, key: columns, model: the
   upstream model holding the key's day, day: its day column, anchor}]. #}
{% macro centra_delete_changed_keys(parts) -%}
    {%- if centra_incremental() -%}
        delete from {{ this }} where
        {%- for part in parts %}
            {% if not loop.first %}or {% endif %}({{ part.when }} and ({{ part.key }}) in (
                select {{ part.key }} from {{ ref(part.model) }}
                where {{ centra_in_days('store', part.day, centra_changed_days(part.anchor)) }}))
        {%- endfor %}
    {%- elif is_incremental() -%}
        delete from {{ this }}
    {%- endif -%}
{%- endmacro %}

{# Whether fct_orders recomputes only some orders (int_orders_recomputed): built incrementally, and each store's first
   order day where it was (every customer's history flag reads it). Evaluated before its pre-hook deletes anything. #}
{% macro centra_orders_by_key() -%}
    {%- if not centra_incremental() or not centra_builds('int_orders_recomputed') -%}{{- return(false) -}}{%- endif -%}
    {%- set moved -%}
        select count(*) from (
            select store, min(order_day) from {{ ref('int_orders') }} group by store
            except select store, min(order_day) from {{ this }} group by store
        ) as moved
    {%- endset -%}
    {{- return(run_query(moved).columns[0].values()[0] == 0) -}}
{%- endmacro %}

{# Pre-hook of fct_orders: its rows recomputed go (all of them when it recomputes every order into the table). #}
{% macro centra_delete_changed_orders() -%}
    {%- if centra_orders_by_key() -%}
        delete from {{ this }} where (store, order_number) in (
            select store, order_number from {{ ref('int_orders_recomputed') }})
    {%- elif is_incremental() -%}
        delete from {{ this }}
    {%- endif -%}
{%- endmacro %}

{# Pre-hook of dim_customers (by customer): its rows of the customers of the orders int_orders_recomputed names go, as
   the last build or this one sees them (all of a store's when its first order day moved: it names every order
   then); all of them when it recomputes every customer into the table. #}
{% macro centra_delete_changed_customers() -%}
    {%- if centra_customers_by_key() -%}
        delete from {{ this }} where (store, customer_id) in (
            select store, customer_id from {{ ref('int_orders_recomputed') }} where customer_id is not null)
    {%- elif is_incremental() -%}
        delete from {{ this }}
    {%- endif -%}
{%- endmacro %}

{# Whether dim_customers recomputes only the customers int_orders_recomputed names: built incrementally (no customers
   snapshot taken since), in a build that builds int_orders_recomputed. #}
{% macro centra_customers_by_key() -%}
    {{- return(centra_incremental() and centra_builds('int_orders_recomputed')) -}}
{%- endmacro %}

{# Whether this model recomputes only the rows whose key is listed in model `listing` (a table of what one build
   recomputes, int_performance_days, read only in the build that makes it, centra_builds): built incrementally, in
   a build that builds the listing. #}
{% macro centra_listed_only(listing) -%}
    {{- return(centra_incremental() and centra_builds(listing)) -}}
{%- endmacro %}

{# Pre-hook of a model built by a listing (centra_listed_only): its rows whose `key` the listing holds (in its rows
   where `condition` holds, if given) go (all of them when it recomputes every row into the table), and the model's
   select appends them anew. #}
{% macro centra_delete_listed(listing, key, condition=none) -%}
    {%- if centra_listed_only(listing) -%}
        delete from {{ this }} where {{ centra_listed(listing, key, condition) }}
    {%- elif is_incremental() -%}
        delete from {{ this }}
    {%- endif -%}
{%- endmacro %}

{# The predicate "the row's `key` is listed in model `listing`" (in its rows where `condition` holds, if given): what a
   model built by a listing deletes and recomputes (centra_delete_listed, and the model's own select). #}
{% macro centra_listed(listing, key, condition=none) -%}
    ({{ key }}) in (select {{ key }} from {{ ref(listing) }}{% if condition %} where {{ condition }}{% endif %})
{%- endmacro %}
