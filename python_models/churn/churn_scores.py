"""Score every customer in the population at the latest as_of_month with the scoring model.

The newest registry row names the model (champion/challenger, see churn_model_registry).
Scoring is a mapInPandas over partitions with the model shipped once. churn_probability is
calibrated; percentiles are cut on the margin (same order, no ties from isotonic steps), from
approximate quantile cut points, so the table is never collected or globally sorted.
"""


def model(dbt, session):
    dbt.config(materialized="table")
    from pyspark.sql import functions as F

    from ml.spark_jobs import load_current_model, percentile_expression, score

    features = dbt.ref("customer_features_monthly")
    version, classifier = load_current_model(dbt.ref("churn_model_registry"))
    latest_month = features.agg(F.max("as_of_month")).first()[0]
    population = features.where(F.col("as_of_month") == F.lit(latest_month))

    scored = (
        score(population, classifier, session, version)
        .select(
            "customer_id", "model_version", "churn_probability", "churn_score_margin", "as_of_month"
        )
        .cache()
    )
    high = int(dbt.config.meta_get("risk_band_high_percentile"))
    medium = int(dbt.config.meta_get("risk_band_medium_percentile"))
    percentile = percentile_expression(scored, "churn_score_margin")
    result = scored.select(
        "customer_id",
        "model_version",
        F.lit(classifier.algorithm).alias("model_algorithm"),
        F.when(percentile > high, "high")
        .when(percentile > medium, "medium")
        .otherwise("low")
        .alias("risk_band"),
        "churn_probability",
        "churn_score_margin",
        percentile.alias("score_percentile"),
        "as_of_month",
        F.current_timestamp().alias("scored_at"),
    )
    return result
