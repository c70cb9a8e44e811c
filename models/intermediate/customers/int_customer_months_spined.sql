-- One row per customer and month in which the customer was active at the month's end:
-- from sign-up (or the start of the data) to the month before churn (or the end of data).
with

customers as (

    select * from {{ ref('int_customers_merged') }}

),

data_windows as (

    select * from {{ ref('int_data_windows_summarized') }}

),

customer_month_bounds as (

    select
        customers.customer_id,
        customers.region,
        customers.birth_date,
        customers.signup_date,
        customers.churn_date,
        greatest(
            {{ month_start('customers.signup_date') }}, data_windows.data_start_month
        ) as first_month,
        least(
            data_windows.data_end_month,
            coalesce(
                {{ add_months_to(month_start('customers.churn_date'), -1) }},
                data_windows.data_end_month
            )
        ) as last_month

    from customers
    cross join data_windows

),

spined as (

    select
        customer_id,
        region,
        birth_date,
        signup_date,
        churn_date,
        {{ month_spine('first_month', 'last_month') }} as as_of_month

    from customer_month_bounds
    where first_month <= last_month

)

select * from spined
