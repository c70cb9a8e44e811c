"""The API before anything is published: up, but says what to run."""

from fastapi.testclient import TestClient

from serving.api.config import Settings
from serving.api.main import create_app
from serving.api.security import add_key


def test_health_and_lookups_explain_that_nothing_is_published(tmp_path):
    key = add_key(tmp_path / "keys", "team")
    app = create_app(Settings(serving_dir=tmp_path, api_keys_file=tmp_path / "keys"))
    with TestClient(app, headers={"X-API-Key": key}) as client:
        health = client.get("/health")
        assert health.status_code == 503
        assert health.json()["status"] == "unavailable"
        assert "propensity run" in health.json()["detail"]
        lookup = client.get("/customers/C0000001")
        assert lookup.status_code == 503
        assert "propensity run" in lookup.json()["detail"]


def test_openapi_documents_the_errors_a_caller_can_cause(tmp_path):
    with TestClient(create_app(Settings(serving_dir=tmp_path))) as client:
        responses = client.get("/openapi.json").json()["paths"]["/customers/{customer_id}"]["get"][
            "responses"
        ]
    assert {"200", "401", "404", "422", "429", "503"} <= set(responses)
