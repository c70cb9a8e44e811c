-- Label leakage guard: a feature row for as_of_month may use only information known by the
-- end of that month. Fails on any row that
--   * contains an event known after the month's end,
--   * uses an economic indicator not yet published by then, or
--   * has trailing statistics that differ from a recomputation over months <= as_of_month
--     (which catches windows that reach forward or a spine that is out of order).
with

features as (

    select * from {{ ref('customer_features_monthly') }}

),

activity as (

    select * from {{ ref('int_customer_activity_aggregated_to_months') }}

),

recomputed as (

    select
        features.customer_id,
        features.as_of_month,
        max(activity.transaction_count) as transaction_count_rolling_3m_max,
        sum(case
            when activity.as_of_month = {{ add_months_to('features.as_of_month', -1) }}
                then activity.transaction_count
        end) as transaction_count_lag_1

    from features
    inner join activity
        on features.customer_id = activity.customer_id
        and activity.as_of_month <= features.as_of_month
        and activity.as_of_month > {{ add_months_to('features.as_of_month', -3) }}
    group by 1, 2

),

violations as (

    select
        features.customer_id,
        features.as_of_month,
        case
            when features.latest_event_at >= {{ add_months_to('features.as_of_month', 1) }}
                then 'event known after as_of_month'
            when features.indicator_month > {{
                add_months_to('features.as_of_month', -var('indicator_publication_lag_months'))
            }}
                then 'economic indicator not yet published at as_of_month'
            when features.transaction_count_rolling_3m_max
                != recomputed.transaction_count_rolling_3m_max
                then 'rolling window uses months after as_of_month'
            when coalesce(features.transaction_count_lag_1, -1)
                != coalesce(recomputed.transaction_count_lag_1, -1)
                then 'lag does not come from the previous month'
        end as violation

    from features
    inner join recomputed
        on features.customer_id = recomputed.customer_id
        and features.as_of_month = recomputed.as_of_month

)

select * from violations
where violation is not null
