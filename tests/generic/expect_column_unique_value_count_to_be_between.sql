{#- Same name and arguments as dbt_expectations.expect_column_unique_value_count_to_be_between. -#}
{% test expect_column_unique_value_count_to_be_between(
    model, column_name, min_value=none, max_value=none
) %}
select unique_value_count
from (select count(distinct {{ column_name }}) as unique_value_count from {{ model }}) as counted
where false
    {%- if min_value is not none %} or unique_value_count < {{ min_value }}{% endif %}
    {%- if max_value is not none %} or unique_value_count > {{ max_value }}{% endif %}
{% endtest %}
