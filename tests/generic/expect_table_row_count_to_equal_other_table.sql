{#- Same name and arguments as dbt_expectations.expect_table_row_count_to_equal_other_table. -#}
{% test expect_table_row_count_to_equal_other_table(model, compare_model, row_condition=none, compare_row_condition=none) %}
with

model_rows as (

    select count(*) as row_count
    from {{ model }}
    {%- if row_condition %} where {{ row_condition }}{% endif %}

),

compare_rows as (

    select count(*) as row_count
    from {{ compare_model }}
    {%- if compare_row_condition %} where {{ compare_row_condition }}{% endif %}

)

select
    model_rows.row_count as model_row_count,
    compare_rows.row_count as compare_row_count
from model_rows
cross join compare_rows
where model_rows.row_count != compare_rows.row_count
{% endtest %}
