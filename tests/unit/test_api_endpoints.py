"""Campaign lists, segments and the model card, through the app's routing (TestClient)."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient

from pipeline.publish import switch_current
from serving.api.config import Settings
from serving.api.main import create_app
from serving.api.security import add_key
from tests.published import write_version

CUSTOMERS = [f"C{i:03d}" for i in range(25)]


@pytest.fixture
def client(tmp_path):
    serving = tmp_path / "serving"
    write_version(serving, "v1", CUSTOMERS)
    switch_current(serving, "v1")
    key = add_key(tmp_path / "keys", "team")
    app = create_app(Settings(serving_dir=serving, api_keys_file=tmp_path / "keys"))
    with TestClient(app, headers={"X-API-Key": key}) as client:
        yield client


def test_campaign_list_pages_through_everyone_once_riskiest_first(client):
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 10} | ({"cursor": cursor} if cursor else {})
        body = client.get("/customers", params=params).json()
        assert body["total"] == len(CUSTOMERS)
        seen += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert [item["customer_id"] for item in seen] == CUSTOMERS  # the fixture's score order
    scores = [item["churn_probability"] for item in seen]
    assert scores == sorted(scores, reverse=True)


def test_campaign_list_filters(client):
    body = client.get("/customers", params={"min_score": 0.87, "risk_band": "high"}).json()
    assert body["total"] == len(body["items"]) > 0
    assert all(item["churn_probability"] >= 0.87 for item in body["items"])
    assert client.get("/customers", params={"segment_id": 1}).json()["total"] == 0
    assert client.get("/customers", params={"risk_band": "extreme"}).status_code == 422
    assert client.get("/customers", params={"limit": 100_000}).status_code == 422
    assert client.get("/customers", params={"cursor": "not-a-cursor"}).status_code == 422


def test_campaign_list_downloads_as_csv(client):
    response = client.get("/customers", params={"format": "csv", "min_score": 0.85})
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    expected = client.get("/customers", params={"min_score": 0.85, "limit": 1000}).json()
    assert [row["customer_id"] for row in rows] == [i["customer_id"] for i in expected["items"]]


def test_segments_list_and_one_segment(client):
    segments = client.get("/segments").json()
    assert [s["segment_id"] for s in segments] == [0, 1]
    assert segments[0]["top_drivers"] == [
        "Days since the last transaction",
        "Transactions, 3-month mean",
    ]
    one = client.get("/segments/0").json()
    assert one["customer_count"] == len(CUSTOMERS)
    assert one["held_customer_count"] == 2 and one["next_review_month"] == "2026-12-01"
    missing = client.get("/segments/7")
    assert missing.status_code == 404 and "segments: 0, 1" in missing.json()["detail"]


def test_model_card_names_months_metrics_baselines_and_features(client):
    card = client.get("/model").json()
    assert card["model_version"] == "m1"
    assert card["train_end_month"] == "2026-01-01"
    assert [m["as_of_month"] for m in card["validation_by_month"]] == ["2026-04-01", "2026-05-01"]
    assert card["baselines"] == {"recency_roc_auc": 0.6, "rfm_roc_auc": 0.65}
    assert card["calibration"]["expected_calibration_error"] == 0.02
    assert [f["name"] for f in card["features"]] == ["days_since_last_transaction"]
    assert card["trained_at"].endswith(("Z", "+00:00"))


@pytest.mark.parametrize("path", ["/customers", "/segments", "/segments/0", "/model"])
def test_every_new_endpoint_needs_a_key(client, path):
    assert client.get(path, headers={"X-API-Key": ""}).status_code == 401
