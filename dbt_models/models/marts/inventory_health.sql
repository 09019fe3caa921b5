-- Store by size by warehouse on the store's latest stock day: how fast it sells and how long the stock lasts.
-- Units sold = units shipped from that warehouse in the 28 days up to the stock day (order lines carry no
-- warehouse); their daily average is over the days of that window the store has shipments for (a young
-- warehouse has fewer than 28); days of cover = free to allocate / average daily units sold; days out of
-- stock = stock days in that window with nothing free to allocate.
{% set window_days = 28 %}
with daily as (
    select * from {{ ref('fct_inventory_daily') }}
),

latest_day as (
    select store, max(stock_day) as stock_day from daily group by store
),

latest as (
    select daily.*
    from daily
    inner join latest_day on daily.store = latest_day.store and daily.stock_day = latest_day.stock_day
),

shipped as (
    select
        shipments.store,
        shipments.warehouse_id,
        lines.size_id,
        {{ local_day('shipments.shipped_at', 'shipments.store') }} as shipped_day,
        lines.quantity
    from {{ ref('stg_centra__shipment_lines') }} as lines
    inner join {{ ref('stg_centra__shipments') }} as shipments
        on lines.store = shipments.store and lines.shipment_id = shipments.shipment_id
    where shipments.shipped_at is not null
),

history as (  -- days of the window the store's synced shipments cover
    select
        latest_day.store,
        coalesce(
            least({{ window_days }}, {{ dbt.datediff('min(shipped.shipped_day)', 'max(latest_day.stock_day)', 'day') }} + 1),
            {{ window_days }}
        ) as days
    from latest_day
    left join shipped on latest_day.store = shipped.store
    group by latest_day.store
),

sold as (
    select latest.store, latest.size_id, latest.warehouse_id, sum(shipped.quantity) as units_sold
    from latest
    inner join shipped
        on shipped.store = latest.store
        and shipped.size_id = latest.size_id
        and shipped.warehouse_id = latest.warehouse_id
        and shipped.shipped_day > {{ dbt.dateadd('day', -window_days, 'latest.stock_day') }}
        and shipped.shipped_day <= latest.stock_day
    group by latest.store, latest.size_id, latest.warehouse_id
),

out_of_stock as (
    select latest.store, latest.size_id, latest.warehouse_id, count(*) as days_out_of_stock
    from latest
    inner join daily
        on daily.store = latest.store
        and daily.size_id = latest.size_id
        and daily.warehouse_id = latest.warehouse_id
        and daily.stock_day > {{ dbt.dateadd('day', -window_days, 'latest.stock_day') }}
        and daily.free_to_allocate <= 0
    group by latest.store, latest.size_id, latest.warehouse_id
)

select
    latest.store,
    latest.stock_day,
    latest.size_id,
    latest.warehouse_id,
    latest.sku,
    latest.variant_id,
    latest.product_id,
    latest.physical,
    latest.free_to_allocate,
    latest.incoming,
    coalesce(sold.units_sold, 0) as units_sold_{{ window_days }}d,
    {{ ratio('coalesce(sold.units_sold, 0)', 'history.days') }} as average_daily_units_sold,
    case
        when coalesce(sold.units_sold, 0) > 0
            then {{ centra_round('greatest(latest.free_to_allocate, 0) / (cast(sold.units_sold as ' ~ dbt.type_float() ~ ') / history.days)', 1) }}
    end as days_of_cover,
    {{ ratio('coalesce(sold.units_sold, 0)', 'coalesce(sold.units_sold, 0) + latest.physical') }}
        as sell_through_{{ window_days }}d,
    coalesce(out_of_stock.days_out_of_stock, 0) as days_out_of_stock_{{ window_days }}d
from latest
inner join history on latest.store = history.store
left join sold
    on latest.store = sold.store and latest.size_id = sold.size_id and latest.warehouse_id = sold.warehouse_id
left join out_of_stock
    on latest.store = out_of_stock.store and latest.size_id = out_of_stock.size_id
    and latest.warehouse_id = out_of_stock.warehouse_id
