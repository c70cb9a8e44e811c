{#- Same name and arguments as dbt_expectations.expect_column_values_to_be_in_set, plus
    value_set_var: the name of a dbt var holding the allowed values, so that a domain rule
    (allowed regions, channels) is a setting of the project, not a list in the yml. An empty
    set allows every value: the test then checks nothing, by design. -#}
{% test expect_column_values_to_be_in_set(model, column_name, value_set=none, value_set_var=none, quote_values=true, row_condition=none) %}
{%- set values = value_set if value_set is not none else var(value_set_var, []) -%}
{%- if values | length == 0 %}
select * from {{ model }} where false
{%- else %}
select *
from {{ model }}
where {{ column_name }} is not null
    {%- if row_condition %} and ({{ row_condition }}){% endif %}
    and {{ column_name }} not in (
        {%- for value in values %}
        {{ "'" ~ (value | string | replace("'", "''")) ~ "'" if quote_values else value }}
        {{- ',' if not loop.last }}
        {%- endfor %}
    )
{%- endif %}
{% endtest %}
