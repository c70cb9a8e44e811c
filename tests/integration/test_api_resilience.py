"""The API over a real HTTP server (uvicorn in its own process) when CURRENT goes bad: it
keeps serving the last good version, /health says degraded and why, and never a 500."""

from __future__ import annotations

import os
import shutil
import sys

import httpx

from pipeline.publish import switch_current
from tests.e2e.conftest import free_port, serve
from tests.published import write_version


def _api(serving):
    env = {**os.environ, "PROPENSITY_SERVING_DIR": str(serving)}
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "serving.api.main:app", "--port", str(port)]
    return serve(command, f"http://127.0.0.1:{port}/health", env)


def test_a_broken_current_keeps_serving_the_last_good_version(tmp_path):
    write_version(tmp_path, "v1", ["C1", "C2"])
    switch_current(tmp_path, "v1")
    with _api(tmp_path) as health_url:
        base = health_url.removesuffix("/health")
        assert httpx.get(health_url).json()["status"] == "ok"

        switch_current(tmp_path, "v2-missing")
        health = httpx.get(health_url)
        assert health.status_code == 200
        assert health.json()["status"] == "degraded"
        assert "'v2-missing'" in health.json()["detail"]
        assert "serving v1" in health.json()["detail"]
        assert health.json()["published_version"] == "v1"
        assert httpx.get(f"{base}/customers/C2").status_code == 200

        root = write_version(tmp_path, "v3", ["C1", "C2", "C3"])
        (root / "manifest.json").unlink()  # CURRENT switched before the manifest was written
        switch_current(tmp_path, "v3")
        assert httpx.get(health_url).json()["status"] == "degraded"
        assert httpx.get(f"{base}/customers/C3").status_code == 404  # still v1

        write_version(tmp_path, "v4", ["C1", "C2", "C3"])
        switch_current(tmp_path, "v4")
        assert httpx.get(health_url).json()["status"] == "ok"
        assert httpx.get(f"{base}/customers/C3").status_code == 200


def test_starting_against_a_broken_pointer_serves_the_newest_complete_version(tmp_path):
    write_version(tmp_path, "v1", ["C1"])
    write_version(tmp_path, "v2", ["C1", "C2"])
    shutil.rmtree(write_version(tmp_path, "v3") / "customers")
    switch_current(tmp_path, "v3")
    with _api(tmp_path) as health_url:
        body = httpx.get(health_url).json()
        assert body["status"] == "degraded"
        assert body["published_version"] == "v2"
        assert "table customers is missing" in body["detail"]
        base = health_url.removesuffix("/health")
        assert httpx.get(f"{base}/customers/C2").json()["customer_id"] == "C2"


def test_nothing_complete_is_a_503_with_the_reason_not_a_500(tmp_path):
    (write_version(tmp_path, "v1") / "manifest.json").write_text("{not json")
    switch_current(tmp_path, "v1")
    port = free_port()
    env = {**os.environ, "PROPENSITY_SERVING_DIR": str(tmp_path)}
    command = [sys.executable, "-m", "uvicorn", "serving.api.main:app", "--port", str(port)]
    with serve(command, f"http://127.0.0.1:{port}/openapi.json", env) as url:
        base = url.removesuffix("/openapi.json")
        health = httpx.get(f"{base}/health")
        assert health.status_code == 503
        assert "manifest.json cannot be read" in health.json()["detail"]
        assert httpx.get(f"{base}/customers/C1").status_code == 503
