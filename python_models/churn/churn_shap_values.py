"""Exact TreeSHAP attribution per scored customer and feature (long format).

For every customer: base_value + sum(shap_value) == churn_scores.churn_score_margin.
Runs as mapInPandas with the model broadcast.
"""


def model(dbt, session):
    dbt.config(materialized="table")
    from ml.spark_jobs import load_current_model, shap_long

    scores = dbt.ref("churn_scores").select("customer_id", "as_of_month")
    features = dbt.ref("customer_features_monthly")
    version, classifier = load_current_model(dbt.ref("churn_model_registry"))
    population = features.join(scores, ["customer_id", "as_of_month"], "inner")
    return shap_long(population, classifier, session, version)
