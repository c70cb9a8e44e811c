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

{#- Least-squares slope of y on the month number over the trailing window. -#}
{% macro rolling_slope(y, months, partition_by='customer_id') -%}
    {%- set x = month_number('as_of_month') -%}
    {%- set w = trailing_window(months, partition_by) -%}
    (
        count({{ y }}) over ({{ w }}) * sum({{ x }} * {{ y }}) over ({{ w }})
        - sum({{ x }}) over ({{ w }}) * sum({{ y }}) over ({{ w }})
    ) / nullif(
        count({{ y }}) over ({{ w }}) * sum({{ x }} * {{ x }}) over ({{ w }})
        - pow(sum({{ x }}) over ({{ w }}), 2),
        0
    )
{%- endmacro %}

{#- Amplitude of the k-th Fourier harmonic (period in months) of y over the trailing window,
    normalised by the number of months observed. Phase-free, so calendar alignment does not
    matter: a strongly seasonal customer has a large k=1 amplitude for period 12. -#}
{% macro rolling_fourier_amplitude(y, k, period, months, partition_by='customer_id') -%}
    {%- set angle = '2 * pi() * ' ~ k ~ ' * ' ~ month_number('as_of_month') ~ ' / ' ~ period -%}
    {%- set w = trailing_window(months, partition_by) -%}
    2 * sqrt(
        pow(sum({{ y }} * cos({{ angle }})) over ({{ w }}), 2)
        + pow(sum({{ y }} * sin({{ angle }})) over ({{ w }}), 2)
    ) / count({{ y }}) over ({{ w }})
{%- endmacro %}
