-- Every customer active at the latest as_of_month has exactly one score, and nobody else.
with

features as (

    select * from {{ ref('customer_features_monthly') }}

),

scores as (

    select * from {{ ref('churn_scores') }}

),

latest_active as (

    select customer_id
    from features
    where as_of_month = (select max(as_of_month) from features)

)

select
    coalesce(latest_active.customer_id, scores.customer_id) as customer_id,
    case when scores.customer_id is null then 'not scored' else 'scored but not active' end
        as problem
from latest_active
full outer join scores
    on latest_active.customer_id = scores.customer_id
where latest_active.customer_id is null or scores.customer_id is null
