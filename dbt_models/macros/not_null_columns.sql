{# A model's columns that are never null, checked in one query (one test per model, not one per column: a build runs
   each test as a node of its own, ~45 ms of dbt's overhead apiece before its query, and a refresh build ran 37 of
   them). Its failing rows are the whole rows, so the column that is null shows. The rows it reads are those
   dbt's `where` and a build by day give it (get_where_subquery, macros/incremental.sql), as for dbt's not_null. #}
{% test not_null_columns(model, columns) %}
select *
from {{ model }}
where {% for column in columns %}{{ column }} is null{% if not loop.last %} or {% endif %}{% endfor %}
{% endtest %}
