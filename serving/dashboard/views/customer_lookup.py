"""Customer lookup: one customer's score and what drives it."""

import numpy as np
import pandas as pd
import streamlit as st

from serving.dashboard.data import (
    score_history,
    serving_dir,
    snapshot_or_stop,
    typical_values,
)
from serving.store import complete_versions

snapshot = snapshot_or_stop()
customers = snapshot.customers

st.title("Customer lookup")
customer_id = st.text_input("Customer id", placeholder="e.g. C0000042").strip()
if not customer_id:
    st.info("Enter a customer id, or pick customers for a campaign below.")
    st.subheader("Customers at risk")
    left, middle, right = st.columns(3)
    bands = left.multiselect(
        "Risk band", ["high", "medium", "low"], default=["high"], format_func=str.title
    )
    segments = sorted(customers["segment_name"].dropna().unique())
    segment = middle.selectbox("Segment", ["All segments", *segments])
    least = right.slider("At least this churn probability", 0, 100, 0, format="%d%%")
    chosen = customers[
        customers["risk_band"].isin(bands) & (customers["churn_probability"] >= least / 100)
    ]
    if segment != "All segments":
        chosen = chosen[chosen["segment_name"] == segment]
    columns = [
        "customer_id",
        "churn_probability",
        "risk_band",
        "segment_name",
        "top_driver_description",
    ]
    chosen = chosen.sort_values("churn_probability", ascending=False)[columns]
    shown = "; the riskiest 200 are shown" if len(chosen) > 200 else ""
    st.write(f"**{len(chosen):,} customers** match{shown}.")
    st.download_button(
        "Download all of them (CSV)",
        chosen.to_csv(index=False).encode(),
        file_name="customers_at_risk.csv",
        mime="text/csv",
    )
    top = chosen.head(200)
    st.dataframe(
        top,
        hide_index=True,
        use_container_width=True,
        column_config={
            "customer_id": "Customer",
            "churn_probability": st.column_config.NumberColumn(
                "Churn probability", format="percent"
            ),
            "risk_band": "Risk band",
            "segment_name": "Segment",
            "top_driver_description": "Strongest driver",
        },
    )
    st.stop()
if customer_id not in customers.index:
    as_of = snapshot.manifest["as_of_month"]
    if customer_id in snapshot.coverage.index:
        why = snapshot.coverage.loc[customer_id, "unscored_reason_description"]
        st.warning(f"No score for {customer_id!r} as of {as_of}. {why}")
    else:
        st.error(f"No score for {customer_id!r}: there is no such customer as of {as_of}.")
    st.stop()

row = customers.loc[customer_id]
col1, col2, col3 = st.columns(3)
col1.metric("Churn probability", f"{row['churn_probability']:.1%}")
col2.metric("Risk band", str(row["risk_band"]).title())
col3.metric("Percentile", f"{int(row['score_percentile'])}")
region = row.get("region")
st.write(f"**Segment:** {row['segment_name']}" + (f" · **Region:** {region}" if region else ""))
st.subheader("Top drivers")
published = row["top_drivers"]
published = [] if not isinstance(published, (list, tuple, np.ndarray)) else list(published)
typical = typical_values(str(serving_dir()), snapshot.version)
drivers = pd.DataFrame(
    [
        {
            "driver": driver["feature_description"],
            "customer_value": driver["feature_value"],
            "typical_value": typical.get(driver["feature_name"]),
            "direction": "raises the risk" if driver["shap_value"] > 0 else "lowers the risk",
            "value": driver["shap_value"],
        }
        for driver in sorted(published, key=lambda driver: driver["driver_rank"])
    ]
)
st.dataframe(
    drivers,
    hide_index=True,
    use_container_width=True,
    column_config={
        "driver": "What moves this customer's risk most",
        "customer_value": st.column_config.NumberColumn("This customer", format="%.2f"),
        "typical_value": st.column_config.NumberColumn("Typical customer", format="%.2f"),
        "direction": "Effect",
        "value": st.column_config.NumberColumn("Strength (log-odds)", format="%.3f"),
    },
)
if typical:
    st.caption("Typical: the median over a sample of all scored customers.")
st.caption(f"Model {row['model_version']} · as of {row['as_of_month']}")

history = score_history(str(serving_dir()), tuple(complete_versions(serving_dir())), customer_id)
if len(history) >= 2:
    st.subheader("Score history")
    st.line_chart(history, x="published", y="churn probability", height=220)
    st.dataframe(
        history,
        hide_index=True,
        use_container_width=True,
        column_config={
            "churn probability": st.column_config.NumberColumn(format="percent"),
        },
    )
    st.caption("One row per published version that scored this customer, oldest first.")
