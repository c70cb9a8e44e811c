-- The serving mart: one row per scored customer with score, band, segment and top drivers.
-- The API and the dashboard read a published copy of this table.
with

scores as (

    select * from {{ ref('churn_scores') }}

),

customers as (

    select * from {{ ref('customers') }}

),

segments as (

    select * from {{ ref('churn_segments') }}

),

segment_profiles as (

    select * from {{ ref('churn_segment_profiles') }}

),

top_drivers as (

    select * from {{ ref('churn_top_drivers') }}

),

scored_segments as (

    select * from segments
    where population = 'scored'

),

drivers_pivoted as (

    select
        customer_id,
        {%- for rank in [1, 2, 3] %}
        max(case when driver_rank = {{ rank }} then feature_name end)
            as top_driver_{{ rank }}_feature,
        max(case when driver_rank = {{ rank }} then feature_description end)
            as top_driver_{{ rank }}_description,
        max(case when driver_rank = {{ rank }} then shap_value end)
            as top_driver_{{ rank }}_shap_value{{ ',' if not loop.last }}
        {%- endfor %}

    from top_drivers
    group by customer_id

),

final as (

    select
        scores.customer_id,
        scores.model_version,
        customers.region,
        customers.customer_segment,
        scores.risk_band,
        segment_profiles.segment_name,
        {%- for rank in [1, 2, 3] %}
        drivers_pivoted.top_driver_{{ rank }}_feature,
        drivers_pivoted.top_driver_{{ rank }}_description,
        {%- endfor %}
        scores.churn_probability,
        scores.score_percentile,
        scored_segments.segment_id,
        {%- for rank in [1, 2, 3] %}
        drivers_pivoted.top_driver_{{ rank }}_shap_value,
        {%- endfor %}
        scored_segments.embedding_x,
        scored_segments.embedding_y,
        scores.as_of_month,
        scores.scored_at

    from scores
    left join customers
        on scores.customer_id = customers.customer_id
    left join scored_segments
        on scores.customer_id = scored_segments.customer_id
    left join segment_profiles
        on scored_segments.segment_id = segment_profiles.segment_id
    left join drivers_pivoted
        on scores.customer_id = drivers_pivoted.customer_id

)

select * from final
