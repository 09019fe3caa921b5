{# The calendar day of a UTC timestamp in the store's timezone (var `timezone`, from CENTRA_TIMEZONE): the
   same rule that puts a record in its raw partition. #}
{% macro local_day(ts) -%}
    cast(timezone('{{ var("timezone") }}', {{ ts }}) as date)
{%- endmacro %}

{# Money in the base currency: Centra's conversion rate multiplies (MonetaryValue.conversionRate). #}
{% macro to_base(value, rate='conversion_rate') -%}
    round({{ value }} * {{ rate }}, 2)
{%- endmacro %}
