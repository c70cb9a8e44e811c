-- Labelled feature rows for training. The most recent `validation_months` labelled months are
-- the out-of-time validation window; earlier months are for training.
with

features as (

    select * from {{ ref('customer_features_monthly') }}

),

labels as (

    select * from {{ ref('churn_labels') }}

),

last_labelled_months as (

    select max(as_of_month) as last_labelled_month
    from labels
    where is_label_known

),

final as (

    select
        features.*,
        labels.is_churned_within_horizon,
        case
            when features.as_of_month > {{
                add_months_to('last_labelled_months.last_labelled_month',
                              -var('validation_months'))
            }} then 'validation'
            else 'train'
        end as dataset_split

    from features
    inner join labels
        on features.customer_id = labels.customer_id
        and features.as_of_month = labels.as_of_month
    cross join last_labelled_months
    where labels.is_label_known

)

select * from final
