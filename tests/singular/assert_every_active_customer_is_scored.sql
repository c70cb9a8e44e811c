-- Every customer in the population at the latest as_of_month has exactly one score, and
-- nobody else has one.
with

spine as (

    select * from {{ ref('int_customer_months_spined') }}

),

scores as (

    select * from {{ ref('churn_scores') }}

),

latest_month as (

    select max(as_of_month) as as_of_month from spine

),

latest_population as (

    select spine.customer_id
    from spine
    inner join latest_month
        on spine.as_of_month = latest_month.as_of_month

)

select
    coalesce(latest_population.customer_id, scores.customer_id) as customer_id,
    case when scores.customer_id is null then 'not scored' else 'scored but not in population' end
        as problem
from latest_population
full outer join scores
    on latest_population.customer_id = scores.customer_id
where latest_population.customer_id is null or scores.customer_id is null
