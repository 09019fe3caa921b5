-- Size by warehouse on the latest stock day: how fast it sells and how long the stock lasts.
-- Units sold = units shipped from that warehouse in the 28 days up to the stock day (order lines carry no
-- warehouse); their daily average is over the days of that window the warehouse has shipments for (a young
-- warehouse has fewer than 28); days of cover = free to allocate / average daily units sold; days out of
-- stock = stock days in that window with nothing free to allocate.
{% set window_days = 28 %}
with daily as (
    select * from {{ ref('fct_inventory_daily') }}
),

latest as (
    select * from daily where stock_day = (select max(stock_day) from daily)
),

shipped as (
    select
        shipments.warehouse_id,
        lines.size_id,
        {{ local_day('shipments.shipped_at') }} as shipped_day,
        lines.quantity
    from {{ ref('stg_centra__shipment_lines') }} as lines
    inner join {{ ref('stg_centra__shipments') }} as shipments using (shipment_id)
    where shipments.shipped_at is not null
),

history as (  -- days of the window the synced shipments cover
    select coalesce(least({{ window_days }}, (select max(stock_day) from latest) - min(shipped_day) + 1), {{ window_days }}) as days
    from shipped
),

sold as (
    select latest.size_id, latest.warehouse_id, sum(shipped.quantity) as units_sold
    from latest
    inner join shipped
        on shipped.size_id = latest.size_id
        and shipped.warehouse_id = latest.warehouse_id
        and shipped.shipped_day > latest.stock_day - {{ window_days }}
        and shipped.shipped_day <= latest.stock_day
    group by all
),

out_of_stock as (
    select latest.size_id, latest.warehouse_id, count(*) as days_out_of_stock
    from latest
    inner join daily
        on daily.size_id = latest.size_id
        and daily.warehouse_id = latest.warehouse_id
        and daily.stock_day > latest.stock_day - {{ window_days }}
        and daily.free_to_allocate <= 0
    group by all
)

select
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
    round(coalesce(sold.units_sold, 0) / history.days, 4) as average_daily_units_sold,
    case
        when coalesce(sold.units_sold, 0) > 0
            then round(greatest(latest.free_to_allocate, 0) / (sold.units_sold / history.days), 1)
    end as days_of_cover,
    round(coalesce(sold.units_sold, 0) / nullif(coalesce(sold.units_sold, 0) + latest.physical, 0), 4)
        as sell_through_{{ window_days }}d,
    coalesce(out_of_stock.days_out_of_stock, 0) as days_out_of_stock_{{ window_days }}d
from latest
cross join history
left join sold using (size_id, warehouse_id)
left join out_of_stock using (size_id, warehouse_id)
