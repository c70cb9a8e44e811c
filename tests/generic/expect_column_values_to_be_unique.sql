{#- Same name and arguments as dbt_expectations.expect_column_values_to_be_unique, plus one:
    `max_checked_values`. When it is set and the table holds more rows, the test checks a
    deterministic hash sample of about that many values instead of every one. All copies of
    a value hash alike, so a value in the sample is either checked with all its copies or
    not at all: a duplicated value in the sample is always reported, and a fault that
    duplicates many values is found with near certainty. It misses duplicates of a few
    values outside the sample, so use it only where the model makes the column unique by
    construction (say, keeping row_number() = 1 partitioned by that column) and a unit test
    covers that rule; key columns of joins keep the full `unique` test. -#}
{% test expect_column_values_to_be_unique(
    model, column_name, row_condition=none, max_checked_values=none
) %}
with

checked_rows as (

    select {{ column_name }} as checked_value
    from {{ model }}
    {%- if row_condition %}
    where {{ row_condition }}
    {%- endif %}

),

{%- if max_checked_values %}

row_count as (

    select count(*) as row_count from checked_rows

),

sampled as (

    select checked_rows.checked_value
    from checked_rows
    cross join row_count
    where pmod(xxhash64(checked_rows.checked_value), 1000000)
        < 1000000 * least(1.0, {{ max_checked_values }} / greatest(row_count.row_count, 1))

),

{%- else %}

sampled as (

    select checked_value from checked_rows

),

{%- endif %}

duplicated as (

    select
        checked_value as {{ column_name }},
        count(*) as duplicate_count

    from sampled
    where checked_value is not null
    group by checked_value
    having count(*) > 1

)

select * from duplicated
{% endtest %}
