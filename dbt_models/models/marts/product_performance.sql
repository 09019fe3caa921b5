-- One row per store and variant (a product in one colour: the level a fashion brand buys, prices and reviews), with
-- its product, collection, brand, primary and canonical category: units sold, returned and kept; sales in the base
-- currency with and without tax; the order discounts' share; cost and gross margin from the variant's unit cost;
-- stock, incoming units and sell-through. Sales count every order in the warehouse (all markets and store types).
-- Choices: DECISIONLOG.md ("Product performance").
with lines as (
    select
        lines.store,
        lines.variant_id,
        lines.sold_quantity,
        lines.returned_quantity,
        lines.sold_quantity - least(lines.returned_quantity, lines.sold_quantity) as kept_quantity,
        lines.gross_sales,
        lines.conversion_rate,
        -- the share of the line's price that is not tax (1 when the order adds tax on top)
        case
            when coalesce(orders.tax_added, 0) <> 0 then 1.0
            else 1.0 / (1 + coalesce(lines.tax_percent, 0) / 100.0)
        end as excl_tax_share,
        -- the order's discounts spread over its lines by their gross sales
        case when orders.gross_sales > 0 then orders.order_discounts / orders.gross_sales else 0 end
            as discount_share,
        lines.unit_price
    from {{ ref('int_order_lines') }} as lines
    inner join {{ ref('int_orders') }} as orders
        on lines.store = orders.store and lines.order_number = orders.order_number
),

sales as (
    select
        store,
        variant_id,
        sum(sold_quantity) as units_sold,
        sum(least(returned_quantity, sold_quantity)) as units_returned,
        sum(kept_quantity) as units_kept,
        {{ centra_round('sum(gross_sales * conversion_rate)', 2) }} as gross_sales_base,
        {{ centra_round('sum(gross_sales * excl_tax_share * conversion_rate)', 2) }} as gross_sales_excl_tax_base,
        {{ centra_round('sum(gross_sales * discount_share * excl_tax_share * conversion_rate)', 2) }}
            as discounts_excl_tax_base,
        {{ centra_round('sum(kept_quantity * unit_price * (1 - discount_share) * excl_tax_share * conversion_rate)', 2) }}
            as kept_sales_excl_tax_base
    from lines
    group by store, variant_id
),

variants as (
    select
        store,
        variant_id,
        {{ dbt.any_value('product_id') }} as product_id,
        {{ dbt.any_value('product_name') }} as product_name,
        {{ dbt.any_value('product_number') }} as product_number,
        {{ dbt.any_value('variant_name') }} as variant_name,
        {{ dbt.any_value('variant_number') }} as variant_number,
        {{ dbt.any_value('brand') }} as brand,
        {{ dbt.any_value('collection_id') }} as collection_id,
        {{ dbt.any_value('collection') }} as collection,
        {{ dbt.any_value('primary_category') }} as primary_category,
        {{ dbt.any_value('canonical_category_id') }} as canonical_category_id,
        {{ dbt.any_value('canonical_category') }} as canonical_category,
        {{ dbt.any_value('unit_cost') }} as unit_cost,
        {{ dbt.any_value('unit_cost_currency') }} as unit_cost_currency
    from {{ ref('dim_products') }}
    group by store, variant_id
),

stock as (  -- on the store's latest stock day, every warehouse
    select daily.store, daily.variant_id, sum(daily.physical) as physical, sum(daily.free_to_allocate) as free_to_allocate
    from {{ ref('fct_inventory_daily') }} as daily
    inner join (
        select store, max(stock_day) as stock_day from {{ ref('fct_inventory_daily') }} group by store
    ) as latest on daily.store = latest.store and daily.stock_day = latest.stock_day
    group by daily.store, daily.variant_id
),

incoming as (
    select store, variant_id, sum(open_quantity) as incoming_units
    from {{ ref('fct_incoming_deliveries') }}
    group by store, variant_id
),

-- the currency the store's orders convert at rate 1
base as (
    select store, max(case when conversion_rate = 1 then currency end) as base_currency
    from {{ ref('int_orders') }}
    group by store
),

joined as (
    select
        variants.*,
        base.base_currency,
        coalesce(sales.units_sold, 0) as units_sold,
        coalesce(sales.units_returned, 0) as units_returned,
        coalesce(sales.units_kept, 0) as units_kept,
        coalesce(sales.gross_sales_base, 0) as gross_sales_base,
        coalesce(sales.gross_sales_excl_tax_base, 0) as gross_sales_excl_tax_base,
        coalesce(sales.discounts_excl_tax_base, 0) as discounts_excl_tax_base,
        coalesce(sales.kept_sales_excl_tax_base, 0) as kept_sales_excl_tax_base,
        -- a unit cost in another currency has no rate to the base currency in Centra's data: no cost, no margin
        case when variants.unit_cost_currency = base.base_currency then variants.unit_cost end as unit_cost_base,
        coalesce(stock.physical, 0) as physical,
        coalesce(stock.free_to_allocate, 0) as free_to_allocate,
        coalesce(incoming.incoming_units, 0) as incoming_units
    from variants
    left join sales on variants.store = sales.store and variants.variant_id = sales.variant_id
    left join stock on variants.store = stock.store and variants.variant_id = stock.variant_id
    left join incoming on variants.store = incoming.store and variants.variant_id = incoming.variant_id
    left join base on variants.store = base.store
)

select
    store,
    variant_id,
    variant_name,
    variant_number,
    product_id,
    product_name,
    product_number,
    brand,
    collection_id,
    collection,
    primary_category,
    canonical_category_id,
    canonical_category,
    base_currency,
    units_sold,
    units_returned,
    units_kept,
    {{ ratio('units_returned', 'units_sold') }} as return_rate,
    gross_sales_base,
    gross_sales_excl_tax_base,
    discounts_excl_tax_base,
    kept_sales_excl_tax_base,
    unit_cost_base,
    {{ centra_round('units_kept * unit_cost_base', 2) }} as cost_of_kept_units_base,
    {{ centra_round('kept_sales_excl_tax_base - units_kept * unit_cost_base', 2) }} as gross_margin_base,
    {{ ratio('kept_sales_excl_tax_base - units_kept * unit_cost_base', 'kept_sales_excl_tax_base') }}
        as gross_margin_rate,
    physical,
    free_to_allocate,
    incoming_units,
    {{ ratio('units_sold', 'units_sold + physical') }} as sell_through
from joined
