"""The two PDF reports of a published version, for stakeholders who will not open a notebook.

* ``model_performance_churn.pdf``: the data window and coverage, out-of-time metrics per
  month, ROC and precision-recall curves, cumulative gains, calibration, the baselines, a
  SHAP summary and dependence plots (drawn by the ``shap`` library), and the champion and
  challenger history.
* ``segment_summary_report.pdf``: segment sizes with expected and observed churn, each
  segment's drivers and rule, a map of the customers, and what changed since the last build;
  ``segment_profiles.md`` says the same of each segment as text.

Both are written into ``<serving>/versions/<version>/reports/`` from what that version
published (its tables and ``scoring/evidence.json``, the training run's record), so a report
always describes exactly the scores the API and the dashboard serve. Every figure has a
title, labelled axes and one sentence saying what it shows. `propensity report` writes them;
`propensity run` does at its end.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from serving.layout import (
    POINTER_FILE,
    SCORING_DIR,
    SCORING_EVIDENCE_FILE,
    VERSIONS_DIR,
    version_problem,
)

log = logging.getLogger(__name__)

REPORTS_DIR = "reports"
MODEL_REPORT = "model_performance_churn.pdf"
SEGMENT_REPORT = "segment_summary_report.pdf"
SEGMENT_PROFILES = "segment_profiles.md"
# ml.segments.VALUE_PREFIX, without importing the ML stack (the dashboard reads it from here)
VALUE_PREFIX = "value__"
COLOURS = {"model": "#1f4e79", "rfm": "#d98c1f", "recency": "#7f7f7f"}
NAMES = {
    "model": "Churn model (XGBoost)",
    "rfm": "RFM logistic regression",
    "recency": "Recency only",
}
# the PDF's built-in fonts are Latin-1: typographic characters a name or rule may hold
PLAIN = str.maketrans({"–": "-", "—": "-", "≤": "<=", "≥": ">=", "’": "'", "“": '"', "”": '"'})


class ReportError(RuntimeError):
    """A version that cannot be reported on, with what to do."""


def _plain(text) -> str:
    return str(text).translate(PLAIN).encode("latin-1", "replace").decode("latin-1")


def _wrapped(text, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(_plain(text), width)) or _plain(text)


def _table(root: Path, name: str) -> pd.DataFrame:
    folder = root / name
    return pq.read_table(folder).to_pandas() if folder.is_dir() else pd.DataFrame()


class Published:
    """What one published version holds, read once (every table is small: marts of
    aggregates, or bounded samples)."""

    def __init__(self, serving: Path, version: str | None = None) -> None:
        versions = serving / VERSIONS_DIR
        if version is None:
            pointer = serving / POINTER_FILE
            if not pointer.is_file():
                raise ReportError(
                    f"nothing is published in {serving}: run `propensity run` (or "
                    "`propensity publish` after a dbt build) first"
                )
            version = pointer.read_text().strip()
        self.root = versions / version
        problem = version_problem(self.root)
        if problem:
            raise ReportError(f"{problem}: publish again with `propensity publish`")
        self.version = version
        self.manifest = json.loads((self.root / "manifest.json").read_text())
        self.models = _table(self.root, "models")
        self.validation = _table(self.root, "validation")
        self.coverage = _table(self.root, "coverage")
        self.segments = _table(self.root, "segments")
        self.segmenter = _table(self.root, "segmenter")
        self.features = _table(self.root, "features")
        evidence = self.root / SCORING_DIR / SCORING_EVIDENCE_FILE
        self.evidence = json.loads(evidence.read_text()) if evidence.is_file() else {}
        older = sorted(
            p.name
            for p in versions.iterdir()
            if p.is_dir() and p.name < version and version_problem(p) is None
        )
        self.previous_segments = _table(versions / older[-1], "segments") if older else None
        self.previous_version = older[-1] if older else None

    def label(self, feature: str) -> str:
        if not self.features.empty:
            match = self.features.loc[self.features["feature_name"] == feature, "feature_label"]
            if len(match):
                return str(match.iloc[0])
        return feature.replace("_", " ")

    @property
    def model_features(self) -> list[str]:
        return sorted(
            c[len(VALUE_PREFIX) :] for c in self.segmenter.columns if c.startswith(VALUE_PREFIX)
        )


class Document:
    """An A4 PDF of headings, sentences, tables and matplotlib figures (fpdf2)."""

    def __init__(self, title: str, subtitle: str) -> None:
        from fpdf import FPDF

        self.pdf = FPDF(format="A4")
        self.pdf.set_auto_page_break(auto=True, margin=15)
        self.pdf.set_title(title)
        self.pdf.set_creator("Customer Propensity")
        self.pdf.set_author("Customer Propensity")
        self.title = title
        self.pdf.add_page()
        self.pdf.set_font("Helvetica", "B", 20)
        self.pdf.multi_cell(0, 10, _plain(title), new_x="LMARGIN", new_y="NEXT")
        self.pdf.set_font("Helvetica", "", 11)
        self.pdf.multi_cell(0, 6, _plain(subtitle), new_x="LMARGIN", new_y="NEXT")
        self.pdf.ln(4)

    @property
    def width(self) -> float:
        return self.pdf.w - self.pdf.l_margin - self.pdf.r_margin

    def page(self) -> None:
        self.pdf.add_page()

    def heading(self, text: str) -> None:
        if self.pdf.get_y() > self.pdf.h - 60:
            self.pdf.add_page()
        self.pdf.ln(2)
        self.pdf.set_font("Helvetica", "B", 14)
        self.pdf.multi_cell(0, 8, _plain(text), new_x="LMARGIN", new_y="NEXT")
        self.pdf.set_font("Helvetica", "", 10)

    def sentence(self, text: str, italic: bool = False) -> None:
        self.pdf.set_font("Helvetica", "I" if italic else "", 10)
        self.pdf.multi_cell(0, 5, _plain(text), new_x="LMARGIN", new_y="NEXT")
        self.pdf.set_font("Helvetica", "", 10)
        self.pdf.ln(1)

    def table(self, frame: pd.DataFrame, widths: list[float] | None = None) -> None:
        self.pdf.set_font("Helvetica", "", 8)
        with self.pdf.table(
            col_widths=widths,
            text_align="LEFT",
            line_height=4.5,
            first_row_as_headings=True,
        ) as table:
            table.row([_plain(c) for c in frame.columns])
            for values in frame.itertuples(index=False):
                table.row([_plain(v) for v in values])
        self.pdf.set_font("Helvetica", "", 10)
        self.pdf.ln(2)

    def figure(self, draw: Callable, caption: str, height: float = 3.6) -> None:
        """A matplotlib figure drawn by ``draw(figure)``, then its one-sentence caption."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        figure = plt.figure(figsize=(7.0, height))
        try:
            draw(figure)
            figure.tight_layout()
            buffer = io.BytesIO()
            # tight: plots drawn by shap reach beyond the figure's edges
            figure.savefig(buffer, format="png", dpi=130, bbox_inches="tight")
        finally:
            plt.close("all")
        from PIL import Image

        buffer.seek(0)
        pixels_wide, pixels_high = Image.open(buffer).size
        image_height = self.width * pixels_high / pixels_wide
        if self.pdf.get_y() + image_height + 12 > self.pdf.h - self.pdf.b_margin:
            self.pdf.add_page()
        buffer.seek(0)
        self.pdf.image(buffer, w=self.width)
        self.sentence(caption, italic=True)

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".pdf.partial")
        self.pdf.output(str(partial))
        partial.replace(path)
        return path


