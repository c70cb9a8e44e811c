"""The dashboard in a real browser: Debian's Chromium renders the Streamlit app."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from pipeline.config import PROJECT_DIR
from tests.e2e.conftest import free_port, serve

pytestmark = [pytest.mark.spark, pytest.mark.e2e]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def dashboard_url(pipeline_run):
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    env = {**os.environ, "PROPENSITY_SERVING_DIR": str(pipeline_run.serving)}
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(PROJECT_DIR / "serving" / "dashboard" / "app.py"),
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        # a viewer's toolbar: no "Deploy" button or developer options for business users
        "--client.toolbarMode",
        "viewer",
    ]
    with serve(command, f"http://127.0.0.1:{port}/_stcore/health", env):
        yield f"http://127.0.0.1:{port}"


def rendered_dom(url: str) -> str:
    """The page's DOM after Chromium has run its scripts (headless, no network beyond localhost)."""
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--virtual-time-budget=30000",
                "--dump-dom",
                url,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    return result.stdout


def test_overview_renders_scores_and_the_four_pages(spark, dashboard_url):
    dom = ""
    for _ in range(3):  # the first load of a cold server can still show the skeleton
        dom = rendered_dom(dashboard_url)
        if "Churn risk overview" in dom:
            break
    assert "Churn risk overview" in dom
    scored = spark.sql("select count(*) from analytics.churn_scores").first()[0]
    assert f"{scored:,}" in dom, "the customers-scored metric"
    for page in ("Overview", "Segments", "Customer lookup", "Model"):
        assert f">{page}<" in dom, f"navigation entry {page}"
    assert ">app<" not in dom, "Streamlit auto-discovered a pages/ folder"
    assert "stAppDeployButton" not in dom, "no Deploy button for business users"
