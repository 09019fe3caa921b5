-- One row per store and variant (a product in one colour: the level a fashion brand buys, prices and reviews), with
-- its product, collection, brand, primary and canonical category: units sold, returned and kept; sales in the base
-- currency with and without tax; the order discounts' share; cost and gross margin on two bases (the variant's unit
-- cost, its deliveries' landed cost: dim_variant_costs); stock, incoming units and sell-through. By day and market:
-- product_performance_daily. Sales count every order in the warehouse (all markets and store types).
-- Choices: DECISIONLOG.md ("Product performance").
with sales as (  -- the variant's order lines (fct_order_lines: their tax and voucher shares), every day
    select store, variant_id, {{ sum_order_lines('lines') }}
    from {{ ref('fct_order_lines') }} as lines
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
        {{ dbt.any_value('canonical_category') }} as canonical_category
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
        costs.unit_cost_base,
        costs.landed_unit_cost_base,
        coalesce(stock.physical, 0) as physical,
        coalesce(stock.free_to_allocate, 0) as free_to_allocate,
        coalesce(incoming.incoming_units, 0) as incoming_units
    from variants
    left join sales on variants.store = sales.store and variants.variant_id = sales.variant_id
    left join stock on variants.store = stock.store and variants.variant_id = stock.variant_id
    left join incoming on variants.store = incoming.store and variants.variant_id = incoming.variant_id
    left join {{ ref('dim_variant_costs') }} as costs
        on variants.store = costs.store and variants.variant_id = costs.variant_id
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
    landed_unit_cost_base,
    {{ cost_and_margin() }},
    physical,
    free_to_allocate,
    incoming_units,
    {{ ratio('units_sold', 'units_sold + physical') }} as sell_through
from joined