def _percent(value, digits: int = 1) -> str:
    return "-" if value is None or pd.isna(value) else f"{100 * float(value):.{digits}f}%"


def _number(value, digits: int = 3) -> str:
    return "-" if value is None or pd.isna(value) else f"{float(value):.{digits}f}"


def _month(value) -> str:
    return "-" if value is None or pd.isna(value) else str(value)[:7]


def review_in_words(segments: pd.DataFrame) -> str | None:
    """When customers may next change segment, and how many are held until then, in words;
    None for a version published before segments had reviews."""
    if "next_review_month" not in segments or segments["next_review_month"].isna().all():
        return None
    month = pd.Timestamp(segments["next_review_month"].dropna().iloc[0])
    sentence = (
        "Customers change segment only at a review, so campaign lists stay comparable from "
        f"month to month in between; the next review is with the scores of {month:%B %Y}."
    )
    held = int(segments.get("held_customer_count", pd.Series(dtype=float)).fillna(0).sum())
    if held:
        sentence += (
            f" Until then, {held:,} customers stay in a segment that the review may move them "
            "out of, because their reasons to leave have changed."
        )
    return sentence


def _shap_explanation(published: Published):
    """A shap.Explanation of the segmenter's fit sample: SHAP values and feature values."""
    import shap

    features = published.model_features
    sample = published.segmenter
    return shap.Explanation(
        values=sample[features].to_numpy(dtype=float),
        data=sample[[VALUE_PREFIX + f for f in features]].to_numpy(dtype=float),
        feature_names=[published.label(f) for f in features],
    )


