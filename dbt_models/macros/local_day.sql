{# Portable building blocks: the marts use these and dbt's cross-database macros (dbt.datediff, dbt.date_trunc,
   dbt.any_value, dbt.listagg, ...) rather than one warehouse's dialect, so they build on DuckDB, PostgreSQL
   and the cloud warehouses dbt supports. Staging (centra_staging.sql) is where the raw files are read. #}

{# The calendar day of a UTC timestamp in its store's timezone: the SQL mirror of the one store-day rule,
   centra_assets/calendar.py (day_of), the rule that puts a record in its raw
   partition. var `store_timezones` maps store name -> timezone (Dagster passes the configured stores; by
   hand it is {"default": CENTRA_TIMEZONE}). One timezone: used for every row, whatever the store is called. #}
{% macro local_day(ts, store='store') -%}
    {%- set zones = var('store_timezones') -%}
    {%- if zones is string %}{% set zones = fromjson(zones) %}{% endif -%}
    {%- if zones | length == 1 -%}
        {{ centra_at_zone(ts, (zones.values() | list)[0]) }}
    {%- else -%}
        case {{ store }}
        {%- for name, tz in zones.items() %} when '{{ name }}' then {{ centra_at_zone(ts, tz) }}{% endfor %} end
    {%- endif -%}
{%- endmacro %}

{% macro centra_at_zone(ts, tz) -%}
    {{ return(adapter.dispatch('centra_at_zone')(ts, tz)) }}
{%- endmacro %}

{% macro default__centra_at_zone(ts, tz) -%}
    cast(({{ ts }}) at time zone '{{ tz }}' as date)
{%- endmacro %}

{# round(x, n) for any number, as a double everywhere: PostgreSQL rounds only numerics to n places. #}
{% macro centra_round(value, places) -%}
    {{ return(adapter.dispatch('centra_round')(value, places)) }}
{%- endmacro %}

{% macro default__centra_round(value, places) -%}
    round({{ value }}, {{ places }})
{%- endmacro %}

{% macro postgres__centra_round(value, places) -%}
    cast(round(cast({{ value }} as numeric), {{ places }}) as double precision)
{%- endmacro %}

{# numerator / denominator as a fraction (never integer division), null when the denominator is 0. #}
{% macro ratio(numerator, denominator, places=4) -%}
    {{ centra_round('cast(' ~ numerator ~ ' as double precision) / nullif(' ~ denominator ~ ', 0)', places) }}
{%- endmacro %}

{# Money in the base currency: Centra's conversion rate multiplies (MonetaryValue.conversionRate). #}
{% macro to_base(value, rate='conversion_rate') -%}
    {{ centra_round(value ~ ' * ' ~ rate, 2) }}
{%- endmacro %}

{# An amount without the VAT inside it, to the cent, rounded half away from zero (as centra_round rounds a
   number that is exact). When the order's lines share one VAT rate (`percent`; 0 when the order adds tax on top),
   amount / (1 + percent / 100) is computed exactly: 87.57 at 20 % is 72.975, a half cent, so 72.98; in binary
   floating point, 87.57 times the share 0.8333... lands on 72.97499999... and would round down, one build's cent
   becoming 0.13 in a krona base currency. Lines with different rates (`percent` null) take the order's weighted
   share `ratio` of the amount. Choices: DECISIONLOG.md ("Net sales excluding tax"). #}
{% macro excl_tax(amount, percent='included_tax_percent', ratio='excl_tax_ratio') -%}
    case
        when {{ percent }} is null then {{ centra_round('(' ~ amount ~ ') * ' ~ ratio, 2) }}
        else {{ adapter.dispatch('exact_excl_tax')(amount, percent) }}
    end
{%- endmacro %}

{# In whole cents, exactly: cents * 10000 / (10000 + basis points), rounded half away from zero. #}
{% macro default__exact_excl_tax(amount, percent) -%}
    {%- set cents = 'cast(round((' ~ amount ~ ') * 100) as hugeint)' -%}
    {%- set basis = '(10000 + cast(round((' ~ percent ~ ') * 100) as hugeint))' -%}
    sign({{ cents }}) * ((abs({{ cents }}) * 20000 + {{ basis }}) // (2 * {{ basis }})) / 100.0
{%- endmacro %}

{# numeric division is exact to 16 places or more, and PostgreSQL rounds a numeric half away from zero #}
{% macro postgres__exact_excl_tax(amount, percent) -%}
    cast(round(cast({{ amount }} as numeric) * 100 / (100 + cast({{ percent }} as numeric)), 2) as double precision)
{%- endmacro %}

{# Hours (or days) between two timestamps, with fractions. #}
{% macro hours_between(start, end, per=3600.0) -%}
    {{ dbt.datediff(start, end, 'second') }} / {{ per }}
{%- endmacro %}
