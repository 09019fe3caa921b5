-- One row per store, product and category the product is listed in (the union of its displays' categories, latest
-- catalogue snapshot), with the category's path in the tree and whether it is the product's canonical category.
-- Categories belong to displays (a product as shown in a store's markets); a display names one canonical category.
-- A product with several displays takes the canonical category of its first active display (then any, by id).
with displays as (
    select * from {{ ref('stg_centra__displays') }} where is_latest_snapshot
),

listed as (
    select distinct displays.store, displays.product_id, display_categories.category_id
    from {{ ref('stg_centra__display_categories') }} as display_categories
    inner join displays
        on display_categories.store = displays.store and display_categories.display_id = displays.display_id
    where display_categories.is_latest_snapshot
),

canonical as (
    select store, product_id, canonical_category_id
    from (
        select
            store,
            product_id,
            canonical_category_id,
            row_number() over (
                partition by store, product_id
                order by case when status = 'ACTIVE' then 0 else 1 end, display_id
            ) as position
        from displays
        where canonical_category_id is not null
    ) as ranked
    where position = 1
),

-- a canonical category the displays do not list is still the product's category
links as (
    select store, product_id, category_id from listed
    union
    select store, product_id, canonical_category_id from canonical
)

select
    links.store,
    links.product_id,
    links.category_id,
    categories.category,
    categories.category_path,
    categories.top_category_id,
    categories.top_category,
    canonical.canonical_category_id is not null as is_canonical,
    listed.category_id is not null as is_listed
from links
left join canonical
    on links.store = canonical.store and links.product_id = canonical.product_id
    and links.category_id = canonical.canonical_category_id
left join listed
    on links.store = listed.store and links.product_id = listed.product_id and links.category_id = listed.category_id
left join {{ ref('dim_categories') }} as categories
    on links.store = categories.store and links.category_id = categories.category_id
