"""Overview: how many customers are at risk, and the score distribution."""

import streamlit as st

from serving.dashboard.data import probability_histogram, snapshot_or_stop

snapshot = snapshot_or_stop()
customers = snapshot.customers
model = snapshot.current_model

st.title("Churn risk overview")
st.caption(
    f"Scores as of {snapshot.manifest['as_of_month']} · model {snapshot.manifest['model_version']}"
    f" · published {snapshot.manifest['published_at']}"
)
high = int((customers["risk_band"] == "high").sum())
col1, col2, col3, col4 = st.columns(4)
col1.metric("Customers scored", f"{len(customers):,}")
col2.metric("High risk", f"{high:,}")
col3.metric("Expected churners", f"{customers['churn_probability'].sum():,.0f}")
if model:
    col4.metric("Model ROC AUC (out of time)", f"{model['roc_auc']:.3f}")

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
