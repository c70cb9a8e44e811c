{#- Join condition: an account open at the end of a month (opened by then, not yet closed).
    The contractual population and the monthly account features use the same rule; the
    population test in tests/singular spells it out on its own, to stay independent. -#}
{% macro account_open_at_month_end(accounts, month) -%}
    {{ accounts }}.opened_date <= {{ month_end(month) }}
    and (
        {{ accounts }}.closed_date is null
        or {{ accounts }}.closed_date > {{ month_end(month) }}
    )
{%- endmacro %}
