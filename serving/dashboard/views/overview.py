"""Overview: how many customers are at risk, and the score distribution."""

import pandas as pd
import streamlit as st

from serving.dashboard.data import (
    probability_histogram,
    serving_dir,
    snapshot_or_stop,
    version_trend,
)
from serving.store import complete_versions

snapshot = snapshot_or_stop()
customers = snapshot.customers
model = snapshot.current_model


def fact(name: str):
    """A fact of the published model, or None when it is missing or unknown."""
    value = model.get(name) if model else None
    return value if value is not None and pd.notna(value) else None


st.title("Churn risk overview")
st.caption(
    f"Scores as of {snapshot.manifest['as_of_month']} · model {snapshot.manifest['model_version']}"
    f" · published {snapshot.manifest['published_at']}"
)
high = int((customers["risk_band"] == "high").sum())
horizon = int(fact("horizon_months")) if fact("horizon_months") else None
within = f"in the next {horizon} months" if horizon else "within the model's horizon"
# two rows of two: in four columns the horizon and the lift were cut off ("…") at 1400 px
col1, col2 = st.columns(2)
col3, col4 = st.columns(2)
col1.metric("Customers scored", f"{len(customers):,}")
col2.metric("High risk", f"{high:,}", help="The riskiest 10% of scored customers.")
col3.metric(
    f"Expected to leave {within}",
    f"{customers['churn_probability'].sum():,.0f}",
    help="The sum of every customer's churn probability: how many customers we expect to "
    f"lose {within} if nothing is done.",
)
if fact("top_decile_lift"):
    col4.metric(
        "Riskiest 10% vs average",
        f"{float(fact('top_decile_lift')):.1f}× the churn rate",
        help="Checked on months the model never saw: among the 10% of customers it rated "
        "riskiest, this many times more left than on average.",
    )
if fact("roc_auc"):
    rfm = fact("rfm_roc_auc")
    versus = f", against {float(rfm):.2f} for a simple recency-frequency-spend rule" if rfm else ""
    st.caption(
        f"How well the model tells leavers from stayers on months it never saw: "
        f"{float(fact('roc_auc')):.2f} on a scale where 0.5 is a coin toss and 1.0 is "
        f"perfect (ROC AUC){versus}."
    )

versions = tuple(complete_versions(serving_dir()))
if len(versions) >= 2:
    st.subheader("From one publication to the next")
    trend = version_trend(str(serving_dir()), versions)
    st.line_chart(trend, x="published", y=["expected to leave", "high risk"])
    st.caption(
        f"Expected leavers {within} and high-risk customers in each of the last "
        f"{len(versions)} published scorings (scored months: "
        f"{', '.join(trend['scored month'].unique())})."
    )

st.subheader("Score distribution")
st.bar_chart(probability_histogram(customers), y="customers")

st.subheader("Risk bands")
bands = (
    customers.groupby("risk_band")
    .agg(customers=("customer_id", "count"), mean_probability=("churn_probability", "mean"))
    .reindex(["high", "medium", "low"])
    .dropna(how="all")
    .reset_index()
)
st.dataframe(
    bands,
    hide_index=True,
    use_container_width=True,
    column_config={
        "risk_band": "Risk band",
        "customers": st.column_config.NumberColumn("Customers", format="%d"),
        "mean_probability": st.column_config.NumberColumn(
            "Mean churn probability", format="percent"
        ),
    },
)
