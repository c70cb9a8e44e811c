"""Schemathesis, every check, against the API over a real HTTP server with a real key and a
real customer id: it must find nothing (401 on unauthenticated calls included)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.publish import switch_current
from serving.api.security import add_key
from tests.e2e.conftest import free_port, serve
from tests.published import write_version

ST = Path(sys.executable).parent / "st"


@pytest.mark.skipif(not ST.exists(), reason="schemathesis is not installed (`make setup`)")
def test_schemathesis_finds_nothing(tmp_path):
    serving = tmp_path / "serving"
    write_version(serving, "v1", ["C0000001", "C 2/x", "C0000003"], scoring=True)
    switch_current(serving, "v1")
    key = add_key(tmp_path / "keys", "schemathesis")
    env = {
        **os.environ,
        "PROPENSITY_SERVING_DIR": str(serving),
        "PROPENSITY_API_KEYS_FILE": str(tmp_path / "keys"),
        "PROPENSITY_API_RATE_LIMIT": "100000/minute",
    }
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        "[[operations]]\n"
        'include-name = "GET /customers/{customer_id}"\n'
        'parameters = { "path.customer_id" = "C0000001" }\n'
    )
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "serving.api.main:app", "--port", str(port)]
    with serve(command, f"http://127.0.0.1:{port}/health", env) as url:
        run = subprocess.run(
            [str(ST), "--config-file", str(config), "run", url.replace("/health", "/openapi.json")]
            + ["--checks", "all", "--header", f"X-API-Key: {key}"]
            + ["--max-examples", "40", "--seed", "20261201", "--no-color"],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,
        )
    report = run.stdout + run.stderr
    assert run.returncode == 0, report[-6000:]
    assert "No issues found" in report, report[-6000:]
    assert "Warnings" not in report, report[-6000:]  # e.g. "only 401s": the key did not work
    shutil.rmtree(tmp_path / ".schemathesis", ignore_errors=True)
