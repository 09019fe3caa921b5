{# Order lines (fct_order_lines) summed per variant, or per variant, day and market: units, and sales in the base
   currency summed unrounded and rounded once, so every mart over lines counts alike. #}
{% macro sum_order_lines(lines='lines') -%}
    {%- set kept = '(' ~ lines ~ '.sold_quantity - least(' ~ lines ~ '.returned_quantity, ' ~ lines ~ '.sold_quantity))' -%}
    {%- set base = ' * ' ~ lines ~ '.excl_tax_share * ' ~ lines ~ '.conversion_rate' -%}
    sum({{ lines }}.sold_quantity) as units_sold,
    sum(least({{ lines }}.returned_quantity, {{ lines }}.sold_quantity)) as units_returned,
    sum({{ kept }}) as units_kept,
    {{ centra_round('sum(' ~ lines ~ '.gross_sales * ' ~ lines ~ '.conversion_rate)', 2) }} as gross_sales_base,
    {{ centra_round('sum(' ~ lines ~ '.gross_sales' ~ base ~ ')', 2) }} as gross_sales_excl_tax_base,
    {{ centra_round('sum(' ~ lines ~ '.gross_sales * ' ~ lines ~ '.discount_share' ~ base ~ ')', 2) }}
        as discounts_excl_tax_base,
    {{ centra_round('sum(' ~ lines ~ '.gross_sales * (1 - ' ~ lines ~ '.discount_share)' ~ base ~ ')', 2) }}
        as net_sales_excl_tax_base,
    {{ centra_round('sum(' ~ kept ~ ' * ' ~ lines ~ '.unit_price * (1 - ' ~ lines ~ '.discount_share)' ~ base ~ ')', 2) }}
        as kept_sales_excl_tax_base
{%- endmacro %}

{# Cost of the kept units and gross margin on both cost bases (dim_variant_costs), named by basis: the variant's
   unit cost (gross_margin_*) and its deliveries' landed cost (*_on_landed_cost_*); null without that cost. #}
{% macro cost_and_margin(units_kept='units_kept', sales='kept_sales_excl_tax_base', unit_cost='unit_cost_base',
                         landed='landed_unit_cost_base') -%}
    {{ centra_round(units_kept ~ ' * ' ~ unit_cost, 2) }} as cost_of_kept_units_base,
    {{ centra_round(sales ~ ' - ' ~ units_kept ~ ' * ' ~ unit_cost, 2) }} as gross_margin_base,
    {{ ratio(sales ~ ' - ' ~ units_kept ~ ' * ' ~ unit_cost, sales) }} as gross_margin_rate,
    {{ centra_round(units_kept ~ ' * ' ~ landed, 2) }} as landed_cost_of_kept_units_base,
    {{ centra_round(sales ~ ' - ' ~ units_kept ~ ' * ' ~ landed, 2) }} as gross_margin_on_landed_cost_base,
    {{ ratio(sales ~ ' - ' ~ units_kept ~ ' * ' ~ landed, sales) }} as gross_margin_on_landed_cost_rate
{%- endmacro %}

{# product_performance's per-variant measures summed over a group of its rows (sales by attribute value, by
   category), so every such mart counts alike. Cost and margin sum over the variants with a unit cost in the base
   currency only; costed_kept_sales_excl_tax_base is their kept sales, the margin rate's denominator. #}
{% macro sum_product_performance(rows='performance') -%}
    count(distinct {{ rows }}.variant_id) as variants,
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
        ~ rows ~ '.kept_sales_excl_tax_base end)') }} as gross_margin_rate,
    {{ centra_round('sum(' ~ rows ~ '.landed_cost_of_kept_units_base)', 2) }} as landed_cost_of_kept_units_base,
    {{ centra_round('sum(' ~ rows ~ '.gross_margin_on_landed_cost_base)', 2) }} as gross_margin_on_landed_cost_base,
    {{ ratio('sum(' ~ rows ~ '.gross_margin_on_landed_cost_base)', 'sum(case when ' ~ rows
        ~ '.landed_unit_cost_base is not null then ' ~ rows ~ '.kept_sales_excl_tax_base end)') }}
        as gross_margin_on_landed_cost_rate
{%- endmacro %}

{# product_performance summed per category, the category's product links chosen by a dim_product_categories flag:
   'is_listed' (a product under every category its displays list) or 'is_canonical' (once, under its canonical
   category; products without one under category_id null). `by`: further keys of `performance` to group by (the
   daily marts: order_day, market_id, with order_week and order_month beside the day). #}
{% macro sales_by_category(performance, links, membership, by=[]) -%}
select
    performance.store,
    {%- for column in by %}
    performance.{{ column }},
    {%- endfor %}
    links.category_id,
    {{ dbt.any_value('links.category') }} as category,
    {{ dbt.any_value('links.category_path') }} as category_path,
    {{ dbt.any_value('links.top_category') }} as top_category,
    count(distinct performance.product_id) as products,
    {{ sum_product_performance('performance') }}
from {{ performance }} as performance
{{ 'left' if membership == 'is_canonical' else 'inner' }} join {{ links }} as links
    on performance.store = links.store and performance.product_id = links.product_id and links.{{ membership }}
group by performance.store, {% for column in by %}performance.{{ column }}, {% endfor %}links.category_id
{%- endmacro %}

{# product_performance (or product_performance_daily) summed per attribute element and value: within one element every
   variant counts once, under its value or under value_key null (not set). `by`: further keys of `performance` to
   group by (the daily mart: order_day, order_week, order_month, market_id). #}
{% macro sales_by_attribute(performance, attributes, by=[]) -%}
with elements as (
    select distinct store, attribute_level, attribute_type, element_key from {{ attributes }}
)

select
    elements.store,
    {%- for column in by %}
    performance.{{ column }},
    {%- endfor %}
    elements.attribute_level,
    elements.attribute_type,
    elements.element_key,
    attributes.value_key,
    max(attributes.value_name) as value_name,
    {{ sum_product_performance('performance') }}
from elements
inner join {{ performance }} as performance on elements.store = performance.store
left join {{ attributes }} as attributes
    on elements.store = attributes.store
    and elements.attribute_level = attributes.attribute_level
    and elements.attribute_type = attributes.attribute_type
    and elements.element_key = attributes.element_key
    and performance.product_id = attributes.product_id
    and (elements.attribute_level = 'product' or performance.variant_id = attributes.variant_id)
group by elements.store, {% for column in by %}performance.{{ column }}, {% endfor %}elements.attribute_level,
    elements.attribute_type, elements.element_key, attributes.value_key
{%- endmacro %}

{# product_performance_daily's rows of the days whose sales this build recomputes (int_performance_days'
   is_sales_changed: the daily marts summed from it carry no expected returns, so a day listed only for those keeps
   its rows), or all of them when it recomputes every day (centra_listed_only): what sales_by_attribute_daily,
   sales_by_category_daily and sales_by_canonical_category_daily sum. #}
{% macro performance_of_changed_sales() -%}
    {%- set performance = ref('product_performance_daily') -%}
    {%- if centra_listed_only('int_performance_days') -%}
        {{- return('(select * from ' ~ performance ~ ' where '
            ~ centra_listed('int_performance_days', 'store, order_day', 'is_sales_changed') ~ ')') -}}
    {%- endif -%}
    {{- return(performance) -}}
{%- endmacro %}
