-- Every registered churn model with its out-of-time performance next to the baselines on the
-- same rows, newest first: did the latest retraining help, and which model scores?
-- Per-month figures: analytics.churn_model_validation_by_month.
with

registry as (

    select * from {{ ref('churn_model_registry') }}

),

final as (

    select
        model_version,
        scoring_model_version,
        scoring_algorithm,
        promotion_decision,
        roc_auc,
        rfm_roc_auc,
        recency_roc_auc,
        roc_auc - rfm_roc_auc as lift_over_rfm,
        expected_calibration_error,
        pr_auc,
        log_loss,
        top_decile_lift,
        train_roc_auc - roc_auc as overfitting_gap,
        training_rows,
        validation_rows,
        refit_rows,
        validation_positive_rate,
        validation_start_month,
        validation_end_month,
        trained_at

    from registry

)

select * from final
order by trained_at desc
