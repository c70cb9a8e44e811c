{#- Point-in-time window helpers over a customer x month spine: only the current row and
    earlier rows are ever used, so no feature can see the future. `partition_by` is a
    parameter so the leakage test can recompute the same windows over data cut at a month. -#}

{% macro trailing_window(months, partition_by='customer_id', order_by='as_of_month') -%}
    partition by {{ partition_by }} order by {{ order_by }}
    rows between {{ months - 1 }} preceding and current row
{%- endmacro %}

{#- Everything up to and including the current row: "to date" features. -#}
{% macro cumulative_window(partition_by='customer_id', order_by='as_of_month') -%}
    partition by {{ partition_by }} order by {{ order_by }}
    rows between unbounded preceding and current row
{%- endmacro %}
