-- Each scored customer's strongest churn drivers: the features whose SHAP values push the
-- score up the most, with a readable description.
with

shap_values as (

    select * from {{ ref('churn_shap_values') }}

),

feature_dictionary as (

    select * from {{ ref('feature_dictionary') }}

),

ranked as (

    select
        customer_id,
        model_version,
        feature_name,
        feature_value,
        shap_value,
        as_of_month,
        row_number() over (
            partition by customer_id order by shap_value desc, feature_name asc
        ) as driver_rank

    from shap_values

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
    where ranked.driver_rank <= {{ var('top_drivers_per_customer') }}

)

select * from final
