-- One row: the months the transaction history covers. The last month is the as-of month
-- scored; labels need churn_horizon_months after an as-of month to be complete.
with

transactions as (

    select * from {{ ref('stg_raw__transactions') }}

),

final as (

    select
        {{ month_start('min(posted_at)') }} as data_start_month,
        {{ month_start('max(posted_at)') }} as data_end_month

    from transactions

)

select * from final
