"""Real-time scoring from a published version: the scoring model, its bands and segmenter.

``publish`` writes ``<version>/scoring/`` (the model that produced the published scores, the
risk bands' cut points, each feature's observed range) and the table ``segmenter`` (the fit
rows of churn_segmenter). This module turns them back into what scores one application's
customer exactly as the batch did: calibrated probability, risk band, exact SHAP drivers and
the segment of the same nearest-neighbour segmenter.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from serving.layout import SCORING_DIR, SCORING_FACTS_FILE, SCORING_MODEL_FILE


class NoScoringModelError(RuntimeError):
    """The published version carries no scoring model (published before real-time scoring)."""


@dataclass(frozen=True)
class FeatureRange:
    """What the API accepts for one feature: finite, inside a plausible range, and null only
    when the feature can be unknown in the data."""

    name: str
    lower: float
    upper: float
    nullable: bool

    @classmethod
    def from_observed(cls, name: str, low, high, nullable: bool) -> FeatureRange:
        """Plausible bounds from the range seen at the scored month: a feature never negative
        there must be >= 0; otherwise the range may stretch by its own width either way."""
        if low is None or high is None:  # never observed: only finiteness is checked
            return cls(name, -math.inf, math.inf, True)
        width = max(float(high) - float(low), 1.0)
        lower = 0.0 if float(low) >= 0 else float(low) - width
        return cls(name, lower, float(high) + width, bool(nullable))

    def problem(self, value) -> str | None:
        """Why ``value`` cannot be scored, or None."""
        if value is None:
            return (
                None
                if self.nullable
                else f"{self.name} is never unknown in the data: send a number"
            )
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"{self.name} must be a number or null"
        if not math.isfinite(value):
            return f"{self.name} must be a finite number"
        if not self.lower <= value <= self.upper:
            return (
                f"{self.name} = {value:g} is outside the plausible range "
                f"[{self.lower:g}, {self.upper:g}] (from the values seen when the model scored)"
            )
        return None


class RealtimeScorer:
    """Score feature rows with a published version's model, bands and segmenter."""

    def __init__(
        self,
        model,
        facts: dict,
        segmenter=None,
        segment_ids: dict[int, int] | None = None,
        segment_names: dict[int, str] | None = None,
        descriptions: dict[str, str] | None = None,
    ) -> None:
        self.model = model
        self.model_version = facts["model_version"]
        self.features = list(model.feature_names_)
        self.ranges = {
            f["name"]: FeatureRange.from_observed(
                f["name"], f["observed_min"], f["observed_max"], f["nullable"]
            )
            for f in facts["features"]
        }
        self.band_cuts = sorted(
            ((c["from_margin"], c["risk_band"]) for c in facts["risk_band_cuts"]), reverse=True
        )
        self.segmenter = segmenter
        self.segment_ids = segment_ids or {}
        self.segment_names = segment_names or {}
        self.descriptions = descriptions or {}

    @classmethod
    def from_version(
        cls, root: Path, segments: pd.DataFrame, features: pd.DataFrame
    ) -> RealtimeScorer:
        """Load a published version's scoring model, facts and segmenter."""
        from ml.scoring_model import ScoringModel
        from ml.segments import ShapSegmenter

        folder = root / SCORING_DIR
        if not (folder / SCORING_MODEL_FILE).is_file():
            raise NoScoringModelError(
                f"version {root.name} was published without a scoring model: run "
                "`propensity publish` again to score in real time"
            )
        model = ScoringModel.from_bytes((folder / SCORING_MODEL_FILE).read_bytes())
        facts = json.loads((folder / SCORING_FACTS_FILE).read_text())
        segmenter: ShapSegmenter | None = None
        ids: dict[int, int] = {}
        if (root / "segmenter").is_dir():
            import pyarrow.parquet as pq

            fit = pq.read_table(root / "segmenter").to_pandas()
            names = sorted(model.feature_names_)
            if len(fit) and set(fit["model_version"]) == {facts["model_version"]}:
                segmenter, ids, _ = ShapSegmenter.from_table(fit, names)
        names_by_id = (
            dict(zip(segments["segment_id"].astype(int), segments["segment_name"], strict=True))
            if not segments.empty
            else {}
        )
        descriptions = (
            dict(zip(features["feature_name"], features["feature_description"], strict=True))
            if not features.empty and "feature_description" in features
            else {}
        )
        scorer = cls(model, facts, segmenter, ids, names_by_id, descriptions)
        scorer.score([{name: None for name in scorer.features}])  # warm: SHAP tables built
        return scorer

    def problems(self, features: dict) -> list[tuple[str, str]]:
        """(feature, why) for each feature of one row that cannot be scored: missing,
        unknown, not a number, out of range, or null where the data never is."""
        found = []
        for name in self.features:
            if name not in features:
                found.append(
                    (name, f"{name} is missing: send every model feature (null if unknown)")
                )
                continue
            why = self.ranges[name].problem(features[name]) if name in self.ranges else None
            if why:
                found.append((name, why))
        for name in features:
            if name not in self.ranges and name not in self.features:
                found.append((name, f"{name} is not a feature of model {self.model_version}"))
        return found

    def band(self, margin: float) -> str:
        """The risk band of a margin, by the published population's cut points."""
        for cut, band in self.band_cuts:
            if margin >= cut:
                return band
        return "low"

    def score(self, rows: list[dict], top: int = 5) -> list[dict]:
        """Score validated feature rows (dicts by feature name, None for unknown)."""
        from ml.scoring_model import strongest_drivers

        frame = pd.DataFrame(
            [
                [np.nan if row.get(f) is None else float(row[f]) for f in self.features]
                for row in rows
            ],
            columns=self.features,
            dtype=float,
        )
        margin = self.model.predict_margin(frame)
        probability = self.model.calibrate(margin)
        values, _ = self.model.shap_values(frame)
        segments: list[int | None] = [None] * len(rows)
        if self.segmenter is not None:
            order = [self.features.index(name) for name in sorted(self.features)]
            labels, _ = self.segmenter.assign(values[:, order])
            segments = [self.segment_ids.get(int(label)) for label in labels]
        results = []
        for i in range(len(rows)):
            segment_id = segments[i]
            results.append(
                {
                    "churn_probability": float(probability[i]),
                    "churn_score_margin": float(margin[i]),
                    "risk_band": self.band(float(margin[i])),
                    "top_drivers": [
                        {
                            "feature": self.features[j],
                            "description": self.descriptions.get(
                                self.features[j], self.features[j]
                            ),
                            "feature_value": None
                            if np.isnan(frame.iat[i, j])
                            else float(frame.iat[i, j]),
                            "shap_value": float(values[i, j]),
                            "direction": direction,
                        }
                        for j, direction in strongest_drivers(values[i], top)
                    ],
                    "segment": None
                    if segment_id is None
                    else {"segment_id": segment_id, "name": self.segment_names.get(segment_id)},
                }
            )
        return results
