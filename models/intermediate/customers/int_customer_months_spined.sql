-- The population: one row per customer and as_of_month at whose end the customer belongs to
-- it, decided only from what was known by then (macro churn_definition):
--   * contractual: an account open at the month's end;
--   * non_contractual: a transaction posted on or before the month's end, so one-time buyers
--     and long-quiet customers stay in the population until they buy again or forever.
-- Region and segment are the versions valid at the month's end (snapshot customers_snapshot),
-- null before the first version the source recorded; the accounts open at the month's end
-- are counted, with their monthly fees (null when none is open).
--
-- In the contractual population every join is on customer_id, and the months are then
-- matched on (customer_id, as_of_month). Spark re-shuffles both sides of that last join by
-- both keys unless told that rows already partitioned by customer_id will do
-- (spark.sql.requireAllClusterKeysForCoPartition off, for this model alone): 43.3-59.3 s ->
-- 29.4-33.6 s for the query at 1,000,000 customers, two rounds alternating in one Spark
-- process, the same rows.
{{ config(
    pre_hook="set spark.sql.requireAllClusterKeysForCoPartition=false",
    post_hook="reset spark.sql.requireAllClusterKeysForCoPartition",
) }}
{%- set definition = churn_definition() %}
with

customers as (

    select * from {{ ref('int_customers_merged') }}

),

data_windows as (

    select * from {{ ref('int_data_windows_summarized') }}

),

accounts as (

    select * from {{ ref('stg_raw__accounts') }}

),

customer_history as (

    select * from {{ ref('customers_snapshot') }}

),

customer_month_bounds as (

    select
        customers.customer_id,
        customers.birth_date,
        customers.signup_date,
        {%- if definition == 'contractual' %}
        greatest(
            {{ month_start('coalesce(customers.first_opened_date, customers.signup_date)') }},
            data_windows.data_start_month
        ) as first_month,
        {%- else %}
        {{ month_start('customers.first_transaction_at') }} as first_month,
        {%- endif %}
        data_windows.data_end_month as last_month

    from customers
    cross join data_windows

),

spine_months as (

    select
        customer_id,
        birth_date,
        signup_date,
        {{ month_spine('first_month', 'last_month') }} as as_of_month

    from customer_month_bounds
    where first_month <= last_month

),

candidate_months as (

    -- the attribute version valid at the month's end: valid_from <= end < valid_to
    select
        spine_months.customer_id,
        customer_history.region,
        customer_history.customer_segment,
        spine_months.birth_date,
        spine_months.signup_date,
        spine_months.as_of_month

    from spine_months
    left join customer_history
        on spine_months.customer_id = customer_history.customer_id
        and customer_history.dbt_valid_from
        < {{ add_months_to('spine_months.as_of_month', 1) }}
        and (
            customer_history.dbt_valid_to is null
            or customer_history.dbt_valid_to >= {{ add_months_to('spine_months.as_of_month', 1) }}
        )

),

-- the accounts open at each month's end (their count and fees are features too)
accounts_at_month_end as (

    select
        candidate_months.customer_id,
        candidate_months.as_of_month,
        count(accounts.account_id) as open_account_count,
        coalesce(sum(accounts.monthly_fee), 0) as monthly_fee_total

    from candidate_months
    inner join accounts
        on candidate_months.customer_id = accounts.customer_id
        and {{ account_open_at_month_end('accounts', 'candidate_months.as_of_month') }}
    group by 1, 2

),

spined as (

    select
        candidate_months.*,
        accounts_at_month_end.open_account_count,
        accounts_at_month_end.monthly_fee_total

    from candidate_months
    left join accounts_at_month_end
        on candidate_months.customer_id = accounts_at_month_end.customer_id
        and candidate_months.as_of_month = accounts_at_month_end.as_of_month
    {%- if definition == 'contractual' %}
    -- contractual: only the months with an open account (Spark plans an inner join)
    where accounts_at_month_end.open_account_count is not null
    {%- endif %}

)

select * from spined
