{{ config(
    materialized='incremental', incremental_strategy='append',
    meta={'changed_days': {'anchor': 'order', 'column': 'partition_date'}},
    pre_hook="{{ centra_delete_changed('order', 'store', 'partition_date') }}"
) }}
-- Per order: the sales measures every order mart shares (gross, discounts, shipping, tax, refunds, net, in the
-- order's and the base currency), so fct_orders and daily_sales count alike. Choices: DECISIONLOG.md. Incremental by
-- the order's day (macros/incremental.sql).
-- depends_on: {{ ref('int_changed_days') }}
{%- set days = centra_changed_days('order') if centra_incremental() else none %}
{#- The order's own columns that the models reading int_orders use, not every column staged (addresses, payment and
    shipping options, comments, the columns no mart reads): a full build writes every column of every order here, and
    staging's latest-version step carries each column it is asked for (make bench: the rest cost about a fifth of
    daily_sales' build). A mart that needs another adds it here. The amounts the measures below are computed from
    (`inputs`: they lapse with a cancelled order, or are parts of its tax) are read, not written. #}
{%- set columns = [
    'store', 'order_number', 'order_id', 'order_type', 'status', 'created_at', 'updated_at', 'store_id', 'store_type',
    'market_id', 'market_name', 'pricelist_id', 'customer_id', 'account_id', 'shipping_country', 'currency',
    'conversion_rate', 'grand_total', 'tax_added', 'grand_total_base', 'partition_date', 'loaded_at'] %}
{%- set inputs = ['discounts', 'shipping', 'handling', 'tax_included', 'shipping_tax_added', 'shipping_tax_included'] %}
with orders as (
    select {{ (columns + inputs) | join(', ') }}
    {%- if days is not none %}
    from {{ centra_staged('orders', days) }} as orders
    {%- else %}
    from {{ ref('stg_centra__orders') }}
    {%- endif %}
),

lines as (
    select
        store,
        order_number,
        sum(sold_quantity) as units,
        sum(returned_quantity) as returned_units,
        -- Money summed exactly (decimals): a sum of doubles differs in its last bit with the order the lines come in,
        -- and a figure on a half cent (149.97 / 1.2 = 124.975) then rounds one way or the other from build to build.
        cast(sum(cast(gross_sales as decimal(38, 2))) as double precision) as gross_sales,
        -- the lines' goods value without the VAT inside their prices (to 10 places: only a ratio is taken of it)
        cast(sum(cast(gross_sales / (1 + coalesce(tax_percent, 0) / 100.0) as decimal(38, 10))) as double precision)
            as gross_sales_if_tax_included,
        -- the one VAT rate of the lines that sold something, null when they carry different rates
        case
            when min(case when gross_sales <> 0 then coalesce(tax_percent, 0) end)
                = max(case when gross_sales <> 0 then coalesce(tax_percent, 0) end)
                then max(case when gross_sales <> 0 then coalesce(tax_percent, 0) end)
        end as tax_percent,
        cast(sum(cast(markdown as decimal(38, 2))) as double precision) as markdown,
        cast(sum(cast(returned_value as decimal(38, 2))) as double precision) as returned_value
    -- the staged lines, as int_order_lines computes them (macros/order_lines.sql), not its table of every line
    from ({{ order_lines_measured(days) }}) as order_lines
    group by store, order_number
),

refunds as (
    select
        store,
        order_number,
        count(*) as returns,
        sum(refunded) as refunds,  -- what was refunded (int_return_refunds)
        sum(case when not is_completed then refund_total - refunded end) as pending_refunds,
        count(case when not is_completed then 1 end) as pending_returns
    from {{ ref('int_returns') }}
    group by store, order_number
),

measured as (
    select
        {%- for column in columns %}
        orders.{{ column }},
        {%- endfor %}
        -- the raw partition: the day the order was placed, in its store's timezone
        orders.partition_date as order_day,
        orders.status = 'CANCELLED' as is_cancelled,
        coalesce(lines.units, 0) as units,
        coalesce(lines.returned_units, 0) as returned_units,
        coalesce(lines.gross_sales, 0) as gross_sales,
        coalesce(lines.markdown, 0) as markdown,
        -- order-level amounts lapse with the order when it is cancelled
        case when orders.status = 'CANCELLED' then 0 else orders.discounts end as order_discounts,
        case when orders.status = 'CANCELLED' then 0 else orders.shipping + orders.handling end as order_shipping,
        case when orders.status = 'CANCELLED' then 0 else orders.tax_included + orders.tax_added end as tax,
        -- the part of tax on shipping (Centra's OrderTotals.shippingTax*), and shipping without the tax inside it
        -- (shippingTaxIncluded; tax added on top is not in the shipping price); handling's tax is not split out
        case
            when orders.status = 'CANCELLED' then 0
            else coalesce(orders.shipping_tax_included, 0) + coalesce(orders.shipping_tax_added, 0)
        end as order_shipping_tax,
        case
            when orders.status = 'CANCELLED' then 0
            else {{ centra_round('orders.shipping + orders.handling - coalesce(orders.shipping_tax_included, 0)', 2) }}
        end as order_shipping_excl_tax,
        coalesce(lines.returned_value, 0) as returned_value,
        coalesce(refunds.returns, 0) as returns,
        coalesce(refunds.refunds, 0) as refunds,
        coalesce(refunds.pending_refunds, 0) as pending_refunds,
        coalesce(refunds.pending_returns, 0) as pending_returns,
        -- The share of a tax-inclusive price that is not tax: line prices include their tax_percent unless the
        -- order adds tax on top (taxAdded, e.g. US sales tax); wholesale and tax-free lines have 0 %. Discounts and
        -- refunds are shares of the same goods, so they lose the same share.
        case
            when coalesce(orders.tax_added, 0) <> 0 or coalesce(lines.gross_sales, 0) = 0 then 1.0
            else lines.gross_sales_if_tax_included / lines.gross_sales
        end as excl_tax_ratio,
        -- the same share as one rate, so that it is computed exactly (excl_tax in macros/local_day.sql): 0 when
        -- the order adds tax on top or sold nothing, null when its lines carry different rates
        case
            when coalesce(orders.tax_added, 0) <> 0 or coalesce(lines.gross_sales, 0) = 0 then 0.0
            else lines.tax_percent
        end as included_tax_percent
    from orders
    left join lines on orders.store = lines.store and orders.order_number = lines.order_number
    left join refunds on orders.store = refunds.store and orders.order_number = refunds.order_number
)

select
    *,
    {{ centra_round('gross_sales - order_discounts - refunds', 2) }} as net_sales,
    {{ to_base('gross_sales') }} as gross_sales_base,
    {{ to_base('markdown') }} as markdown_base,
    {{ to_base('order_discounts') }} as order_discounts_base,  -- (not staging's discounts_base: these lapse)
    {{ to_base('order_shipping') }} as order_shipping_base,
    {{ to_base('order_shipping_excl_tax') }} as order_shipping_excl_tax_base,
    {{ to_base('tax') }} as tax_base,
    {{ to_base('refunds') }} as refunds_base,
    {{ excl_tax('gross_sales - order_discounts - refunds') }} as net_sales_excl_tax,
    {{ to_base(centra_round('gross_sales - order_discounts - refunds', 2)) }} as net_sales_base,
    {{ to_base(excl_tax('gross_sales - order_discounts - refunds')) }} as net_sales_excl_tax_base,
    {{ to_base(excl_tax('gross_sales - order_discounts')) }} as net_sales_before_refunds_excl_tax_base
from measured
