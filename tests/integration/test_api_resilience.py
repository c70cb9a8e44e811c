"""The API over a real HTTP server (uvicorn in its own process) when CURRENT goes bad: it
keeps serving the last good version, /health says degraded and why, and never a 500."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from pipeline.publish import switch_current
from serving.api.security import add_key
from tests.e2e.conftest import free_port, serve
from tests.published import write_version


def _env(serving) -> dict:
    keys_file = serving / "keys"
    key = add_key(keys_file, "test")
    return {
        **os.environ,
        "PROPENSITY_SERVING_DIR": str(serving),
        "PROPENSITY_API_KEYS_FILE": str(keys_file),
        "TEST_KEY": key,
    }


@contextmanager
def _api(serving, ready: str = "/health") -> Iterator[httpx.Client]:
    env = _env(serving)
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "serving.api.main:app", "--port", str(port)]
    with serve(command, f"http://127.0.0.1:{port}{ready}", env) as url:
        base = url.removesuffix(ready)
        with httpx.Client(base_url=base, headers={"X-API-Key": env["TEST_KEY"]}) as client:
            yield client


def test_a_broken_current_keeps_serving_the_last_good_version(tmp_path):
    write_version(tmp_path, "v1", ["C1", "C2"])
    switch_current(tmp_path, "v1")
    with _api(tmp_path) as api:
        assert api.get("/health").json()["status"] == "ok"

        switch_current(tmp_path, "v2-missing")
        health = api.get("/health")
        assert health.status_code == 200
        assert health.json()["status"] == "degraded"
        assert "'v2-missing'" in health.json()["detail"]
        assert "serving v1" in health.json()["detail"]
        assert health.json()["published_version"] == "v1"
        assert api.get("/customers/C2").status_code == 200

        root = write_version(tmp_path, "v3", ["C1", "C2", "C3"])
        (root / "manifest.json").unlink()  # CURRENT switched before the manifest was written
        switch_current(tmp_path, "v3")
        assert api.get("/health").json()["status"] == "degraded"
        assert api.get("/customers/C3").status_code == 404  # still v1

        write_version(tmp_path, "v4", ["C1", "C2", "C3"])
        switch_current(tmp_path, "v4")
        assert api.get("/health").json()["status"] == "ok"
        assert api.get("/customers/C3").status_code == 200


def test_starting_against_a_broken_pointer_serves_the_newest_complete_version(tmp_path):
    write_version(tmp_path, "v1", ["C1"])
    write_version(tmp_path, "v2", ["C1", "C2"])
    shutil.rmtree(write_version(tmp_path, "v3") / "customers")
    switch_current(tmp_path, "v3")
    with _api(tmp_path) as api:
        body = api.get("/health").json()
        assert body["status"] == "degraded"
        assert body["published_version"] == "v2"
        assert "table customers is missing" in body["detail"]
        assert api.get("/customers/C2").json()["customer_id"] == "C2"


def test_nothing_complete_is_a_503_with_the_reason_not_a_500(tmp_path):
    (write_version(tmp_path, "v1") / "manifest.json").write_text("{not json")
    switch_current(tmp_path, "v1")
    with _api(tmp_path, ready="/openapi.json") as api:
        health = api.get("/health")
        assert health.status_code == 503
        assert "manifest.json cannot be read" in health.json()["detail"]
        assert api.get("/customers/C1").status_code == 503
