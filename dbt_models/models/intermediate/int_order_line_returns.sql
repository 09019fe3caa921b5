{{ config(materialized='table') }}  -- small (one row per returned order line): read twice, written once
-- Units returned per order line, over every return (Centra's return line names its order line): the lines' returned
-- units and value, which int_order_lines keeps per line and int_orders sums per order (macro order_lines_measured),
-- so that a build reads every return line once, not once for each of them.
select
    returns.store,
    returns.order_number,
    return_lines.order_line_id as line_id,
    sum(return_lines.quantity) as returned_quantity
from {{ ref('stg_centra__return_lines') }} as return_lines
inner join {{ ref('stg_centra__returns') }} as returns
    on return_lines.store = returns.store and return_lines.return_id = returns.return_id
group by returns.store, returns.order_number, return_lines.order_line_id
