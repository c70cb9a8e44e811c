-- Deleting all data after month M must not change who is in the population at M. The
-- population is recomputed here from events cut at each month's end, independently of the
-- spine's own logic, and compared both ways with int_customer_months_spined. Cost grows
-- with customers x months, so at most `leakage_test_max_customers` customers (a
-- deterministic hash sample of customer ids, drawn as in the features' leakage test) are
-- recomputed; the spine is cut to the same customers.
{%- set definition = churn_definition() %}
{%- set max_customers = var('leakage_test_max_customers', 3000) %}
{%- set in_sample -%}
    pmod(xxhash64(customer_id), 10000)
        < 10000 * least(1.0, {{ max_customers }} / customer_count.customers)
{%- endset %}
with

all_customers as (

    select * from {{ ref('int_customers_merged') }}

),

customer_count as (

    select count(*) as customers from all_customers

),

customers as (

    select all_customers.* from all_customers
    cross join customer_count
    where {{ in_sample }}

),

spine as (

    select spine_rows.* from {{ ref('int_customer_months_spined') }} as spine_rows
    cross join customer_count
    where {{ in_sample }}

),

-- used by the non_contractual branch only
transactions as (  -- noqa: ST03

    select * from {{ ref('stg_raw__transactions') }}

),

accounts as (

    select * from {{ ref('stg_raw__accounts') }}

),

data_windows as (

    select * from {{ ref('int_data_windows_summarized') }}

),

months as (

    select {{ month_spine('data_start_month', 'data_end_month') }} as as_of_month
    from data_windows

),

recomputed as (

    select distinct
        customers.customer_id,
        months.as_of_month

    from customers
    cross join months
    {%- if definition == 'contractual' %}
    inner join accounts
        on customers.customer_id = accounts.customer_id
        and accounts.opened_date <= {{ month_end('months.as_of_month') }}
        and (
            accounts.closed_date is null
            or accounts.closed_date > {{ month_end('months.as_of_month') }}
        )
    {%- else %}
    inner join transactions
        on customers.customer_id = transactions.customer_id
        and transactions.posted_at < {{ add_months_to('months.as_of_month', 1) }}
    {%- endif %}

),

in_spine_only as (

    select
        spine.customer_id,
        spine.as_of_month,
        'in the population, but not by the data known then' as problem
    from spine
    left anti join recomputed
        on spine.customer_id = recomputed.customer_id
        and spine.as_of_month = recomputed.as_of_month

),

in_recomputed_only as (

    select
        recomputed.customer_id,
        recomputed.as_of_month,
        'missing from the population though known then' as problem
    from recomputed
    left anti join spine
        on recomputed.customer_id = spine.customer_id
        and recomputed.as_of_month = spine.as_of_month

)

select * from in_spine_only
union all
select * from in_recomputed_only
