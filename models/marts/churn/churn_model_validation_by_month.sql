-- Out-of-time validation metrics per model version and as_of_month, next to the baselines on
-- the same rows. A month whose customers all churned or all stayed is flagged: its ROC AUC is
-- undefined and it is left out, never averaged in.
{%- set metric_struct -%}
    array<struct<
        as_of_month: string, rows: bigint, positives: bigint, is_flagged: boolean,
        model_roc_auc: double, model_pr_auc: double, model_log_loss: double,
        rfm_roc_auc: double, rfm_pr_auc: double, rfm_log_loss: double,
        recency_roc_auc: double, recency_pr_auc: double, recency_log_loss: double
    >>
{%- endset %}
with

registry as (

    select * from {{ ref('churn_model_registry') }}

),

exploded as (

    select
        model_version,
        trained_at,
        inline(from_json(validation_metrics_by_month, '{{ metric_struct | replace("\n", " ") }}'))

    from registry

),

final as (

    select
        model_version,
        cast(rows as bigint) as validation_rows,
        cast(positives as bigint) as churners,
        cast(positives as double) / nullif(rows, 0) as churn_rate,
        model_roc_auc,
        rfm_roc_auc,
        recency_roc_auc,
        model_pr_auc,
        rfm_pr_auc,
        recency_pr_auc,
        model_log_loss,
        rfm_log_loss,
        recency_log_loss,
        is_flagged as is_flagged_one_class_only,
        cast(as_of_month as date) as as_of_month,
        trained_at

    from exploded

)

select * from final
