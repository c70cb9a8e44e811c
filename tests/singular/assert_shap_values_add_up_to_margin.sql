-- Exact TreeSHAP: for every scored customer, base value + attributions = the model margin.
with

shap_values as (

    select * from {{ ref('churn_shap_values') }}

),

scores as (

    select * from {{ ref('churn_scores') }}

),

summed as (

    select
        customer_id,
        sum(shap_value) + max(base_value) as explained_margin

    from shap_values
    group by customer_id

)

select
    scores.customer_id,
    scores.churn_score_margin,
    summed.explained_margin
from scores
left join summed
    on scores.customer_id = summed.customer_id
where summed.explained_margin is null
    or abs(summed.explained_margin - scores.churn_score_margin) > 1e-3
