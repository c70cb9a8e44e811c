-- Exact TreeSHAP attribution per scored customer and feature (long format): the arrays of
-- churn_shap_vectors, one row per element. A view: the SHAP values are computed and stored
-- once, in churn_shap_vectors.
{{ config(materialized='view') }}

with

shap_vectors as (

    select * from {{ ref('churn_shap_vectors') }}

),

final as (

    select
        shap_vectors.customer_id,
        shap_vectors.model_version,
        attribution.feature_name,
        attribution.feature_value,
        attribution.shap_value,
        shap_vectors.base_value,
        shap_vectors.as_of_month

    from shap_vectors
        lateral view inline(
            arrays_zip(
                shap_vectors.feature_names,
                shap_vectors.feature_values,
                shap_vectors.shap_values
            )
        ) attribution as feature_name, feature_value, shap_value

)

select * from final
