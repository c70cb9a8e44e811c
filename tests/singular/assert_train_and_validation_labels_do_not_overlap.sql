-- No training label may read the validation period: the first validation as_of_month is at
-- least churn_horizon_months after the last training as_of_month, whatever the settings.
with

training_set as (

    select * from {{ ref('churn_training_set') }}

),

split_bounds as (

    select
        max(case when dataset_split = 'train' then as_of_month end) as last_train_month,
        min(case when dataset_split = 'validation' then as_of_month end)
            as first_validation_month

    from training_set

)

select *
from split_bounds
where last_train_month is not null
    and first_validation_month is not null
    and months_between(first_validation_month, last_train_month)
    < {{ var('churn_horizon_months') }}
