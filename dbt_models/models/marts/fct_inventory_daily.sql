-- Size by warehouse by day: the stock snapshot taken that day (physical, allocated, free to allocate, incoming).
select
    inventory.store,
    inventory.snapshot_date as stock_day,
    inventory.size_id,
    inventory.warehouse_id,
    inventory.sku,
    products.variant_id,
    products.product_id,
    inventory.physical,
    inventory.allocated,
    inventory.free_to_allocate,
    inventory.demand,
    inventory.incoming,
    inventory.on_delivery,
    inventory.unshipped,
    inventory.available_now
from {{ ref('stg_centra__inventory') }} as inventory
left join {{ ref('dim_products') }} as products
    on inventory.store = products.store and inventory.size_id = products.size_id
