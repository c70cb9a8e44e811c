-- The label for each customer active at the end of as_of_month: did the customer churn in the
-- next churn_horizon_months? Null (not yet known) when the horizon runs past the data.
{%- set horizon = var('churn_horizon_months') %}
with

spine as (

    select * from {{ ref('int_customer_months_spined') }}

),

data_windows as (

    select * from {{ ref('int_data_windows_summarized') }}

),

final as (

    select
        spine.customer_id,
        cast({{ horizon }} as int) as horizon_months,
        {{ add_months_to('spine.as_of_month', horizon) }} <= data_windows.data_end_month
            as is_label_known,
        case
            when {{ add_months_to('spine.as_of_month', horizon) }} <= data_windows.data_end_month
                then coalesce(
                    spine.churn_date <= {{ month_end(add_months_to('spine.as_of_month', horizon)) }},
                    false
                )
        end as is_churned_within_horizon,
        spine.as_of_month,
        spine.churn_date

    from spine
    cross join data_windows

)

select * from final
