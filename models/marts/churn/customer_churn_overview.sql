-- The serving mart: one row per scored customer with score, band, segment and top drivers.
-- The API and the dashboard read a published copy of this table. `top_drivers` holds the
-- var top_drivers_per_customer strongest drivers (churn_top_drivers), strongest first, so
-- the contract does not change with the setting; the strongest one is also a flat column.
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

drivers_collected as (

    select
        customer_id,
        max(case when driver_rank = 1 then feature_name end) as top_driver_feature,
        max(case when driver_rank = 1 then feature_description end)
            as top_driver_description,
        max(case when driver_rank = 1 then shap_value end) as top_driver_shap_value,
        sort_array(
            collect_list(
                struct(
                    driver_rank,
                    feature_name,
                    feature_description,
                    feature_value,
                    shap_value
                )
            )
        ) as top_drivers

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
        drivers_collected.top_driver_feature,
        drivers_collected.top_driver_description,
        scores.churn_probability,
        scores.score_percentile,
        scored_segments.segment_id,
        drivers_collected.top_driver_shap_value,
        scored_segments.embedding_x,
        scored_segments.embedding_y,
        drivers_collected.top_drivers,
        scores.as_of_month,
        scores.scored_at

    from scores
    left join customers
        on scores.customer_id = customers.customer_id
    left join scored_segments
        on scores.customer_id = scored_segments.customer_id
    left join segment_profiles
        on scored_segments.segment_id = segment_profiles.segment_id
    left join drivers_collected
        on scores.customer_id = drivers_collected.customer_id

)

select * from final
