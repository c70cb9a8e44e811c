-- Leakage guard: a feature row for as_of_month M may use only information known by the end
-- of M. Every windowed feature (the list in macro windowed_features) is recomputed from the
-- monthly activity cut at M, i.e. with every later month deleted, and must come out the same.
-- A window that reaches even one month ahead differs on the cut data and fails here. Rows
-- also fail when they hold an event known after M or an indicator not yet published.
-- Cost grows with customers x months^2, so at most `leakage_test_max_customers` customers
-- (a deterministic hash sample) are recomputed.
--
-- The sample's share is taken from the merged customers, one row each, as in the
-- population's leakage test: the same customers are drawn in both. The activity's customers
-- are among them (its spine is built from them), so the sample holds at most as many.
-- Counting the distinct customers of the activity's customer-months instead, once for each
-- side of the sample, took 27-41% of this test at 1,000,000 customers: 23.2 s -> 16.9 s
-- warm, 39.2 s -> 23.0 s cold (README, Performance).
{%- set running_totals = windowed_feature_running_totals('customer_id, cut_month') %}
{%- set features = windowed_features('customer_id, cut_month') %}
{%- set max_customers = var('leakage_test_max_customers', 3000) %}
{%- set in_sample -%}
    pmod(xxhash64(customer_id), 10000)
        < 10000 * least(1.0, {{ max_customers }} / customer_count.customers)
{%- endset %}
with

features as (

    select * from {{ ref('customer_features_monthly') }}

),

activity as (

    select * from {{ ref('int_customer_activity_aggregated_to_months') }}

),

all_customers as (

    select * from {{ ref('int_customers_merged') }}

),

customer_count as (

    select count(*) as customers from all_customers

),

sampled_activity as (

    select activity.*
    from activity
    cross join customer_count
    where {{ in_sample }}

),

sampled_features as (

    -- the same customers' feature rows, filtered before the join (not after a shuffle of
    -- the whole feature table)
    select features.*
    from features
    cross join customer_count
    where {{ in_sample }}

),

cut_at_each_month as (

    -- one copy of each customer's history per as_of_month, holding only months <= it
    select
        activity_history.*,
        cut_months.as_of_month as cut_month

    from sampled_activity as activity_history
    inner join sampled_activity as cut_months
        on activity_history.customer_id = cut_months.customer_id
        and activity_history.as_of_month <= cut_months.as_of_month

),

cut_with_running_totals as (

    select
        cut_at_each_month.*,
        {{ running_total_columns(running_totals) }}

    from cut_at_each_month

),

recomputed as (

    select
        customer_id,
        cut_month,
        as_of_month,
        {%- for name, expression in features %}
        {{ expression }} as {{ name }},
        {%- endfor %}
        true as is_recomputed

    from cut_with_running_totals

),

recomputed_at_cut as (

    select * from recomputed
    where as_of_month = cut_month

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
            {%- for name, expression in features %}
            when not (features.{{ name }} <=> recomputed_at_cut.{{ name }})
                and not abs(features.{{ name }} - recomputed_at_cut.{{ name }})
                <= 1e-6 * (1 + abs(recomputed_at_cut.{{ name }}))
                then '{{ name }} differs when data after as_of_month is deleted'
            {%- endfor %}
        end as violation_reason

    from sampled_features as features
    inner join recomputed_at_cut
        on features.customer_id = recomputed_at_cut.customer_id
        and features.as_of_month = recomputed_at_cut.as_of_month

)

select * from violations
where violation_reason is not null
