{# Whether a day's returned units, refunds and the net sales after them may miss returns of orders placed before the
   store's first synced day (first_day): within the return window (var return_window_days) after it, a return
   created before that day is not synced and one created after it lacks its order's market (DECISIONLOG.md, "History
   before the start date"). A rule of the calendar, not of the data: the warehouse cannot see what it never synced.
   sales_calendar and daily_sales mark their days with it, so the mark sits beside the figures it qualifies. #}
{% macro depends_on_history_before_start(day, first_day) -%}
    {{ day }} < cast({{ dbt.dateadd('day', var('return_window_days'), first_day) }} as date)
{%- endmacro %}
