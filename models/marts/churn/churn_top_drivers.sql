-- Each scored customer's strongest churn drivers: the features whose SHAP values push the
-- score up the most, with a readable description. churn_shap_vectors ranks each customer's
-- features as it computes them (driver_order: largest SHAP value first, ties by feature
-- name), so no sort is needed here.
with

shap_vectors as (

    select * from {{ ref('churn_shap_vectors') }}

),

feature_dictionary as (

    select * from {{ ref('feature_dictionary') }}

),

ranked as (

    select
        shap_vectors.customer_id,
        shap_vectors.model_version,
        shap_vectors.as_of_month,
        driver.rank_index + 1 as driver_rank,
        -- driver_order holds array positions from 0; element_at counts from 1
        element_at(shap_vectors.feature_names, driver.position + 1) as feature_name,
        element_at(shap_vectors.feature_values, driver.position + 1) as feature_value,
        element_at(shap_vectors.shap_values, driver.position + 1) as shap_value

    from shap_vectors
        lateral view posexplode(
            slice(shap_vectors.driver_order, 1, {{ var('top_drivers_per_customer') }})
        ) driver as rank_index, position

),

final as (

    select
        ranked.customer_id,
        ranked.model_version,
        ranked.feature_name,
        coalesce(feature_dictionary.feature_description, ranked.feature_name)
            as feature_description,
        feature_dictionary.feature_group,
        cast(ranked.driver_rank as int) as driver_rank,
        ranked.feature_value,
        ranked.shap_value,
        ranked.as_of_month

    from ranked
    left join feature_dictionary
        on ranked.feature_name = feature_dictionary.feature_name

)

select * from final
