"""API keys, rate limits and safe edges, through the app's real routing (TestClient)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from pipeline.publish import switch_current
from serving.api.config import Settings
from serving.api.main import create_app
from serving.api.security import add_key, hash_key, read_keys_file, revoke_key
from tests.published import write_version


@pytest.fixture
def published(tmp_path):
    serving = tmp_path / "serving"
    write_version(serving, "v1", ["C1", "C 2/x", "C3"])
    switch_current(serving, "v1")
    return serving


def _client(tmp_path, serving, **settings) -> tuple[TestClient, str]:
    keys_file = tmp_path / "api_keys"
    key = add_key(keys_file, f"team-{len(settings)}")
    app = create_app(Settings(serving_dir=serving, api_keys_file=keys_file, **settings))
    return TestClient(app), key


def test_health_is_open_and_everything_else_needs_a_key(tmp_path, published):
    client, key = _client(tmp_path, published)
    with client:
        assert client.get("/health").status_code == 200
        missing = client.get("/customers/C1")
        assert missing.status_code == 401
        assert "Authorization: Bearer" in missing.json()["detail"]
        assert missing.headers["www-authenticate"] == "Bearer"
        wrong = client.get("/customers/C1", headers={"X-API-Key": "cp_wrong"})
        assert wrong.status_code == 401 and "not valid" in wrong.json()["detail"]
        assert client.get("/customers/C1", headers={"X-API-Key": key}).status_code == 200
        bearer = client.get("/customers/C1", headers={"Authorization": f"Bearer {key}"})
        assert bearer.status_code == 200


def test_keys_rotate_without_a_restart(tmp_path, published):
    client, old = _client(tmp_path, published)
    with client:
        new = add_key(tmp_path / "api_keys", "team-rotated")
        assert client.get("/customers/C1", headers={"X-API-Key": new}).status_code == 200
        assert revoke_key(tmp_path / "api_keys", "team-0")
        assert client.get("/customers/C1", headers={"X-API-Key": old}).status_code == 401
    stored = (tmp_path / "api_keys").read_text()
    assert old not in stored and new not in stored  # only hashes are kept
    assert [e.key_hash for e in read_keys_file(tmp_path / "api_keys")] == [hash_key(new)]


def test_no_keys_configured_says_how_to_make_one(tmp_path, published):
    app = create_app(Settings(serving_dir=published, api_keys_file=tmp_path / "none"))
    with TestClient(app) as client:
        response = client.get("/customers/C1", headers={"X-API-Key": "cp_anything"})
    assert response.status_code == 401
    assert "propensity api-key new" in response.json()["detail"]


def test_a_bad_key_hash_setting_names_the_setting(tmp_path, published):
    with pytest.raises(ValueError, match="PROPENSITY_API_KEY_HASHES"):
        create_app(Settings(serving_dir=published, api_key_hashes=["md5:abc"]))


def test_rate_limit_per_key_answers_429_with_retry_after(tmp_path, published):
    client, key = _client(tmp_path, published, api_rate_limit="3/minute")
    with client:
        codes = [
            client.get("/customers/C1", headers={"X-API-Key": key}).status_code for _ in range(4)
        ]
        assert codes == [200, 200, 200, 429]
        limited = client.get("/customers/C1", headers={"X-API-Key": key})
        assert int(limited.headers["retry-after"]) >= 1
        assert client.get("/health").status_code == 200  # health is not limited


def test_error_bodies_repeat_only_a_short_prefix_of_the_input(tmp_path, published):
    client, key = _client(tmp_path, published)
    with client:
        response = client.get("/customers/" + "x" * 60_000, headers={"X-API-Key": key})
    assert response.status_code == 422
    assert len(response.content) < 1_000


def test_any_ingestable_id_is_reachable_url_encoded(tmp_path, published):
    client, key = _client(tmp_path, published)
    with client:
        response = client.get("/customers/C%202%2Fx", headers={"X-API-Key": key})
    assert response.status_code == 200
    assert response.json()["customer_id"] == "C 2/x"


def test_timestamps_carry_a_timezone(tmp_path, published):
    client, key = _client(tmp_path, published)
    with client:
        body = client.get("/customers/C1", headers={"X-API-Key": key}).json()
        health = client.get("/health").json()
    assert body["scored_at"].endswith(("Z", "+00:00"))
    assert health["published_at"].endswith(("Z", "+00:00"))


def test_redirects_never_take_their_host_from_the_request(tmp_path, published):
    client, _ = _client(tmp_path, published)
    with client:
        root = client.get("/", headers={"Host": "evil.example"}, follow_redirects=False)
        slash = client.get("/health/", headers={"Host": "evil.example"}, follow_redirects=False)
    assert root.status_code == 307 and root.headers["location"] == "/docs"
    assert "evil.example" not in slash.headers.get("location", "")


def test_trusted_hosts_and_cors_are_settings(tmp_path, published):
    client, _ = _client(
        tmp_path,
        published,
        api_trusted_hosts=["api.example.com"],
        api_cors_origins=["https://app.example.com"],
    )
    with client:
        assert client.get("/health", headers={"Host": "evil.example"}).status_code == 400
        allowed = client.get(
            "/health",
            headers={"Host": "api.example.com", "Origin": "https://app.example.com"},
        )
        assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
        other = client.get(
            "/health", headers={"Host": "api.example.com", "Origin": "https://evil.example"}
        )
        assert "access-control-allow-origin" not in other.headers


def test_docs_work_offline(tmp_path, published):
    client, _ = _client(tmp_path, published)
    with client:
        docs = client.get("/docs").text
        assert "cdn.jsdelivr.net" not in docs and "unpkg.com" not in docs
        assert client.get("/static-offline-docs/swagger-ui-bundle.js").status_code == 200
        assert client.get("/redoc").status_code == 200
        schemes = client.get("/openapi.json").json()["components"]["securitySchemes"]
    assert {"HTTPBearer", "APIKeyHeader"} <= set(schemes)
