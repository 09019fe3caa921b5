-- One row per store and variant: what a unit costs the brand, in the base currency, on two bases. The unit cost is
-- the catalogue's (Centra unitCost on the variant); the landed cost is what its deliveries cost with freight and
-- duties (the delivery lines' landedCost), averaged over the units delivered. A cost in another currency is
-- converted at the latest synced rate of that currency (Centra's currencies: a delivery line carries no rate of its
-- own), so a foreign cost gives a margin instead of none. Rebuilt whole: costs change with the catalogue and with
-- every delivery, not with the order days fct_order_lines is rebuilt by. Choices: DECISIONLOG.md ("Cost bases").
with rates as (  -- a currency's rate to the base currency on the latest snapshot: base = value * rate
    select store, code, case when is_base then 1.0 else current_base_rate end as base_rate
    from {{ ref('stg_centra__currencies') }}
    where is_latest_snapshot
),

variants as (
    select
        products.store,
        products.variant_id,
        {{ dbt.any_value('products.unit_cost') }} as unit_cost,
        {{ dbt.any_value('products.unit_cost_currency') }} as unit_cost_currency
    from {{ ref('dim_products') }} as products
    group by products.store, products.variant_id
),

landed as (
    select
        lines.store,
        lines.variant_id,
        sum(lines.quantity) as delivered_units,
        sum(lines.quantity * lines.landed_cost * rates.base_rate) / nullif(sum(lines.quantity), 0) as landed_unit_cost_base
    from {{ ref('stg_centra__purchase_order_delivery_lines') }} as lines
    inner join rates on lines.store = rates.store and lines.currency = rates.code
    where lines.landed_cost is not null and lines.quantity > 0
    group by lines.store, lines.variant_id
)

select
    variants.store,
    variants.variant_id,
    variants.unit_cost,
    variants.unit_cost_currency,
    {{ centra_round('variants.unit_cost * rates.base_rate', 2) }} as unit_cost_base,
    coalesce(landed.delivered_units, 0) as delivered_units,
    {{ centra_round('landed.landed_unit_cost_base', 2) }} as landed_unit_cost_base
from variants
left join rates on variants.store = rates.store and variants.unit_cost_currency = rates.code
left join landed on variants.store = landed.store and variants.variant_id = landed.variant_id
