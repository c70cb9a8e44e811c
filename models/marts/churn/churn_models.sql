-- The registered churn models, for the people and applications that consume their scores:
-- one row per model version with its definition, out-of-time quality next to the baselines
-- on the same rows, and whether it was promoted. A contracted SQL view of the Python model
-- churn_model_registry (Python models cannot carry a contract).
with

registry as (

    select * from {{ ref('churn_model_registry') }}

),

final as (

    select
        model_version,
        scoring_model_version,
        model_name,
        algorithm,
        scoring_algorithm,
        churn_definition,
        promotion_decision,
        cast(horizon_months as int) as horizon_months,
        cast(training_rows as bigint) as training_rows,
        cast(validation_rows as bigint) as validation_rows,
        roc_auc,
        pr_auc,
        log_loss,
        expected_calibration_error,
        top_decile_lift,
        recency_roc_auc,
        rfm_roc_auc,
        is_promoted,
        train_start_month,
        train_end_month,
        validation_start_month,
        validation_end_month,
        trained_at

    from registry

)

select * from final