# ---------------------------------------------------------------- model performance


def model_performance(published: Published, path: Path) -> Path:
    models, evidence = published.models, published.evidence
    if models.empty:
        raise ReportError(f"version {published.version} holds no model: rebuild and publish")
    newest = models.sort_values("trained_at").iloc[-1]
    scoring = newest["scoring_model_version"]
    horizon = int(newest["horizon_months"])
    contractual = newest["churn_definition"] == "contractual"
    doc = Document(
        "Churn model performance",
        f"Published version {published.version}, customers scored as of "
        f"{_month(published.manifest.get('as_of_month'))} by model {scoring}. Churn means "
        f"{'every account closed' if contractual else 'no purchase'} within the {horizon} "
        "months after the scored month.",
    )

    doc.heading("1. Data window and coverage")
    doc.sentence(
        f"The model learned from the months {_month(newest['train_start_month'])} to "
        f"{_month(newest['train_end_month'])} ({int(newest['training_rows']):,} "
        "customer-months) and was tested, out of time, on "
        f"{_month(newest['validation_start_month'])} to "
        f"{_month(newest['validation_end_month'])} ({int(newest['validation_rows']):,} "
        "customer-months it never saw). Every figure below is on those later months."
    )
    coverage = published.coverage
    if not coverage.empty:
        scored = int(coverage["is_scored"].sum())
        doc.sentence(
            f"{scored:,} of {len(coverage):,} customers ({_percent(scored / len(coverage))}) "
            "have a score. The others, and why:"
        )
        reasons = (
            coverage[~coverage["is_scored"]]
            .groupby(["unscored_reason", "unscored_reason_description"], dropna=False)
            .size()
            .reset_index(name="customers")
            .sort_values("customers", ascending=False)
        )
        if not reasons.empty:
            reasons.columns = ["Reason", "What it means", "Customers"]
            doc.table(reasons, widths=[25, 60, 15])

    doc.heading("2. Out-of-time results per month")
    by_month = published.validation.sort_values("as_of_month")
    if not by_month.empty:
        shown = pd.DataFrame(
            {
                "Month": by_month["as_of_month"].map(_month),
                "Customers": by_month["validation_rows"].map("{:,}".format),
                "Churners": by_month["churners"].map("{:,}".format),
                "Model ROC AUC": by_month["model_roc_auc"].map(_number),
                "RFM ROC AUC": by_month["rfm_roc_auc"].map(_number),
                "Recency ROC AUC": by_month["recency_roc_auc"].map(_number),
                "Model PR AUC": by_month["model_pr_auc"].map(_number),
            }
        )
        doc.table(shown)

        def per_month(figure):
            axes = figure.add_subplot()
            months = by_month["as_of_month"].map(_month)
            for key in ("model", "rfm", "recency"):
                axes.plot(
                    months, by_month[f"{key}_roc_auc"], marker="o", label=NAMES[key],
                    color=COLOURS[key],
                )  # fmt: skip
            axes.axhline(0.5, color="black", linewidth=0.8, linestyle=":", label="Chance")
            axes.set(title="Ranking quality per month", xlabel="Scored month", ylabel="ROC AUC")
            axes.set_ylim(0.4, 1.0)
            axes.legend(fontsize=8)

        doc.figure(
            per_month,
            "How well each method ranks the customers who then left above those who stayed, "
            "month by month (0.5 is a coin toss, 1.0 is perfect).",
        )

    curves = evidence.get("validation_curves") or {}
    doc.heading("3. Ranking curves")
    if not curves:
        doc.sentence(
            "This model was trained before its curves were recorded: retrain it "
            "(`propensity dbt build --select churn_model_registry+`) to see them."
        )
    else:

        def roc_and_pr(figure):
            roc, pr = figure.subplots(1, 2)
            for key, points in curves.items():
                roc.plot(
                    points["fpr"], points["tpr"], label=NAMES.get(key, key), color=COLOURS.get(key)
                )
                precision = [np.nan if p is None else p for p in points["precision"]]
                pr.plot(points["tpr"], precision, label=NAMES.get(key, key), color=COLOURS.get(key))
            roc.plot([0, 1], [0, 1], color="black", linewidth=0.8, linestyle=":")
            roc.set(
                title="ROC curve",
                xlabel="Share of stayers flagged",
                ylabel="Share of churners flagged",
            )
            pr.set(title="Precision-recall curve", xlabel="Share of churners found (recall)",
                   ylabel="Share of flagged who churn (precision)")  # fmt: skip
            roc.legend(fontsize=7)

        doc.figure(
            roc_and_pr,
            "Left: the further the curve bows to the top left, the better the ranking. Right: "
            "how many of the flagged customers really leave as more of the leavers are found.",
        )

        def gains(figure):
            axes = figure.add_subplot()
            for key, points in curves.items():
                axes.plot(points["share_contacted"], points["tpr"], label=NAMES.get(key, key),
                          color=COLOURS.get(key))  # fmt: skip
            axes.plot([0, 1], [0, 1], color="black", linewidth=0.8, linestyle=":", label="Random")
            axes.set(title="Cumulative gains", ylabel="Share of churners reached",
                     xlabel="Share of customers contacted, riskiest first")  # fmt: skip
            axes.legend(fontsize=8)

        model_points = curves.get("model")
        reach = ""
        if model_points:
            share = np.asarray(model_points["share_contacted"])
            at = int(np.argmin(np.abs(share - 0.2)))
            reach = (
                f" Contacting the riskiest 20% of customers reaches "
                f"{_percent(model_points['tpr'][at], 0)} of those who leave."
            )
        doc.figure(
            gains,
            "How many of the customers who left a campaign would have reached, by how many "
            "customers it contacts." + reach,
        )

    reliability = evidence.get("reliability_table") or []
    doc.heading("4. Calibration: are the probabilities honest?")
    bins = [row for row in reliability if row.get("rows")]
    if bins:

        def calibration(figure):
            axes = figure.add_subplot()
            predicted = [row["mean_predicted"] for row in bins]
            observed = [row["observed_rate"] for row in bins]
            axes.plot([0, 1], [0, 1], color="black", linewidth=0.8, linestyle=":", label="Perfect")
            axes.plot(predicted, observed, marker="o", color=COLOURS["model"], label=NAMES["model"])
            top = max(max(predicted), max(observed)) * 1.1
            axes.set_xlim(0, top)
            axes.set_ylim(0, top)
            axes.set(title="Reliability", xlabel="Predicted churn probability (bin average)",
                     ylabel="Observed churn rate")  # fmt: skip
            axes.legend(fontsize=8)

        ece = evidence.get("metrics", {}).get("model", {}).get("ece")
        doc.figure(
            calibration,
            "Customers grouped by predicted probability: points on the dotted line mean a "
            f"predicted 20% really is 20% (average gap {_percent(ece)}).",
        )

    doc.heading("5. Compared with simple baselines")
    metrics = evidence.get("metrics") or {}
    rows = [
        {
            "Method": NAMES[key],
            "ROC AUC": _number(metrics[key].get("roc_auc")),
            "PR AUC": _number(metrics[key].get("pr_auc")),
            "Log loss": _number(metrics[key].get("log_loss")),
            "Top-decile lift": _number(metrics[key].get("top_decile_lift"), 2),
            "Calibration gap": _percent(metrics[key].get("ece")),
        }
        for key in ("model", "rfm", "recency")
        if key in metrics
    ]
    if rows:
        doc.table(pd.DataFrame(rows))
    doc.sentence(
        "All three are measured on the same out-of-time customer-months. The model is used "
        f"only when it beats the RFM regression: {newest['promotion_decision']}."
    )

    if not published.segmenter.empty and published.model_features:
        import shap

        explanation = _shap_explanation(published)
        doc.page()
        doc.heading("6. What drives the scores (SHAP)")

        def beeswarm(figure):
            shap.plots.beeswarm(explanation, max_display=12, show=False, plot_size=None)
            axes = figure.gca()
            axes.set_title("What moves each customer's churn risk")
            axes.set_xlabel("Impact on churn risk (log-odds; right: more likely to leave)")

        doc.figure(
            beeswarm,
            f"Each dot is one of {len(explanation.values):,} sampled customers; its colour is the "
            "feature's value (red high, blue low) and its position how much that value moved "
            "the customer's risk.",
            height=5.5,
        )
        strongest = np.argsort(-np.abs(explanation.values).mean(axis=0))[:3]
        for index in strongest:
            name = explanation.feature_names[index]

            def dependence(figure, index=index, name=name):
                shap.plots.scatter(explanation[:, int(index)], show=False, ax=figure.gca())
                axes = figure.gca()
                axes.set_title(f"How {name.lower()} moves the risk")
                axes.set_xlabel(name)
                axes.set_ylabel("Impact on churn risk (log-odds)")

            doc.figure(
                dependence,
                f"Each dot is a customer: their {name.lower()} (across) against how much it "
                "raised or lowered their churn risk (up).",
                height=3.0,
            )

    doc.heading("7. Champion and challenger history")
    history = models.sort_values("trained_at")
    doc.table(
        pd.DataFrame(
            {
                "Trained": history["trained_at"].astype(str).str[:16],
                "Model": history["model_version"],
                "ROC AUC": history["roc_auc"].map(_number),
                "RFM ROC AUC": history["rfm_roc_auc"].map(_number),
                "Decision": history["promotion_decision"],
            }
        ),
        widths=[16, 27, 10, 10, 37],
    )
    return doc.save(path)


