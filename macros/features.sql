{#- The windowed point-in-time features, defined once.

    `windowed_features(partition_by)` returns [name, sql expression] pairs over the monthly
    activity of int_customer_activity_aggregated_to_months, after the running totals of
    `windowed_feature_running_totals(partition_by)` have been added as columns (two selects:
    a window over a window is not SQL). customer_features_monthly builds them partitioned by
    customer_id; the leakage test builds the very same lists partitioned by
    (customer_id, cut_month) over activity cut at each as_of_month, and compares. A new
    feature added here is therefore leakage-tested without further work.

    Trailing sums, means, standard deviations, trends and Fourier terms are differences of
    running totals (the total to date minus the total `months` rows earlier): Spark
    re-aggregates a sliding frame for every row, which took 80% of this model's time, while a
    running total costs one addition per row. Minimum and maximum cannot be differenced and
    keep their sliding frames. -#}
{% macro windowed_feature_running_totals(partition_by='customer_id') -%}
    {{ return(_windowed_feature_plan(partition_by)['running_totals']) }}
{%- endmacro %}

{% macro windowed_features(partition_by='customer_id') -%}
    {{ return(_windowed_feature_plan(partition_by)['features']) }}
{%- endmacro %}

{#- The sum over the current and the previous `months` - 1 rows of a running total `name`
    (defined by `expression`, added to `totals` once however often it is used). -#}
{% macro _trailing_total(totals, partition_by, name, expression, months) -%}
    {%- do totals.update({
        name: expression ~ ' over (' ~ cumulative_window(partition_by) ~ ')'
    }) -%}
    ({{ name }} - coalesce(lag({{ name }}, {{ months }}) over (partition by {{ partition_by
    }} order by as_of_month), 0))
{%- endmacro %}

{#- A trailing count of a series' known values, and a trailing sum of it (nulls as 0). -#}
{% macro _trailing_count(totals, partition_by, series, months) -%}
    {{ return(_trailing_total(
        totals, partition_by, 'rt_' ~ series ~ '_count', 'count(' ~ series ~ ')', months)) }}
{%- endmacro %}

{% macro _trailing_sum(totals, partition_by, series, months) -%}
    {{ return(_trailing_total(
        totals, partition_by, 'rt_' ~ series ~ '_sum', 'sum(coalesce(' ~ series ~ ', 0))',
        months)) }}
{%- endmacro %}

{#- The running totals as select columns, `expression as name`, comma-separated. -#}
{% macro running_total_columns(running_totals) -%}
    {%- for name, expression in running_totals %}
    {{ expression }} as {{ name }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{% macro _windowed_feature_plan(partition_by) -%}
    {%- set features = [] -%}
    {%- set totals = {} -%}
    {%- set cumulative = cumulative_window(partition_by) -%}
    {%- set t = month_number('as_of_month') -%}
    {%- for series in ['transaction_count', 'transaction_amount'] -%}
        {%- for lag in [1, 3, 6] -%}
            {%- do features.append([
                series ~ '_lag_' ~ lag,
                'lag(' ~ series ~ ', ' ~ lag ~ ') over (partition by ' ~ partition_by
                    ~ ' order by as_of_month)'
            ]) -%}
        {%- endfor -%}
        {%- for months in [3, 6, 12] -%}
            {%- set n = _trailing_count(totals, partition_by, series, months) -%}
            {%- set s = _trailing_sum(totals, partition_by, series, months) -%}
            {%- set s2 = _trailing_total(totals, partition_by,
                'rt_' ~ series ~ '_sum_of_squares',
                'sum(coalesce(' ~ series ~ ' * ' ~ series ~ ', 0))', months) -%}
            {%- set w = trailing_window(months, partition_by) -%}
            {%- set prefix = series ~ '_rolling_' ~ months ~ 'm_' -%}
            {%- do features.append([prefix ~ 'mean', s ~ ' / nullif(' ~ n ~ ', 0)']) -%}
            {#- the sample standard deviation; rounding can leave a tiny negative variance -#}
            {%- do features.append([
                prefix ~ 'stddev',
                'case when ' ~ n ~ ' > 1 then sqrt(greatest((' ~ s2 ~ ' - pow(' ~ s ~ ', 2) / '
                    ~ n ~ ') / (' ~ n ~ ' - 1), 0)) end'
            ]) -%}
            {%- do features.append([prefix ~ 'min', 'min(' ~ series ~ ') over (' ~ w ~ ')']) -%}
            {%- do features.append([prefix ~ 'max', 'max(' ~ series ~ ') over (' ~ w ~ ')']) -%}
        {%- endfor -%}
        {#- least-squares slope of the series on the month number (trend per month) -#}
        {%- for months in [6, 12] -%}
            {%- set n = _trailing_count(totals, partition_by, series, months) -%}
            {%- set sy = _trailing_sum(totals, partition_by, series, months) -%}
            {%- set sxy = _trailing_total(totals, partition_by, 'rt_month_times_' ~ series,
                'sum(coalesce(' ~ t ~ ' * ' ~ series ~ ', 0))', months) -%}
            {%- set sx = _trailing_total(
                totals, partition_by, 'rt_month', 'sum(' ~ t ~ ')', months) -%}
            {%- set sxx = _trailing_total(totals, partition_by,
                'rt_month_squared', 'sum(' ~ t ~ ' * ' ~ t ~ ')', months) -%}
            {%- do features.append([
                series ~ '_trend_' ~ months ~ 'm',
                '(' ~ n ~ ' * ' ~ sxy ~ ' - ' ~ sx ~ ' * ' ~ sy ~ ') / nullif(' ~ n ~ ' * ' ~ sxx
                    ~ ' - pow(' ~ sx ~ ', 2), 0)'
            ]) -%}
        {%- endfor -%}
    {%- endfor -%}
    {#- amplitude of the k-th harmonic (period 12) over 12 months, normalised by the months
        observed: phase-free, so a strongly seasonal customer has a large k=1 amplitude -#}
    {%- for k in [1, 2] -%}
        {%- set angle = '2 * pi() * ' ~ k ~ ' * ' ~ t ~ ' / 12' -%}
        {%- set n = _trailing_count(totals, partition_by, 'transaction_count', 12) -%}
        {%- set c = _trailing_total(totals, partition_by,
            'rt_transaction_count_cos_' ~ k,
            'sum(coalesce(transaction_count * cos(' ~ angle ~ '), 0))', 12) -%}
        {%- set sn = _trailing_total(totals, partition_by,
            'rt_transaction_count_sin_' ~ k,
            'sum(coalesce(transaction_count * sin(' ~ angle ~ '), 0))', 12) -%}
        {%- do features.append([
            'transaction_count_fourier_k' ~ k ~ '_amplitude_12m',
            '2 * sqrt(pow(' ~ c ~ ', 2) + pow(' ~ sn ~ ', 2)) / nullif(' ~ n ~ ', 0)'
        ]) -%}
    {%- endfor -%}
    {%- for name, series, stat, months in [
        ['complaint_count_rolling_3m_sum', 'complaint_count', 'sum', 3],
        ['complaint_count_rolling_6m_sum', 'complaint_count', 'sum', 6],
        ['support_contact_count_rolling_3m_sum', 'support_contact_count', 'sum', 3],
        ['satisfaction_score_rolling_6m_mean', 'satisfaction_score_mean', 'mean', 6],
        ['offer_accepted_count_rolling_3m_sum', 'offer_accepted_count', 'sum', 3],
    ] -%}
        {%- set n = _trailing_count(totals, partition_by, series, months) -%}
        {%- set s = _trailing_sum(totals, partition_by, series, months) -%}
        {%- if stat == 'sum' -%}
            {#- a sum over months with no value is null, as SQL's sum is -#}
            {%- do features.append([name, 'case when ' ~ n ~ ' > 0 then ' ~ s ~ ' end']) -%}
        {%- else -%}
            {%- do features.append([name, s ~ ' / nullif(' ~ n ~ ', 0)']) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do features.append([
        'months_observed_12m',
        _trailing_total(totals, partition_by, 'rt_month_rows', 'count(*)', 12)
    ]) -%}
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
    {{ return({'running_totals': totals.items() | list, 'features': features}) }}
{%- endmacro %}
