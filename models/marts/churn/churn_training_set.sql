-- The labelled feature rows the model is trained and validated on, split out of time with a
-- gap:
--   * validation: the latest `validation_months` labelled as_of_months;
--   * gap: the churn_horizon_months - 1 months before them, whose labels would read into the
--     validation period; used only to refit the final model, never to select it;
--   * train: everything earlier. The last train month + H <= the first validation month, so
--     no training label reads the validation period (tests/singular enforces it).
-- The split is decided on every labelled row; the table then keeps at most about
-- `max_training_rows` of them: all when there are no more, otherwise a seeded hash of
-- (customer_id, as_of_month) below the fraction, the same rows whatever the partitioning.
-- churn_model_registry trains on exactly these rows. Writing every labelled row, to sample
-- it afterwards, took 109 s at 1,000,000 customers (README, Performance).
-- Written without Parquet dictionaries: nearly every one of its numeric columns has too many
-- distinct values for one, so the writer builds each dictionary only to abandon it.
{{ config(options={'parquet.enable.dictionary': 'false'}) }}
{%- set horizon = var('churn_horizon_months') %}
{%- set validation_months = var('validation_months') %}
{#- the same var and default as churn_model_registry's config (dbt_project.yml) #}
{%- set max_rows = var('max_training_rows', 200000) | int %}
{%- set seed = var('training_sample_seed', 42) | int %}
with

features as (

    select * from {{ ref('customer_features_monthly') }}

),

labels as (

    select * from {{ ref('churn_labels') }}

),

labelled as (

    select
        customer_id,
        as_of_month,
        is_churned_within_horizon

    from labels
    where is_label_known

),

split_months as (

    select
        {{ add_months_to('max(as_of_month)', 1 - validation_months) }}
            as first_validation_month,
        {{ add_months_to('max(as_of_month)', 1 - validation_months - horizon) }}
            as last_train_month,
        -- a row is kept when its hash bucket (of a million) is below this
        cast(least(1.0, {{ max_rows }} / greatest(count(*), 1)) as double) as sample_fraction

    from labelled

),

sampled_features as (

    -- the sample is drawn on the features' keys, before the join reads their other columns
    select features.*
    from features
    cross join split_months
    where split_months.sample_fraction >= 1.0
        or pmod(xxhash64({{ seed }}, features.customer_id, features.as_of_month), 1000000)
        < cast(split_months.sample_fraction * 1000000 as int)

),

final as (

    select
        sampled_features.*,
        labelled.is_churned_within_horizon,
        case
            when sampled_features.as_of_month >= split_months.first_validation_month
                then 'validation'
            when sampled_features.as_of_month <= split_months.last_train_month then 'train'
            else 'gap'
        end as dataset_split,
        split_months.sample_fraction

    from sampled_features
    inner join labelled
        on sampled_features.customer_id = labelled.customer_id
        and sampled_features.as_of_month = labelled.as_of_month
    cross join split_months

)

-- every feature column of customer_features_monthly travels with its label
select * from final  -- noqa: AM04
