{#- Same name and arguments as dbt_expectations.expect_column_values_to_be_between
    (written here because dbt hub packages cannot be installed everywhere). -#}
{% test expect_column_values_to_be_between(model, column_name, min_value=none, max_value=none, row_condition=none, strictly=false) %}
{%- set low = '>' if strictly else '>=' -%}
{%- set high = '<' if strictly else '<=' -%}
select *
from {{ model }}
where {{ column_name }} is not null
    {%- if row_condition %} and ({{ row_condition }}){% endif %}
    and not (
        true
        {%- if min_value is not none %} and {{ column_name }} {{ low }} {{ min_value }}{% endif %}
        {%- if max_value is not none %} and {{ column_name }} {{ high }} {{ max_value }}{% endif %}
    )
{% endtest %}
