"""Exact TreeSHAP per scored customer, one row each: the model's feature names, the
customer's feature values and their SHAP values as three aligned arrays, and the base value.

For every customer: base_value + sum(shap_values) == churn_scores.churn_score_margin.
Computed once, in Spark (mapInArrow with the model broadcast), on the CPU by default or on a
GPU with ``--vars '{device: cuda}'``; churn_shap_values (one row per customer and feature),
churn_top_drivers and churn_segments all read it.
"""


def model(dbt, session):
    dbt.config(materialized="table")
    # cpu, or cuda for XGBoost's GPUTreeShap: --vars '{device: cuda}'
    device = dbt.config.get("device")
    from ml.model import check_device
    from ml.spark_jobs import load_current_model, scored_features, shap_vectors

    device = check_device(device)
    version, classifier = load_current_model(dbt.ref("churn_model_registry"))
    # the scored month's rows only (its pages alone are read: scored_features)
    population = scored_features(dbt.ref("customer_features_monthly"), dbt.ref("churn_scores"))
    return shap_vectors(population, classifier, session, version, device=device)
