"""Segments: groups of customers at risk for the same reasons (UMAP + HDBSCAN on SHAP)."""

import pandas as pd
import streamlit as st

from serving.dashboard.data import snapshot_or_stop
from serving.reports import review_in_words

snapshot = snapshot_or_stop()
segments = snapshot.segments.sort_values("expected_churn_rate", ascending=False)
model = snapshot.current_model or {}
horizon = model.get("horizon_months")
within = f"in the next {int(horizon)} months" if horizon and pd.notna(horizon) else "soon"

st.title("Customer segments")
st.caption(
    "Customers grouped by why the model expects them to leave, not by who they are: the "
    "customers of one segment are at risk for the same reasons, so one campaign can "
    "address them all."
)
review = review_in_words(segments)
if review:
    st.caption(review)
# where to start: the segment that holds the most expected leavers
leavers = (
    snapshot.customers.groupby("segment_name")["churn_probability"].sum().sort_values()
    if len(snapshot.customers)
    else pd.Series(dtype=float)
)
if len(leavers) and leavers.sum() > 0:
    name, expected = leavers.index[-1], float(leavers.iloc[-1])
    drivers = segments.loc[segments["segment_name"] == name, "top_drivers"]
    reasons = f" Its main reasons: {drivers.iloc[0]}." if len(drivers) else ""
    st.info(
        f"**Where to start: {name}.** Of the {leavers.sum():,.0f} customers we expect to lose "
        f"{within}, {expected:,.0f} ({expected / leavers.sum():.0%}) are in this segment."
        f"{reasons} The customer lookup page lists them for a campaign."
    )
# a rate that could not be read is said in words ("too few churners"), never shown as "None"
if "observed_churn_rate" in segments:
    segments = segments.assign(
        observed_churn=[
            f"{rate:.0%}" if pd.notna(rate) else "too few to tell"
            for rate in segments["observed_churn_rate"]
        ]
    )
shown = [
    "segment_name",
    "customer_count",
    "customer_share",
    "expected_churn_rate",
    "observed_churn",
    "observed_churn_basis",  # published since the rate pools the validation window
    "high_risk_share",
    "top_drivers",
]
st.dataframe(
    segments[[column for column in shown if column in segments]],
    hide_index=True,
    use_container_width=True,
    column_config={
        "segment_name": "Segment",
        "customer_count": st.column_config.NumberColumn("Customers", format="%d"),
        "customer_share": st.column_config.NumberColumn("Share", format="percent"),
        "expected_churn_rate": st.column_config.NumberColumn(
            "Expected churn", format="percent", help="Mean churn probability of today's customers"
        ),
        "observed_churn": st.column_config.TextColumn(
            "Churn rate (backtest)",
            help="Share who churned within the horizon, among the segment's customers of the "
            'validation months (a back-test); "too few to tell" when too few churned to read a '
            "rate (the next column says how many)",
        ),
        "observed_churn_basis": "Based on",
        "high_risk_share": st.column_config.NumberColumn("High risk", format="percent"),
        "top_drivers": "Top drivers",
    },
)
st.subheader("Map of customers by their reasons for leaving")
st.caption(
    "Each dot is a customer. Customers close together are at risk for similar reasons; the "
    "position itself has no unit or meaning of its own."
)
points = snapshot.customers[["embedding_x", "embedding_y", "segment_name"]].dropna()
st.scatter_chart(
    points.rename(columns={"segment_name": "Segment"}),
    x="embedding_x",
    y="embedding_y",
    color="Segment",
    x_label="",
    y_label="",
)
