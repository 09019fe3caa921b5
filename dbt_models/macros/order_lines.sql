{# The order lines with their measures, in the order's currency: units sold (not cancelled) and returned, gross sales,
   markdown, cancelled and returned value. int_order_lines keeps them per line; int_orders sums them per order from
   this same select over the staged lines, not from int_order_lines' table: so a build of daily_sales and what it
   reads writes no table of every line (make bench: int_order_lines was a third of that build), and the Parquet scan
   under it reads only the columns summed. `days`: the [store, day] pairs an incremental build recomputes (their
   raw files alone, centra_staged), or none for every line. #}
{% macro order_lines_measured(days=none) -%}
select
    lines.*,
    lines.quantity - lines.cancelled_quantity as sold_quantity,
    coalesce(returned.returned_quantity, 0) as returned_quantity,
    {{ centra_round('(lines.quantity - lines.cancelled_quantity) * lines.unit_price', 2) }} as gross_sales,
    {{ centra_round('(lines.quantity - lines.cancelled_quantity) * (lines.unit_original_price - lines.unit_price)', 2) }}
        as markdown,
    {{ centra_round('lines.cancelled_quantity * lines.unit_price', 2) }} as cancelled_value,
    -- Centra gives a return line no value of its own: the units returned at the line's unit price.
    {{ centra_round('coalesce(returned.returned_quantity, 0) * lines.unit_price', 2) }} as returned_value
{%- if days is not none %}
from {{ centra_staged('order_lines', days) }} as lines
{%- else %}
from {{ ref('stg_centra__order_lines') }} as lines
{%- endif %}
left join {{ ref('int_order_line_returns') }} as returned
    on lines.store = returned.store and lines.order_number = returned.order_number and lines.line_id = returned.line_id
{%- endmacro %}
