-- Exact TreeSHAP: for every scored customer, base value + attributions = the model margin,
-- and the arrays of churn_shap_vectors are aligned (one element per feature name).
with

shap_vectors as (

    select * from {{ ref('churn_shap_vectors') }}

),

scores as (

    select * from {{ ref('churn_scores') }}

),

summed as (

    select
        customer_id,
        base_value + aggregate(shap_values, cast(0 as double), (total, x) -> total + x)
            as explained_margin,
        size(feature_names) = size(shap_values)
        and size(feature_values) = size(shap_values)
        and size(driver_order) = size(shap_values) as is_aligned

    from shap_vectors

)

select
    scores.customer_id,
    scores.churn_score_margin,
    summed.explained_margin,
    summed.is_aligned
from scores
left join summed
    on scores.customer_id = summed.customer_id
where summed.explained_margin is null
    or not summed.is_aligned
    or abs(summed.explained_margin - scores.churn_score_margin) > 1e-3
