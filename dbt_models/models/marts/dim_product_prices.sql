-- The current price of each variant on each pricelist (latest snapshot), in the pricelist's currency.
select
    prices.store,
    prices.price_id,
    prices.pricelist_id,
    pricelists.name as pricelist,
    prices.product_id,
    prices.variant_id,
    prices.price,
    prices.recommended_retail_price,
    prices.currency
from {{ ref('stg_centra__prices') }} as prices
left join {{ ref('stg_centra__pricelists') }} as pricelists
    on prices.store = pricelists.store and prices.pricelist_id = pricelists.pricelist_id
    and pricelists.is_latest_snapshot
where prices.is_latest_snapshot
