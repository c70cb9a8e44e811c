-- One row: the months the transaction history covers. The last month is the as-of month
-- scored; labels need churn_horizon_months after an as-of month to be complete.
with

transactions_monthly as (

    select * from {{ ref('int_customer_transactions_aggregated_to_months') }}

),

final as (

    select
        min(activity_month) as data_start_month,
        max(activity_month) as data_end_month

    from transactions_monthly

)

select * from final