# ---------------------------------------------------------------- segment summary


def _segment_drivers(published: Published, segment_id: int, top: int = 3) -> list[str]:
    """The segment's strongest drivers in words, with their direction and typical value."""
    fit = published.segmenter
    features = published.model_features
    members = fit[fit["segment_id"] == segment_id]
    if members.empty or not features:
        return []
    mean_shap = members[features].mean()
    order = mean_shap.abs().sort_values(ascending=False).index[:top]
    lines = []
    for feature in order:
        value = members[VALUE_PREFIX + feature].median()
        overall = fit[VALUE_PREFIX + feature].median()
        push = "raises" if mean_shap[feature] > 0 else "lowers"
        lines.append(
            f"{published.label(feature)} {push} their risk (typical here "
            f"{_number(value, 1)}, everyone {_number(overall, 1)})"
        )
    return lines


def segment_summary(published: Published, path: Path) -> Path:
    segments = published.segments.sort_values("customer_count", ascending=False)
    if segments.empty:
        raise ReportError(f"version {published.version} holds no segments: rebuild and publish")
    horizon = published.models["horizon_months"].iloc[0] if not published.models.empty else 3
    doc = Document(
        "Customer segments",
        f"Published version {published.version}, customers scored as of "
        f"{_month(published.manifest.get('as_of_month'))}. A segment is a group of customers "
        "whose churn risk has the same causes, so one message fits them all.",
    )
    review = review_in_words(segments)
    if review:
        doc.sentence(review)

    doc.heading("1. Segments at a glance")
    doc.table(
        pd.DataFrame(
            {
                "Segment": segments["segment_name"],
                "Customers": segments["customer_count"].map("{:,}".format),
                "Share": segments["customer_share"].map(_percent),
                f"Expected to leave ({horizon} mo)": segments["expected_churn_rate"].map(_percent),
                "Observed in the past": segments["observed_churn_rate"].map(_percent),
                "High risk": segments["high_risk_share"].map(_percent),
            }
        ),
        widths=[40, 12, 10, 14, 14, 10],
    )
    doc.sentence(
        f"Expected: the average predicted probability of leaving within {horizon} months. "
        "Observed: the share of the segment's customers who did leave, over the months the "
        "model was tested on; '-' when too few left to read a rate."
    )

    def rates(figure):
        axes = figure.add_subplot()
        position = np.arange(len(segments))
        axes.barh(position - 0.2, segments["expected_churn_rate"], height=0.4,
                  label="Expected", color=COLOURS["model"])  # fmt: skip
        axes.barh(position + 0.2, segments["observed_churn_rate"].fillna(0), height=0.4,
                  label="Observed", color=COLOURS["rfm"])  # fmt: skip
        axes.set_yticks(position, [_wrapped(n, 28) for n in segments["segment_name"]], fontsize=7)
        axes.invert_yaxis()
        axes.xaxis.set_major_formatter(lambda x, _: f"{100 * x:.0f}%")
        axes.set(title="Churn rate by segment", xlabel="Share of customers leaving",
                 ylabel="Segment")  # fmt: skip
        axes.legend(fontsize=8)

    doc.figure(rates, "Expected and observed churn side by side: large gaps deserve a look.")

    doc.heading("2. Each segment: why its customers are at risk")
    for row in segments.itertuples(index=False):
        doc.pdf.set_font("Helvetica", "B", 11)
        doc.pdf.multi_cell(
            0,
            6,
            _plain(f"{row.segment_name} ({int(row.customer_count):,} customers)"),
            new_x="LMARGIN",
            new_y="NEXT",
        )
        doc.sentence(
            f"Expected to leave: {_percent(row.expected_churn_rate)}; observed: "
            f"{_percent(row.observed_churn_rate)} ({row.observed_churn_basis})."
        )
        drivers = _segment_drivers(published, int(row.segment_id))
        if drivers:
            doc.sentence("Drivers: " + "; ".join(drivers) + ".")
        doc.sentence(
            f"Rule: {row.segment_rule}. It picks {_percent(row.rule_coverage, 0)} of the segment, "
            f"and {_percent(row.rule_precision, 0)} of the customers it picks are in it."
        )
    fidelity = segments["surrogate_fidelity"].dropna()
    if len(fidelity):
        doc.sentence(
            f"The rules come from one small decision tree on the customers' own values; it "
            f"puts {_percent(fidelity.iloc[0], 0)} of customers in their own segment."
        )

    fit = published.segmenter
    if not fit.empty and {"embedding_x", "embedding_y"} <= set(fit.columns):
        names = dict(zip(segments["segment_id"], segments["segment_name"], strict=True))

        def customer_map(figure):
            axes = figure.add_subplot()
            for segment_id, members in fit.dropna(subset=["segment_id"]).groupby("segment_id"):
                name = _wrapped(names.get(int(segment_id), segment_id), 40)
                axes.scatter(members["embedding_x"], members["embedding_y"], s=4, label=name)
            axes.set(title="Map of customers by their reasons to leave",
                     xlabel="(no units: closeness is what counts)", ylabel="")  # fmt: skip
            axes.set_xticks([])
            axes.set_yticks([])
            axes.legend(fontsize=6, markerscale=3, loc="upper left", bbox_to_anchor=(1.01, 1.0))

        doc.figure(
            customer_map,
            "Each dot is a sampled customer; customers close together are at risk for the same "
            "reasons, and each colour is a segment.",
            height=4.5,
        )

    doc.heading("3. Changes since the last build")
    changes = segment_changes(published)
    if changes is None:
        doc.sentence("This is the first published build: there is nothing to compare with.")
    else:
        reasons = fit["refit_reason"].dropna() if "refit_reason" in fit else pd.Series([])
        if len(reasons):
            doc.sentence(
                f"The segments were drawn afresh in this build: {reasons.iloc[0]}. A segment "
                "keeps its name and id only when it matches one of the last build's."
            )
        elif "fitted_month" in fit and fit["fitted_month"].notna().any():
            doc.sentence(
                "The segments were carried over from the last build (drawn in "
                f"{_month(fit['fitted_month'].max())}): customers kept their segment unless "
                "their reasons to leave clearly changed."
            )
        doc.sentence(f"Compared with version {published.previous_version}:")
        doc.table(changes, widths=[50, 17, 17, 16])
    return doc.save(path)


