{{ config(meta={"dagster": {"ref": {"name": "fct_orders"}}}) }}
-- An order's gross sales equal the sum of its lines, and, for an order with nothing cancelled, Centra's own
-- items subtotal. In a build that recomputes only the changed days, the orders of those days (the rest held still).
{%- set days = centra_test_days(graph.nodes['model.centra.fct_order_lines']) if execute else none %}
with lines as (
    select store, order_number, sum(gross_sales) as gross
    from {{ ref('fct_order_lines') }}
    {%- if days is not none %}
    where {{ centra_in_days('store', 'order_day', days.pairs) }}
    {%- endif %}
    group by store, order_number
)

select orders.store, orders.order_number, orders.gross_sales, lines.gross, centra.items_subtotal
from {{ ref('fct_orders') }} as orders
left join lines on orders.store = lines.store and orders.order_number = lines.order_number
inner join {{ centra_staged('orders', days.pairs) if days is not none else ref('stg_centra__orders') }} as centra
    on orders.store = centra.store and orders.order_number = centra.order_number
where (abs(orders.gross_sales - coalesce(lines.gross, 0)) > 0.005
    or (orders.status <> 'CANCELLED' and abs(orders.gross_sales - centra.items_subtotal) > 0.005))
    {%- if days is not none %}
    and {{ centra_in_days('orders.store', 'orders.order_day', days.pairs) }}
    {%- endif %}
