-- Every registered churn model with its out-of-time performance, newest first: did the
-- latest retraining help?
with

registry as (

    select * from {{ ref('churn_model_registry') }}

),

final as (

    select
        model_version,
        roc_auc,
        pr_auc,
        log_loss,
        top_decile_lift,
        train_roc_auc - roc_auc as overfitting_gap,
        training_rows,
        validation_rows,
        validation_positive_rate,
        validation_start_month,
        validation_end_month,
        trained_at

    from registry

)

select * from final
order by trained_at desc
