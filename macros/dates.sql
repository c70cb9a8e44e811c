{#- Date helpers. Spark-specific SQL lives in the spark__ implementations. -#}

{% macro month_spine(start_month, end_month) -%}
    {{ return(adapter.dispatch('month_spine', 'customer_propensity')(start_month, end_month)) }}
{%- endmacro %}

{% macro spark__month_spine(start_month, end_month) -%}
    explode(sequence({{ start_month }}, {{ end_month }}, interval 1 month))
{%- endmacro %}

{% macro add_months_to(date_expression, months) -%}
    {{ return(adapter.dispatch('add_months_to', 'customer_propensity')(date_expression, months)) }}
{%- endmacro %}

{% macro default__add_months_to(date_expression, months) -%}
    {{ dateadd('month', months, date_expression) }}
{%- endmacro %}

{% macro spark__add_months_to(date_expression, months) -%}
    add_months({{ date_expression }}, {{ months }})
{%- endmacro %}

{% macro month_start(date_expression) -%}
    {{ return(adapter.dispatch('month_start', 'customer_propensity')(date_expression)) }}
{%- endmacro %}

{% macro spark__month_start(date_expression) -%}
    cast(date_trunc('month', {{ date_expression }}) as date)
{%- endmacro %}

{% macro month_end(month_expression) -%}
    {{ return(adapter.dispatch('month_end', 'customer_propensity')(month_expression)) }}
{%- endmacro %}

{% macro spark__month_end(month_expression) -%}
    last_day({{ month_expression }})
{%- endmacro %}

{#- Months since a fixed epoch: a linear time axis for trends and Fourier terms. -#}
{% macro month_number(month_expression) -%}
    (year({{ month_expression }}) * 12 + month({{ month_expression }}) - 1)
{%- endmacro %}
