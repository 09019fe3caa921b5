-- Store by size by warehouse on the store's latest stock day: how fast it sells, how long the stock lasts with and
-- without what is still to arrive on purchase orders, and whether it sells at all. The window is the 28 days up
-- to the stock day, or fewer while the synced shipments are younger (`window_days`, `is_full_window`): units
-- sold = units shipped in it from that warehouse's stock. A shipment names one warehouse, but each order line
-- draws on the warehouse Centra allocated it to (fct_allocations), so a shipped line counts for its line's
-- allocation: the shipment's own warehouse if the line is allocated there among others, else the warehouse
-- holding most of its units; the shipment's warehouse only for orders the warehouse does not hold (placed before
-- the start date). Days of cover = free to allocate / average daily units sold; incoming = open purchase order units (fct_incoming_deliveries), Centra's stock figure where those are unknown; days out
-- of stock = stock days in the window with nothing free to allocate. Returned units that went back into stock in the
-- window count for the return's warehouse (Centra's returnWarehouse) beside them; units sold less those are the
-- net units sold. A size whose window has units of orders the warehouse does not hold is marked
-- (depends_on_history_before_start): their warehouse is a guess.
{% set window_days = 28 %}
-- depends_on: {{ ref('fct_shipments') }}
{#- The raw partitions whose shipped lines it reads, when this build made fct_shipments (a table, one row per shipment
    and its day, current with the raw files): those of the shipments shipped in a store's window, and of its shipped
    shipments up to the first day with shipped units (`history` reads how far back they go; one with lines of no
    units before it counts too). Not every shipment file of the history (12 s of one query on 1M orders, 1.8 s so).
    Otherwise (an earlier build's fct_shipments may miss a shipment; a unit test has no table) every file. #}
{%- set partitions = none %}
{%- if this is not none and centra_builds('fct_shipments') %}
    {%- set query -%}
        with latest_day as (
            select store, max(stock_day) as stock_day from {{ ref('fct_inventory_daily') }} group by store
        ),

        shipped as (
            select store, shipment_day, units, {{ local_day('shipped_at', 'store') }} as shipped_day
            from {{ ref('fct_shipments') }}
            where shipped_at is not null
        ),

        first_day as (
            select store, min(shipped_day) as shipped_day from shipped where units > 0 group by store
        )

        select distinct shipped.store, cast(shipped.shipment_day as varchar)
        from shipped
        inner join latest_day on shipped.store = latest_day.store
        left join first_day on shipped.store = first_day.store
        where first_day.shipped_day is null or shipped.shipped_day <= first_day.shipped_day
            or (shipped.shipped_day > {{ dbt.dateadd('day', -window_days, 'latest_day.stock_day') }}
                and shipped.shipped_day <= latest_day.stock_day)
        order by 1, 2
    {%- endset -%}
    {%- set partitions = run_query(query).rows | map('list') | list %}
{%- endif %}
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

shipped_lines as (  -- every shipped line, with its order and the warehouse its shipment names
    select
        shipments.store,
        shipments.order_number,
        shipments.warehouse_id as shipment_warehouse_id,
        lines.shipment_id,
        lines.line_id,
        lines.order_line_id,
        lines.size_id,
        {{ local_day('shipments.shipped_at', 'shipments.store') }} as shipped_day,
        lines.quantity
    {%- if partitions is not none %}
    from {{ centra_staged('shipment_lines', partitions) }} as lines
    inner join {{ centra_staged('shipments', partitions) }} as shipments
    {%- else %}
    from {{ ref('stg_centra__shipment_lines') }} as lines
    inner join {{ ref('stg_centra__shipments') }} as shipments
    {%- endif %}
        on lines.store = shipments.store and lines.shipment_id = shipments.shipment_id
    where shipments.shipped_at is not null
),

shipped_orders as (
    select distinct store, order_number from shipped_lines
),

lines as (  -- and whether the warehouse holds its order (the shipped orders looked up, not every order listed)
    select shipped_lines.*, held.order_number is not null as is_order_synced
    from shipped_lines
    left join (
        select orders.store, orders.order_number
        from {{ ref('int_orders') }} as orders
        inner join shipped_orders
            on orders.store = shipped_orders.store and orders.order_number = shipped_orders.order_number
    ) as held
        on shipped_lines.store = held.store and shipped_lines.order_number = held.order_number
),

allocated as (  -- the warehouses whose stock a shipped order line drew, and how many of its units each
    select allocations.store, allocations.order_number, allocations.line_id, allocations.warehouse_id,
        sum(allocations.allocated_quantity) as units
    from {{ ref('fct_allocations') }} as allocations
    inner join shipped_orders  -- (the shipped orders' allocations, not every one of the history)
        on allocations.store = shipped_orders.store and allocations.order_number = shipped_orders.order_number
    group by allocations.store, allocations.order_number, allocations.line_id, allocations.warehouse_id
),

drawn as (  -- per shipped line, the warehouse its units came from (see the header)
    select
        lines.store,
        lines.shipment_id,
        lines.line_id,
        allocated.warehouse_id,
        row_number() over (
            partition by lines.store, lines.shipment_id, lines.line_id
            order by allocated.warehouse_id = lines.shipment_warehouse_id desc, allocated.units desc,
                allocated.warehouse_id
        ) as preference
    from lines
    inner join allocated
        on lines.store = allocated.store and lines.order_number = allocated.order_number
        and lines.order_line_id = allocated.line_id
),

shipped as (
    select
        lines.store,
        coalesce(drawn.warehouse_id, lines.shipment_warehouse_id) as warehouse_id,
        lines.size_id,
        lines.shipped_day,
        lines.quantity,
        lines.is_order_synced
    from lines
    left join drawn
        on lines.store = drawn.store and lines.shipment_id = drawn.shipment_id and lines.line_id = drawn.line_id
        and drawn.preference = 1
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

-- sizes with units shipped in the window for orders the warehouse does not hold (placed before the start date):
-- without the order's allocations those units count for the shipment's warehouse, which may not be the one whose
-- stock they drew, so every warehouse's units sold of the size (and its cover) may be off
guessed as (
    select latest_day.store, shipped.size_id
    from latest_day
    inner join shipped
        on shipped.store = latest_day.store
        and shipped.shipped_day > {{ dbt.dateadd('day', -window_days, 'latest_day.stock_day') }}
        and shipped.shipped_day <= latest_day.stock_day
    where not shipped.is_order_synced
    group by latest_day.store, shipped.size_id
),

-- returned units that went back into stock in the window: completed returns Centra restocked, each line's size
-- into the return's warehouse (Return.returnWarehouse), on the day the return completed; null for a store whose
-- Centra version does not say whether a return was restocked (Return.returnedToStock)
restocked_lines as (
    select returns.store, returns.return_warehouse_id as warehouse_id, lines.size_id, returns.completed_day,
        returns.returned_to_stock, lines.quantity
    from {{ ref('int_returns') }} as returns
    inner join {{ ref('stg_centra__return_lines') }} as lines
        on returns.store = lines.store and returns.return_id = lines.return_id
    where returns.is_completed and coalesce(returns.returned_to_stock, true)
),

restocked as (
    select latest.store, latest.size_id, latest.warehouse_id, sum(lines.quantity) as units_returned_to_stock
    from latest
    inner join restocked_lines as lines
        on lines.store = latest.store
        and lines.size_id = latest.size_id
        and lines.warehouse_id = latest.warehouse_id
        and lines.completed_day > {{ dbt.dateadd('day', -window_days, 'latest.stock_day') }}
        and lines.completed_day <= latest.stock_day
    group by latest.store, latest.size_id, latest.warehouse_id
),

restock_known as (
    select store, bool_and(returned_to_stock is not null) as known from restocked_lines group by store
),

incoming as (
    select
        store,
        size_id,
        warehouse_id,
        sum(open_quantity) as incoming_units,
        min(expected_arrival_day) as next_expected_arrival_day
    from {{ ref('fct_incoming_deliveries') }}
    where open_quantity > 0
    group by store, size_id, warehouse_id
),

-- Purchase orders' names are UNCONFIRMED (docs/centra-facts.md §12): on a store lacking the status, a line's
-- quantity or size, or the purchase order's warehouse, open units per size and warehouse are unknown, and incoming
-- falls back to Centra's own stock figure.
incoming_known as (
    select store, bool_and(open_quantity is not null and size_id is not null and warehouse_id is not null) as known
    from {{ ref('fct_incoming_deliveries') }}
    group by store
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
),

measured as (
    select
        latest.*,
        history.days as window_days,
        coalesce(sold.units_sold, 0) as units_sold,
        case when coalesce(restock_known.known, true) then coalesce(restocked.units_returned_to_stock, 0) end
            as units_returned_to_stock,
        case
            when coalesce(incoming_known.known, true) then coalesce(incoming.incoming_units, 0)
            else latest.incoming
        end as incoming_units,
        case
            when coalesce(incoming_known.known, true) then 'purchase_orders' else 'stock_snapshot'
        end as incoming_units_source,
        incoming.next_expected_arrival_day,
        coalesce(out_of_stock.days_out_of_stock, 0) as days_out_of_stock,
        guessed.size_id is not null as depends_on_history_before_start
    from latest
    inner join history on latest.store = history.store
    left join sold
        on latest.store = sold.store and latest.size_id = sold.size_id and latest.warehouse_id = sold.warehouse_id
    left join incoming
        on latest.store = incoming.store and latest.size_id = incoming.size_id
        and latest.warehouse_id = incoming.warehouse_id
    left join incoming_known on latest.store = incoming_known.store
    left join restocked
        on latest.store = restocked.store and latest.size_id = restocked.size_id
        and latest.warehouse_id = restocked.warehouse_id
    left join restock_known on latest.store = restock_known.store
    left join out_of_stock
        on latest.store = out_of_stock.store and latest.size_id = out_of_stock.size_id
        and latest.warehouse_id = out_of_stock.warehouse_id
    left join guessed on latest.store = guessed.store and latest.size_id = guessed.size_id
)

select
    store,
    stock_day,
    size_id,
    warehouse_id,
    sku,
    variant_id,
    product_id,
    physical,
    free_to_allocate,
    incoming as centra_incoming,
    on_delivery,
    incoming_units,
    incoming_units_source,
    next_expected_arrival_day,
    window_days,
    window_days = {{ window_days }} as is_full_window,
    depends_on_history_before_start,
    units_sold as units_sold_in_window,
    units_returned_to_stock as units_returned_to_stock_in_window,
    units_sold - units_returned_to_stock as net_units_sold_in_window,
    {{ ratio('units_sold', 'window_days') }} as average_daily_units_sold,
    case
        when units_sold > 0
            then {{ centra_round('greatest(free_to_allocate, 0) / (cast(units_sold as double precision) / window_days)', 1) }}
    end as days_of_cover,
    case
        when units_sold > 0
            then {{ centra_round('(greatest(free_to_allocate, 0) + incoming_units) / (cast(units_sold as double precision) / window_days)', 1) }}
    end as days_of_cover_with_incoming,
    case
        when free_to_allocate <= 0 then 'out_of_stock'
        when units_sold = 0 then 'dead_stock'
        else 'selling'
    end as stock_status,
    {{ ratio('units_sold', 'units_sold + physical') }} as sell_through_in_window,
    days_out_of_stock as days_out_of_stock_in_window
from measured
