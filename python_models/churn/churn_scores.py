"""Score every customer active at the latest as_of_month with the current model.

Scoring is a mapInPandas over partitions with the model broadcast; percentiles come from
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
    high = int(dbt.config.get("risk_band_high_percentile"))
    medium = int(dbt.config.get("risk_band_medium_percentile"))
    percentile = percentile_expression(scored, "churn_probability")
    result = scored.select(
        "customer_id",
        "model_version",
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
