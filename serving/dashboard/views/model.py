"""Model: how good the scores are, month by month, next to simple baselines; the reports."""

import json

import pandas as pd
import streamlit as st

from serving.dashboard.data import serving_dir, snapshot_or_stop
from serving.layout import SCORING_DIR, SCORING_EVIDENCE_FILE, VERSIONS_DIR
from serving.reports import MODEL_REPORT, REPORTS_DIR, SEGMENT_PROFILES, SEGMENT_REPORT

snapshot = snapshot_or_stop()
model = snapshot.current_model
root = serving_dir() / VERSIONS_DIR / snapshot.version

st.title("The model behind the scores")
if not model:
    st.warning("The published version names no model: ask the data team to publish again.")
    st.stop()
horizon = int(model.get("horizon_months") or 3)
st.write(
    f"**Champion:** {model['model_version']} ({model.get('algorithm', 'xgboost')}), trained "
    f"{str(model.get('trained_at', ''))[:16]}. It estimates, for each customer, the chance "
    f"of leaving in the next {horizon} months. {model.get('promotion_decision', '')}."
)

st.subheader("Month by month, on months the model never saw")
validation = snapshot.validation
if not validation.empty:
    mine = validation[validation["model_version"] == model["model_version"]]
    table = mine.sort_values("as_of_month")[
        [
            "as_of_month",
            "validation_rows",
            "churners",
            "model_roc_auc",
            "rfm_roc_auc",
            "recency_roc_auc",
        ]
    ]
    st.dataframe(
        table,
        hide_index=True,
        use_container_width=True,
        column_config={
            "as_of_month": "Month",
            "validation_rows": st.column_config.NumberColumn("Customers", format="%d"),
            "churners": st.column_config.NumberColumn("Who left", format="%d"),
            "model_roc_auc": st.column_config.NumberColumn("Model", format="%.3f"),
            "rfm_roc_auc": st.column_config.NumberColumn("RFM rule", format="%.3f"),
            "recency_roc_auc": st.column_config.NumberColumn("Recency rule", format="%.3f"),
        },
    )
    st.caption(
        "ROC AUC: how often the model rates a customer who left above one who stayed "
        "(0.5 is a coin toss, 1.0 is perfect), against two simple rules on the same customers."
    )

evidence_file = root / SCORING_DIR / SCORING_EVIDENCE_FILE
evidence = json.loads(evidence_file.read_text()) if evidence_file.is_file() else {}
bins = [row for row in evidence.get("reliability_table", []) if row.get("rows")]
if bins:
    st.subheader("Are the probabilities honest?")
    calibration = pd.DataFrame(
        {
            "Predicted": [row["mean_predicted"] for row in bins],
            "Observed": [row["observed_rate"] for row in bins],
        }
    )
    # the diagonal drawn next to it: what honest probabilities would look like
    calibration["Honest"] = calibration["Predicted"]
    st.line_chart(calibration, x="Predicted", y=["Observed", "Honest"])
    st.caption(
        "Customers grouped by predicted chance of leaving (out of time): when the Observed "
        "line follows the Honest diagonal, a predicted 20% really is 20%."
    )

st.subheader("Reports")
reports = root / REPORTS_DIR
found = False
for name, label, mime in (
    (MODEL_REPORT, "Model performance (PDF)", "application/pdf"),
    (SEGMENT_REPORT, "Segment summary (PDF)", "application/pdf"),
    (SEGMENT_PROFILES, "Segment definitions (Markdown)", "text/markdown"),
):
    path = reports / name
    if path.is_file():
        found = True
        st.download_button(label, path.read_bytes(), file_name=name, mime=mime)
if not found:
    st.info("No reports for these scores yet: `propensity report` writes them.")
