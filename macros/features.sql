{#- The windowed point-in-time features, defined once.

    `windowed_features(partition_by)` returns [name, sql expression] pairs over the monthly
    activity of int_customer_activity_aggregated_to_months. customer_features_monthly builds
    them partitioned by customer_id; the leakage test builds the very same list partitioned
    by (customer_id, cut_month) over activity cut at each as_of_month, and compares. A new
    feature added here is therefore leakage-tested without further work. -#}
{% macro windowed_features(partition_by='customer_id') -%}
    {%- set features = [] -%}
    {%- set cumulative = cumulative_window(partition_by) -%}
    {%- for series in ['transaction_count', 'transaction_amount'] -%}
        {%- for lag in [1, 3, 6] -%}
            {%- do features.append([
                series ~ '_lag_' ~ lag,
                'lag(' ~ series ~ ', ' ~ lag ~ ') over (partition by ' ~ partition_by
                    ~ ' order by as_of_month)'
            ]) -%}
        {%- endfor -%}
        {%- for months in [3, 6, 12] -%}
            {%- set w = trailing_window(months, partition_by) -%}
            {%- for stat, fn in [['mean', 'avg'], ['stddev', 'stddev_samp'], ['min', 'min'],
                                  ['max', 'max']] -%}
                {%- do features.append([
                    series ~ '_rolling_' ~ months ~ 'm_' ~ stat,
                    fn ~ '(' ~ series ~ ') over (' ~ w ~ ')'
                ]) -%}
            {%- endfor -%}
        {%- endfor -%}
        {%- for months in [6, 12] -%}
            {%- do features.append([
                series ~ '_trend_' ~ months ~ 'm', rolling_slope(series, months, partition_by)
            ]) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- for k in [1, 2] -%}
        {%- do features.append([
            'transaction_count_fourier_k' ~ k ~ '_amplitude_12m',
            rolling_fourier_amplitude('transaction_count', k, 12, 12, partition_by)
        ]) -%}
    {%- endfor -%}
    {%- for name, series, fn, months in [
        ['complaint_count_rolling_3m_sum', 'complaint_count', 'sum', 3],
        ['complaint_count_rolling_6m_sum', 'complaint_count', 'sum', 6],
        ['support_contact_count_rolling_3m_sum', 'support_contact_count', 'sum', 3],
        ['satisfaction_score_rolling_6m_mean', 'satisfaction_score_mean', 'avg', 6],
        ['offer_accepted_count_rolling_3m_sum', 'offer_accepted_count', 'sum', 3],
        ['months_observed_12m', '*', 'count', 12],
    ] -%}
        {%- do features.append([
            name, fn ~ '(' ~ series ~ ') over (' ~ trailing_window(months, partition_by) ~ ')'
        ]) -%}
    {%- endfor -%}
    {#- Recency, frequency, monetary value and purchase rhythm, to date (the classic signal). -#}
    {%- set month_end_date = month_end('as_of_month') -%}
    {%- set last_at = 'cast(max(last_transaction_at) over (' ~ cumulative ~ ') as date)' -%}
    {%- set first_at = 'cast(min(first_transaction_at) over (' ~ cumulative ~ ') as date)' -%}
    {%- set days = 'sum(purchase_day_count) over (' ~ cumulative ~ ')' -%}
    {%- set gap = 'datediff(' ~ last_at ~ ', ' ~ first_at ~ ') / nullif(' ~ days ~ ' - 1, 0)' -%}
    {%- set recency = 'datediff(' ~ month_end_date ~ ', ' ~ last_at ~ ')' -%}
    {%- do features.append(['days_since_last_transaction', recency]) -%}
    {%- do features.append([
        'days_since_first_transaction', 'datediff(' ~ month_end_date ~ ', ' ~ first_at ~ ')'
    ]) -%}
    {%- do features.append([
        'transaction_count_to_date', 'sum(transaction_count) over (' ~ cumulative ~ ')'
    ]) -%}
    {%- do features.append(['purchase_day_count_to_date', days]) -%}
    {%- do features.append([
        'transaction_amount_to_date', 'sum(transaction_amount) over (' ~ cumulative ~ ')'
    ]) -%}
    {%- do features.append([
        'transaction_amount_mean_to_date',
        'sum(transaction_amount) over (' ~ cumulative ~ ') / nullif(sum(transaction_count) over ('
            ~ cumulative ~ '), 0)'
    ]) -%}
    {%- do features.append(['purchase_gap_mean_days', gap]) -%}
    {%- do features.append([
        'purchase_gap_current_ratio', recency ~ ' / nullif(' ~ gap ~ ', 0)'
    ]) -%}
    {{ return(features) }}
{%- endmacro %}