def segment_changes(published: Published) -> pd.DataFrame | None:
    """Each segment's customers in the previous published version and now (None when there
    is no previous version)."""
    previous, segments = published.previous_segments, published.segments
    if previous is None or previous.empty:
        return None
    before = dict(zip(previous["segment_id"], previous["customer_count"], strict=True))
    now = dict(zip(segments["segment_id"], segments["customer_count"], strict=True))
    rows = []
    for segment_id in sorted(set(before) | set(now)):
        source = segments if segment_id in now else previous
        name = source.loc[source["segment_id"] == segment_id, "segment_name"].iloc[0]
        if segment_id not in before:
            change = "new segment"
        elif segment_id not in now:
            change = "gone"
        else:
            change = f"{now[segment_id] - before[segment_id]:+,}"
        rows.append(
            {
                "Segment": name,
                "Customers before": f"{before.get(segment_id, 0):,}",
                "Customers now": f"{now.get(segment_id, 0):,}",
                "Change": change,
            }
        )
    return pd.DataFrame(rows)


def _change_in_words(changes, change_of: dict, row) -> str:
    if changes is None:
        return "first published build"
    change = change_of.get(row.segment_name, "unchanged")
    return f"{change} customers" if change[:1] in "+-" else change


def segment_profiles_markdown(published: Published, path: Path) -> Path:
    """segment_profiles.md: each segment's definition in words, for a wiki or a pull request."""
    segments = published.segments.sort_values("customer_count", ascending=False)
    horizon = published.models["horizon_months"].iloc[0] if not published.models.empty else 3
    changes = segment_changes(published)
    change_of = (
        {} if changes is None else dict(zip(changes["Segment"], changes["Change"], strict=True))
    )
    lines = [
        "# Customer segments",
        "",
        f"Published version `{published.version}`, customers scored as of "
        f"{_month(published.manifest.get('as_of_month'))}. Generated by `propensity report`; "
        "do not edit.",
        "",
    ]
    review = review_in_words(segments)
    if review:
        lines += [review, ""]
    for row in segments.itertuples(index=False):
        lines += [
            f"## {row.segment_name}",
            "",
            f"- **Segment id:** {int(row.segment_id)}",
            f"- **Size:** {int(row.customer_count):,} customers ({_percent(row.customer_share)})",
            f"- **Expected to leave within {horizon} months:** {_percent(row.expected_churn_rate)}",
            f"- **Observed churn:** {_percent(row.observed_churn_rate)} "
            f"({row.observed_churn_basis})",
            f"- **Rule:** {row.segment_rule} (picks {_percent(row.rule_coverage, 0)} of the "
            f"segment; {_percent(row.rule_precision, 0)} of those it picks are in it)",
            "- **Drivers:**",
            *[
                f"  - {line}"
                for line in _segment_drivers(published, int(row.segment_id))
                or ["not recorded in this version"]
            ],
            f"- **Since the last build:** {_change_in_words(changes, change_of, row)}",
            "",
        ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    return path


def write_reports(serving: Path, version: str | None = None) -> list[Path]:
    """Write both reports of a published version (default: CURRENT) into its reports/, with
    segment_profiles.md, the segments' definitions as text."""
    published = Published(Path(serving), version)
    folder = published.root / REPORTS_DIR
    written = [
        model_performance(published, folder / MODEL_REPORT),
        segment_summary(published, folder / SEGMENT_REPORT),
        segment_profiles_markdown(published, folder / SEGMENT_PROFILES),
    ]
    for path in written:
        log.info("report: %s (%d KB)", path, path.stat().st_size // 1024)
    return written
