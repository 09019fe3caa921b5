{#
  The staging model of one raw Centra table (see models/staging/_centra__sources.yml).
  - event data (orders, shipments, ...): one row per key; where a record sits in more than one partition
    (a re-sync after a timezone change, a refresh), the most recently loaded version wins.
  - snapshots (inventory, catalogue, reference data): every day's snapshot is kept, with `snapshot_date`
    and `is_latest_snapshot` for the current state.
  - money: every money column also as `<column>_base`, in the base currency at the rate Centra recorded
    (value * conversion rate).
#}
{% macro centra_staging(table, key, partition, money) %}
with source as (
    select * from {{ source('centra', table) }}
)
select
    * exclude (date, _source, _loaded_at),
    {%- for column, rate in money.items() %}
    {{ column }} * {{ rate }} as {{ column }}_base,
    {%- endfor %}
    {%- if partition == 'event' %}
    cast(date as date) as partition_date,
    {%- else %}
    cast(date as date) as snapshot_date,
    cast(date as date) = max(cast(date as date)) over () as is_latest_snapshot,
    {%- endif %}
    _loaded_at as loaded_at
from source
{%- if partition == 'event' %}
qualify row_number() over (partition by {{ key | join(', ') }} order by _loaded_at desc, date desc) = 1
{%- endif %}
{% endmacro %}
