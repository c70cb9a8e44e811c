with

accounts as (

    select * from {{ ref('stg_raw__accounts') }}

),

rolled_up as (

    select
        customer_id,
        concat_ws(',', sort_array(collect_set(product))) as products_held,
        count(*) as account_count,
        count_if(closed_date is null) as open_account_count,
        sum(case when closed_date is null then monthly_fee else 0 end) as open_monthly_fee_total,
        min(opened_date) as first_opened_date,
        max(closed_date) as last_closed_date

    from accounts
    group by customer_id

)

select * from rolled_up
