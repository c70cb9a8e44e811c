with

customers_merged as (

    select * from {{ ref('int_customers_merged') }}

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
        cast(account_count as bigint) as account_count,
        cast(open_account_count as bigint) as open_account_count,
        cast(open_monthly_fee_total as double) as open_monthly_fee_total,
        churn_date is not null as is_churned,
        has_accounts,
        birth_date,
        signup_date,
        churn_date,
        first_transaction_at,
        last_transaction_at,
        updated_at

    from customers_merged

)

select * from final
