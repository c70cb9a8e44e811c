"""Segments: groups of customers at risk for the same reasons (UMAP + HDBSCAN on SHAP)."""

import streamlit as st

from serving.dashboard.data import snapshot_or_stop

snapshot = snapshot_or_stop()
segments = snapshot.segments.sort_values("expected_churn_rate", ascending=False)

st.title("Customer segments")
st.caption("Customers grouped by why the model scores them, not by who they are.")
st.dataframe(
    segments[
        [
            "segment_name",
            "customer_count",
            "customer_share",
            "expected_churn_rate",
            "observed_churn_rate",
            "high_risk_share",
            "top_drivers",
        ]
    ],
    hide_index=True,
    use_container_width=True,
    column_config={
        "segment_name": "Segment",
        "customer_count": st.column_config.NumberColumn("Customers", format="%d"),
        "customer_share": st.column_config.NumberColumn("Share", format="percent"),
        "expected_churn_rate": st.column_config.NumberColumn(
            "Expected churn", format="percent", help="Mean churn probability of today's customers"
        ),
        "observed_churn_rate": st.column_config.NumberColumn(
            "Churn rate (backtest)",
            format="percent",
            help="Share who churned, among the segment's customers of the latest labelled month",
        ),
        "high_risk_share": st.column_config.NumberColumn("High risk", format="percent"),
        "top_drivers": "Top drivers",
    },
)
st.subheader("Customers in SHAP space")
points = snapshot.customers[["embedding_x", "embedding_y", "segment_name"]].dropna()
st.scatter_chart(points, x="embedding_x", y="embedding_y", color="segment_name")
