{# product_performance's per-variant measures summed over a group of its rows (sales by attribute value, by
   category), so every such mart counts alike. Cost and margin sum over the variants with a unit cost in the base
   currency only; costed_kept_sales_excl_tax_base is their kept sales, the margin rate's denominator. #}
{% macro sum_product_performance(rows='performance') -%}
    count({{ rows }}.variant_id) as variants,
    {{ dbt.any_value(rows ~ '.base_currency') }} as base_currency,
    coalesce(sum({{ rows }}.units_sold), 0) as units_sold,
    coalesce(sum({{ rows }}.units_returned), 0) as units_returned,
    coalesce(sum({{ rows }}.units_kept), 0) as units_kept,
    {{ ratio('sum(' ~ rows ~ '.units_returned)', 'sum(' ~ rows ~ '.units_sold)') }} as return_rate,
    {%- for measure in ['gross_sales', 'gross_sales_excl_tax', 'discounts_excl_tax', 'kept_sales_excl_tax'] %}
    coalesce({{ centra_round('sum(' ~ rows ~ '.' ~ measure ~ '_base)', 2) }}, 0) as {{ measure }}_base,
    {%- endfor %}
    {{ centra_round('sum(case when ' ~ rows ~ '.unit_cost_base is not null then ' ~ rows
        ~ '.kept_sales_excl_tax_base end)', 2) }} as costed_kept_sales_excl_tax_base,
    {{ centra_round('sum(' ~ rows ~ '.cost_of_kept_units_base)', 2) }} as cost_of_kept_units_base,
    {{ centra_round('sum(' ~ rows ~ '.gross_margin_base)', 2) }} as gross_margin_base,
    {{ ratio('sum(' ~ rows ~ '.gross_margin_base)', 'sum(case when ' ~ rows ~ '.unit_cost_base is not null then '
        ~ rows ~ '.kept_sales_excl_tax_base end)') }} as gross_margin_rate
{%- endmacro %}

{# product_performance summed per category, the category's product links chosen by a dim_product_categories flag:
   'is_listed' (a product under every category its displays list) or 'is_canonical' (once, under its canonical
   category; products without one under category_id null). #}
{% macro sales_by_category(performance, links, membership) -%}
select
    performance.store,
    links.category_id,
    {{ dbt.any_value('links.category') }} as category,
    {{ dbt.any_value('links.category_path') }} as category_path,
    {{ dbt.any_value('links.top_category') }} as top_category,
    count(distinct performance.product_id) as products,
    {{ sum_product_performance('performance') }}
from {{ performance }} as performance
{{ 'left' if membership == 'is_canonical' else 'inner' }} join {{ links }} as links
    on performance.store = links.store and performance.product_id = links.product_id and links.{{ membership }}
group by performance.store, links.category_id
{%- endmacro %}
