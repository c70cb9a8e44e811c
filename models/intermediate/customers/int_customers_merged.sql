-- Customer master + account roll-up + activity span. A contract ends when every account is
-- closed (the last close date). Without an accounts feed there is no end event: whether a
-- customer has lapsed is a label per as_of_month (churn_labels), never a hindsight date here.
--
-- The transaction span (first and last posting) comes from the customers' monthly
-- transaction totals, a row per month with transactions, not from every transaction.
with

customers as (

    select * from {{ ref('stg_raw__customers') }}

),

accounts_rolled_up as (

    select * from {{ ref('int_accounts_rolled_up_to_customers') }}

),

transactions_monthly as (

    select * from {{ ref('int_customer_transactions_aggregated_to_months') }}

),

transaction_spans as (

    select
        customer_id,
        min(first_transaction_at) as first_transaction_at,
        max(last_transaction_at) as last_transaction_at

    from transactions_monthly
    group by customer_id

),

merged as (

    select
        customers.customer_id,
        customers.first_name,
        customers.email,
        customers.region,
        customers.customer_segment,
        accounts_rolled_up.products_held,
        coalesce(accounts_rolled_up.account_count, 0) as account_count,
        coalesce(accounts_rolled_up.open_account_count, 0) as open_account_count,
        coalesce(accounts_rolled_up.open_monthly_fee_total, 0) as open_monthly_fee_total,
        accounts_rolled_up.account_count is not null as has_accounts,
        customers.birth_date,
        customers.signup_date,
        accounts_rolled_up.first_opened_date,
        accounts_rolled_up.last_closed_date,
        transaction_spans.first_transaction_at,
        transaction_spans.last_transaction_at,
        customers.updated_at

    from customers
    left join accounts_rolled_up
        on customers.customer_id = accounts_rolled_up.customer_id
    left join transaction_spans
        on customers.customer_id = transaction_spans.customer_id

),

churn_reasons as (

    select
        *,
        case
            when has_accounts and open_account_count = 0 then 'accounts_closed'
        end as churn_reason

    from merged

),

final as (

    select
        customer_id,
        first_name,
        email,
        region,
        customer_segment,
        products_held,
        churn_reason,
        account_count,
        open_account_count,
        open_monthly_fee_total,
        has_accounts,
        birth_date,
        signup_date,
        first_opened_date,
        case churn_reason
            when 'accounts_closed' then last_closed_date
        end as churn_date,
        first_transaction_at,
        last_transaction_at,
        updated_at

    from churn_reasons

)

select * from final
