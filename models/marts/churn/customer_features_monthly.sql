-- Point-in-time features: one row per customer and as_of_month, computed only from rows at
-- or before as_of_month (trailing windows), and economic indicators as published by then.
{%- set activity_series = ['transaction_count', 'transaction_amount'] %}
with

activity as (

    select * from {{ ref('int_customer_activity_aggregated_to_months') }}

),

economic_indicators as (

    select * from {{ ref('stg_raw__economic_indicators') }}

),

windowed as (

    select
        customer_id,
        region,
        as_of_month,
        transaction_count,
        transaction_amount,
        channel_count,
        support_contact_count,
        complaint_count,
        satisfaction_score_mean,
        offer_count,
        offer_accepted_count,
        open_account_count,
        monthly_fee_total,
        latest_event_at,
        {%- for series in activity_series %}
        {%- for lag in [1, 3, 6] %}
        lag({{ series }}, {{ lag }}) over (
            partition by customer_id order by as_of_month
        ) as {{ series }}_lag_{{ lag }},
        {%- endfor %}
        {%- for months in [3, 6, 12] %}
        avg({{ series }}) over ({{ trailing_window(months) }}) as {{ series }}_rolling_{{ months }}m_mean,
        stddev_samp({{ series }}) over ({{ trailing_window(months) }}) as {{ series }}_rolling_{{ months }}m_stddev,
        min({{ series }}) over ({{ trailing_window(months) }}) as {{ series }}_rolling_{{ months }}m_min,
        max({{ series }}) over ({{ trailing_window(months) }}) as {{ series }}_rolling_{{ months }}m_max,
        {%- endfor %}
        {{ rolling_slope(series, 6) }} as {{ series }}_trend_6m,
        {{ rolling_slope(series, 12) }} as {{ series }}_trend_12m,
        {%- endfor %}
        {{ rolling_fourier_amplitude('transaction_count', 1, 12, 12) }}
            as transaction_count_fourier_k1_amplitude_12m,
        {{ rolling_fourier_amplitude('transaction_count', 2, 12, 12) }}
            as transaction_count_fourier_k2_amplitude_12m,
        sum(complaint_count) over ({{ trailing_window(3) }}) as complaint_count_rolling_3m_sum,
        sum(complaint_count) over ({{ trailing_window(6) }}) as complaint_count_rolling_6m_sum,
        sum(support_contact_count) over ({{ trailing_window(3) }})
            as support_contact_count_rolling_3m_sum,
        avg(satisfaction_score_mean) over ({{ trailing_window(6) }})
            as satisfaction_score_rolling_6m_mean,
        sum(offer_accepted_count) over ({{ trailing_window(3) }})
            as offer_accepted_count_rolling_3m_sum,
        count(*) over ({{ trailing_window(12) }}) as months_observed_12m,
        months_between(as_of_month, {{ month_start('signup_date') }}) as tenure_months,
        floor(months_between({{ month_end('as_of_month') }}, birth_date) / 12) as age_years

    from activity

),

indicators_known_at_month_end as (

    -- indicators for month M are published during M + lag: use the newest one published
    select
        region,
        {{ add_months_to('indicator_month', var('indicator_publication_lag_months')) }}
            as as_of_month,
        indicator_month,
        unemployment_rate,
        unemployment_rate - lag(unemployment_rate, 3) over (
            partition by region order by indicator_month
        ) as unemployment_rate_change_3m,
        consumer_confidence,
        policy_interest_rate

    from economic_indicators

),

final as (

    select
        windowed.customer_id,
        windowed.region,
        windowed.transaction_count,
        windowed.transaction_amount,
        windowed.channel_count,
        windowed.support_contact_count,
        windowed.complaint_count,
        windowed.satisfaction_score_mean,
        windowed.offer_count,
        windowed.offer_accepted_count,
        windowed.open_account_count,
        windowed.monthly_fee_total,
        {%- for series in activity_series %}
        {%- for lag in [1, 3, 6] %}
        windowed.{{ series }}_lag_{{ lag }},
        {%- endfor %}
        {%- for months in [3, 6, 12] %}
        {%- for stat in ['mean', 'stddev', 'min', 'max'] %}
        windowed.{{ series }}_rolling_{{ months }}m_{{ stat }},
        {%- endfor %}
        {%- endfor %}
        windowed.{{ series }}_trend_6m,
        windowed.{{ series }}_trend_12m,
        {%- endfor %}
        windowed.transaction_count_fourier_k1_amplitude_12m,
        windowed.transaction_count_fourier_k2_amplitude_12m,
        sin(2 * pi() * month(windowed.as_of_month) / 12) as month_of_year_sin,
        cos(2 * pi() * month(windowed.as_of_month) / 12) as month_of_year_cos,
        windowed.complaint_count_rolling_3m_sum,
        windowed.complaint_count_rolling_6m_sum,
        windowed.support_contact_count_rolling_3m_sum,
        windowed.satisfaction_score_rolling_6m_mean,
        windowed.offer_accepted_count_rolling_3m_sum,
        windowed.months_observed_12m,
        cast(windowed.tenure_months as int) as tenure_months,
        cast(windowed.age_years as int) as age_years,
        indicators_known_at_month_end.unemployment_rate,
        indicators_known_at_month_end.unemployment_rate_change_3m,
        indicators_known_at_month_end.consumer_confidence,
        indicators_known_at_month_end.policy_interest_rate,
        windowed.as_of_month,
        indicators_known_at_month_end.indicator_month,
        windowed.latest_event_at

    from windowed
    left join indicators_known_at_month_end
        on windowed.region = indicators_known_at_month_end.region
        and windowed.as_of_month = indicators_known_at_month_end.as_of_month

)

select * from final
