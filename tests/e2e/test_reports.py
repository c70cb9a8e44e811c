"""The two PDF reports `propensity run` writes into the published version, read back as text.

pdftotext and pdfinfo (Debian's poppler-utils, `make pdf-tools`) extract what a reader sees:
the pages, the headings and the sentences that say what each figure shows.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from pipeline import cli
from serving.layout import POINTER_FILE, VERSIONS_DIR
from serving.reports import MODEL_REPORT, REPORTS_DIR, SEGMENT_REPORT

pytestmark = [
    pytest.mark.spark,
    pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils"),
]


def _reports(paths):
    version = (paths.serving / POINTER_FILE).read_text().strip()
    return paths.serving / VERSIONS_DIR / version / REPORTS_DIR


def _text(path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def _pages(path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    return int(next(line for line in info.stdout.splitlines() if line.startswith("Pages:"))[6:])


def test_the_model_performance_report_holds_every_section(pipeline_run):
    path = _reports(pipeline_run) / MODEL_REPORT
    text = " ".join(_text(path).split())
    assert _pages(path) >= 4
    for heading in (
        "Churn model performance",
        "1. Data window and coverage",
        "2. Out-of-time results per month",
        "3. Ranking curves",
        "4. Calibration",
        "5. Compared with simple baselines",
        "6. What drives the scores (SHAP)",
        "7. Champion and challenger history",
    ):
        assert heading in text, heading
    # the figures' sentences, the coverage reasons and the baselines by name
    for phrase in (
        "0.5 is a coin toss",
        "Contacting the riskiest 20% of customers reaches",
        "contract_ended",
        "RFM logistic regression",
        "Recency only",
        "Each dot is one of",
    ):
        assert phrase in text, phrase
    assert "trained before its curves were recorded" not in text


def test_the_segment_report_names_every_segment_with_its_rule(pipeline_run, spark):
    path = _reports(pipeline_run) / SEGMENT_REPORT
    text = " ".join(_text(path).split())
    assert _pages(path) >= 2
    for row in spark.table("analytics.churn_segment_profiles").collect():
        assert " ".join(row.segment_name.split()) in text
        assert "Rule: " in text and "of the customers it picks are in it" in text
    for heading in (
        "Segments at a glance",
        "Each dot is a sampled customer",
        "Changes since the",
        "Customers change segment only at a review",
    ):
        assert heading in text, heading
    assert "raises their risk" in text or "lowers their risk" in text


def test_propensity_report_rewrites_them_and_says_where(pipeline_run, capsys):
    folder = _reports(pipeline_run)
    before = (folder / MODEL_REPORT).stat().st_mtime_ns
    assert cli.main(["report"]) == 0
    printed = capsys.readouterr().out
    assert str(folder / MODEL_REPORT) in printed and str(folder / SEGMENT_REPORT) in printed
    assert (folder / MODEL_REPORT).stat().st_mtime_ns > before


def test_propensity_report_explains_an_unknown_version(pipeline_run, caplog):
    assert cli.main(["report", "--version", "no-such-version"]) == 2
    assert "no-such-version does not exist" in caplog.text
