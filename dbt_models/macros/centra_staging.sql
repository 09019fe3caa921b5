{#
  The staging model of one raw Centra table (see models/staging/_centra__sources.yml).
  - every row carries its Centra store (`store`); keys are unique per store, so several stores share tables.
  - event data (orders, shipments, ...): one row per key; where a record sits in more than one partition
    (a re-sync after a timezone change, a refresh), the most recently loaded version wins.
  - snapshots (inventory, catalogue, reference data): every day's snapshot is kept, with `snapshot_date`
    and `is_latest_snapshot` for the current state.
  - money: every money column also as `<column>_base`, in the base currency at the rate Centra recorded
    (value * conversion rate).
  - a table with nothing synced yet (a data type not synced, a permission missing) stages as an empty relation
    of the same shape, so the marts still build.
  - days (incremental models, through centra_staged): only those raw partitions, a list of [store, day] pairs; a
    record's latest version is then the latest among them (a record is filed in one partition, its creation day's).
  The key, partition rule and money columns come from the source's meta (generated from the spec).
  Portable SQL (columns listed, no QUALIFY): on DuckDB the source is the Parquet files themselves; on another
  warehouse (DBT_TARGET=postgres, ...) it is the table `centra.<table>` a loader filled with the same columns.
#}
{% macro centra_staging(table, days=none) %}
{%- set node = graph.sources['source.centra.centra.' ~ table] if execute else none -%}
{%- set columns = node.columns.values() | list if execute else [] -%}
{%- set meta = (node.config.meta or node.meta) if execute else {} -%}
{%- set key, partition, money = meta.get('key', []), meta.get('partition'), meta.get('money', {}) -%}
{%- set synced = true -%}
{%- if execute and target.type == 'duckdb' -%}
    {%- set files = run_query("select count(*) from glob('" ~ centra_raw_files(table) ~ "')") -%}
    {%- set synced = files.columns[0].values()[0] > 0 -%}
    {%- set raw = centra_raw_files('*') -%}
    {%- if not synced and run_query("select count(*) from glob('" ~ raw ~ "')").columns[0].values()[0] == 0 -%}
        {{ exceptions.raise_compiler_error("No raw data at " ~ raw ~ ": is CENTRA_WAREHOUSE_DIR right? "
            ~ "(Materialize the Centra assets first.)") }}
    {%- endif -%}
{%- endif %}
with source as (
{%- if synced %}
    select * from {{ source('centra', table) }}
    {%- if days is not none %}
    -- the days' files only: DuckDB prunes the other hive partitions (date=...) on the constant days
    where {{ centra_in_days('_store', 'cast(date as date)', days) }}
    {%- endif %}
{%- else %}
    select
    {%- for column in columns %}
        cast(null as {{ column.data_type }}) as {{ column.name }},
    {%- endfor %}
        cast(null as varchar) as _store,
        cast(null as varchar) as _source,
        cast(null as timestamptz) as _loaded_at,
        cast(null as date) as date
    where false
{%- endif %}
),

versions as (
    select
        source.*,
        {%- if partition == 'event' %}
        row_number() over (partition by _store, {{ key | join(', ') }} order by _loaded_at desc, date desc)
        {%- else %}
        1
        {%- endif %} as _version
    from source
)

select
    _store as store,
    {%- for column in columns %}
    {{ column.name }},
    {%- endfor %}
    {%- for column, rate in money.items() %}
    {{ column }} * {{ rate }} as {{ column }}_base,
    {%- endfor %}
    {%- if partition == 'event' %}
    cast(date as date) as partition_date,
    {%- else %}
    cast(date as date) as snapshot_date,
    cast(date as date) = max(cast(date as date)) over (partition by _store) as is_latest_snapshot,
    {%- endif %}
    _loaded_at as loaded_at
from versions
where _version = 1
{% endmacro %}
