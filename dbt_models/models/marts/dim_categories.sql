-- One row per store and category (Centra's category tree, latest catalogue snapshot) with its parent, its top
-- category and its path from the top ('Women > Tops'). Centra holds the tree downwards (each category's children):
-- a category no other lists as a child is a top category. The depth is capped at 20 so a loop in bad data ends.
with recursive categories as (
    select * from {{ ref('stg_centra__categories') }} where is_latest_snapshot
),

parents as (
    select store, child_category_id as category_id, min(category_id) as parent_category_id
    from {{ ref('stg_centra__category_children') }}
    where is_latest_snapshot
    group by store, child_category_id
),

tree as (
    select
        categories.store,
        categories.category_id,
        cast(null as bigint) as parent_category_id,
        categories.category_id as top_category_id,
        cast(categories.name as {{ dbt.type_string() }}) as category_path,
        1 as depth
    from categories
    left join parents on categories.store = parents.store and categories.category_id = parents.category_id
    where parents.category_id is null

    union all

    select
        children.store,
        children.category_id,
        tree.category_id as parent_category_id,
        tree.top_category_id,
        cast(tree.category_path || ' > ' || children.name as {{ dbt.type_string() }}) as category_path,
        tree.depth + 1 as depth
    from tree
    inner join parents on tree.store = parents.store and tree.category_id = parents.parent_category_id
    inner join categories as children
        on parents.store = children.store and parents.category_id = children.category_id
    where tree.depth < 20
)

select
    categories.store,
    categories.category_id,
    categories.name as category,
    categories.uri as category_uri,
    tree.parent_category_id,
    tree.top_category_id,
    tops.name as top_category,
    tree.category_path,
    tree.depth
from categories
left join tree on categories.store = tree.store and categories.category_id = tree.category_id
left join categories as tops on tree.store = tops.store and tree.top_category_id = tops.category_id
