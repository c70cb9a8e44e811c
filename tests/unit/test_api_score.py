"""POST /score: the published model scores an application's customers as the batch did."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from ml.scoring_model import ScoringModel
from pipeline.publish import switch_current
from serving.api.config import Settings
from serving.api.main import create_app
from serving.api.security import add_key
from serving.layout import SCORING_DIR, SCORING_MODEL_FILE, VERSIONS_DIR
from tests.published import SCORING_FEATURES, scoring_rows, write_version


@pytest.fixture
def served(tmp_path):
    serving = tmp_path / "serving"
    root = write_version(serving, "v1", ["C1", "C2"], scoring=True)
    switch_current(serving, "v1")
    key = add_key(tmp_path / "keys", "team")
    app = create_app(Settings(serving_dir=serving, api_keys_file=tmp_path / "keys"))
    with TestClient(app, headers={"X-API-Key": key}) as client:
        yield client, root


def _rows(n: int, seed: int) -> list[dict]:
    frame, _ = scoring_rows(n, seed)
    return [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        for row in frame.to_dict("records")
    ]


def test_a_batch_is_scored_exactly_as_the_published_model_scores(served):
    client, root = served
    rows = _rows(40, seed=3)
    response = client.post(
        "/score",
        json={"customers": [{"reference": f"A{i}", "features": r} for i, r in enumerate(rows)]},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_version"] == "m1" and body["published_version"] == "v1"
    model = ScoringModel.from_bytes((root / SCORING_DIR / SCORING_MODEL_FILE).read_bytes())
    frame = pd.DataFrame(rows, columns=SCORING_FEATURES, dtype=float)
    expected = model.predict_proba(frame)
    values, base = model.shap_values(frame)
    results = body["results"]
    assert [r["reference"] for r in results] == [f"A{i}" for i in range(40)]
    assert np.allclose([r["churn_probability"] for r in results], expected, atol=1e-9)
    facts = json.loads((root / SCORING_DIR / "scoring.json").read_text())
    cuts = [(c["from_margin"], c["risk_band"]) for c in facts["risk_band_cuts"]]
    for result, row_values, row_base in zip(results, values, base, strict=True):
        margin = result["churn_score_margin"]
        assert result["risk_band"] == next((b for m, b in cuts if margin >= m), "low")
        drivers = result["top_drivers"]
        assert drivers, "every row has drivers"
        # exact: the strongest driver is the largest |SHAP| and its sign gives the direction
        strongest = int(np.argmax(np.abs(row_values)))
        assert drivers[0]["feature"] == SCORING_FEATURES[strongest]
        assert drivers[0]["shap_value"] == pytest.approx(row_values[strongest], abs=1e-6)
        assert drivers[0]["direction"] == (
            "raises churn risk" if row_values[strongest] > 0 else "lowers churn risk"
        )
        assert row_base + row_values.sum() == pytest.approx(result["churn_score_margin"], abs=1e-4)
        assert result["segment"] is not None and result["segment"]["segment_id"] >= 0


def test_the_segment_is_the_published_segmenters(served):
    """Rows of the segmenter's own fit sample get the segments it fitted them to."""
    client, root = served
    import pyarrow.parquet as pq

    fit = pq.read_table(root / "segmenter").to_pandas()
    clustered = fit[fit["fit_label"] >= 0].head(20)
    frame, _ = scoring_rows(400)  # the rows write_scoring fitted on, in the same order
    rows = frame.iloc[clustered.index]
    payload = [
        {"features": {k: (None if pd.isna(v) else v) for k, v in r.items()}}
        for r in rows.to_dict("records")
    ]
    results = client.post("/score", json={"customers": payload}).json()["results"]
    assigned = [r["segment"]["segment_id"] for r in results]
    agree = np.mean(np.array(assigned) == clustered["segment_id"].to_numpy())
    assert agree >= 0.9  # k-NN with k=5 on the fit rows: a row's own segment, bar borders


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        (lambda f: f.pop("transaction_count"), "transaction_count", "missing"),
        (lambda f: f.update(transaction_count=-3), "transaction_count", "plausible range"),
        (
            lambda f: f.update(days_since_last_transaction=1e9),
            "days_since_last_transaction",
            "plausible range",
        ),
        (lambda f: f.update(transaction_count=None), "transaction_count", "never unknown"),
        (lambda f: f.update(tenure_in_dog_years=3), "tenure_in_dog_years", "not a feature"),
    ],
)
def test_a_bad_feature_is_a_422_that_names_it(served, change, field, says):
    client, _ = served
    features = _rows(1, seed=5)[0]
    change(features)
    response = client.post("/score", json={"customers": [{"features": features}]})
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail[0]["loc"] == ["body", "customers", 0, "features", field]
    assert says in detail[0]["msg"]


def test_null_is_accepted_where_the_data_has_unknowns(served):
    client, _ = served
    features = _rows(1, seed=6)[0] | {"balance_trend": None}
    response = client.post("/score", json={"customers": [{"features": features}]})
    assert response.status_code == 200, response.text
    drivers = response.json()["results"][0]["top_drivers"]
    assert all(d["feature_value"] is None for d in drivers if d["feature"] == "balance_trend")


def test_batches_are_bounded_and_need_a_key(served):
    client, _ = served
    row = {"features": _rows(1, seed=7)[0]}
    assert client.post("/score", json={"customers": []}).status_code == 422
    assert client.post("/score", json={"customers": [row] * 501}).status_code == 422
    anonymous = client.post("/score", json={"customers": [row]}, headers={"X-API-Key": ""})
    assert anonymous.status_code == 401


def test_the_live_schema_lists_the_models_features_with_their_ranges(served):
    client, _ = served
    schema = client.get("/openapi.json").json()
    features = schema["components"]["schemas"]["ScoreInput"]["properties"]["features"]
    assert features["required"] == SCORING_FEATURES
    assert features["additionalProperties"] is False
    assert features["properties"]["transaction_count"]["minimum"] == 0
    assert "anyOf" in features["properties"]["balance_trend"]  # null allowed


def test_a_version_without_a_model_says_how_to_get_one(tmp_path):
    serving = tmp_path / "serving"
    write_version(serving, "v1", ["C1"])
    switch_current(serving, "v1")
    key = add_key(tmp_path / "keys", "team")
    app = create_app(Settings(serving_dir=serving, api_keys_file=tmp_path / "keys"))
    with TestClient(app, headers={"X-API-Key": key}) as client:
        response = client.post("/score", json={"customers": [{"features": {"x": 1}}]})
    assert response.status_code == 503
    assert "propensity publish" in response.json()["detail"]
    assert not (serving / VERSIONS_DIR / "v1" / SCORING_DIR).exists()
