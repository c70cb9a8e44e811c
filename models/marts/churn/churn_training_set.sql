-- Labelled feature rows for training, split out of time with a gap:
--   * validation: the latest `validation_months` labelled as_of_months;
--   * gap: the churn_horizon_months - 1 months before them, whose labels would read into the
--     validation period; used only to refit the final model, never to select it;
--   * train: everything earlier. The last train month + H <= the first validation month, so
--     no training label reads the validation period (tests/singular enforces it).
{%- set horizon = var('churn_horizon_months') %}
{%- set validation_months = var('validation_months') %}
with

features as (

    select * from {{ ref('customer_features_monthly') }}

),

labels as (

    select * from {{ ref('churn_labels') }}

),

split_months as (

    select
        {{ add_months_to('max(as_of_month)', 1 - validation_months) }}
            as first_validation_month,
        {{ add_months_to('max(as_of_month)', 1 - validation_months - horizon) }}
            as last_train_month

    from labels
    where is_label_known

),

final as (

    select
        features.*,
        labels.is_churned_within_horizon,
        case
            when features.as_of_month >= split_months.first_validation_month then 'validation'
            when features.as_of_month <= split_months.last_train_month then 'train'
            else 'gap'
        end as dataset_split

    from features
    inner join labels
        on features.customer_id = labels.customer_id
        and features.as_of_month = labels.as_of_month
    cross join split_months
    where labels.is_label_known

)

-- every feature column of customer_features_monthly travels with its label
select * from final  -- noqa: AM04
