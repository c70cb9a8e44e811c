"""The SageMaker container contract, run for real: `train` as a subprocess on an /opt/ml-shaped
tree, then `serve` over HTTP; its predictions equal the local model's on the same rows."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from ml.scoring_model import artifact_from_bytes
from ml.training import TrainingSettings, train_churn_model
from tests.unit.test_training import FEATURES, churn_frame

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "ml" / "sagemaker" / "Dockerfile"
ENTRYPOINT = ["python", "-m", "ml.sagemaker"]  # what the Dockerfile must say
HYPERPARAMETERS = {"max_candidates": "2", "max_rounds": "200", "early_stopping_rounds": "10"}
SETTINGS = TrainingSettings(max_candidates=2, max_rounds=200, early_stopping_rounds=10)


def _command(action: str) -> list[str]:
    return [sys.executable, *ENTRYPOINT[1:], action]


def _env(base: Path, **extra: str) -> dict:
    return {**os.environ, "SAGEMAKER_BASE_DIR": str(base), "PYTHONPATH": str(ROOT), **extra}


def _lay_out(base: Path, frame: pd.DataFrame) -> None:
    """The tree SageMaker mounts: train as Parquet (with schema.json), validation as CSV."""
    train = base / "input" / "data" / "train"
    valid = base / "input" / "data" / "validation"
    config = base / "input" / "config"
    for folder in (train, valid, config):
        folder.mkdir(parents=True)
    frame[frame.dataset_split != "validation"].to_parquet(train / "part-0.parquet")
    frame[frame.dataset_split == "validation"].drop(columns="dataset_split").to_csv(
        valid / "part-0.csv", index=False
    )
    (train / "schema.json").write_text(
        json.dumps({"features": FEATURES, "churn_definition": "test", "horizon_months": 1})
    )
    (config / "hyperparameters.json").write_text(json.dumps(HYPERPARAMETERS))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    base = tmp_path_factory.mktemp("opt_ml")
    frame = churn_frame()
    _lay_out(base, frame)
    done = subprocess.run(
        _command("train"), env=_env(base), cwd=base, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return base, frame, done.stdout


@pytest.fixture(scope="module")
def local_model():
    """The same method run locally, as churn_model_registry runs it."""
    result = train_churn_model(churn_frame(), FEATURES, SETTINGS)
    return result.models["xgboost"]


@pytest.fixture(scope="module")
def server(trained):
    base, _, _ = trained
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = _env(base, SAGEMAKER_BIND_TO_PORT=str(port), SAGEMAKER_BIND_TO_HOST="127.0.0.1")
    process = subprocess.Popen(
        _command("serve"), env=env, cwd=base, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if client.get("/ping").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.stdout.read().decode()[-3000:]
            assert time.monotonic() < deadline, "serve did not answer /ping in 120 s"
            time.sleep(0.5)
        yield client
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=30)


def test_train_writes_the_artifact_metrics_and_per_metric_lines(trained):
    base, _, stdout = trained
    assert (base / "model" / "model.bin").is_file()
    metadata = json.loads((base / "model" / "metadata.json").read_text())
    assert metadata["features"] == FEATURES and metadata["scoring_algorithm"] == "xgboost"
    assert metadata["months"]["validation"] == ["2025-07-01", "2025-09-01"]
    assert [r["name"] for r in metadata["feature_ranges"]] == FEATURES
    metrics = json.loads((base / "output" / "data" / "metrics.json").read_text())
    assert len(metrics["validation_metrics_by_month"]) == 3
    assert metrics["metrics"]["model"]["roc_auc"] > metrics["metrics"]["rfm"]["roc_auc"]
    assert re.search(r"^validation_model_roc_auc=0\.\d+$", stdout, re.M)
    assert not (base / "output" / "failure").exists()


def test_the_container_trains_the_same_model_as_the_local_run(trained, local_model):
    base, frame, _ = trained
    shipped = artifact_from_bytes((base / "model" / "model.bin").read_bytes())["xgboost"]
    rows = frame[FEATURES].head(500)
    np.testing.assert_allclose(
        shipped.predict_proba(rows), local_model.predict_proba(rows), rtol=0, atol=1e-6
    )


def test_invocations_in_csv_and_json_match_local_scoring(server, trained, local_model):
    _, frame, _ = trained
    rows = frame[FEATURES].head(50)
    expected = local_model.predict_proba(rows)
    margin = local_model.predict_margin(rows)
    csv_body = rows.to_csv(index=False, header=False, na_rep="")
    with_header = rows.to_csv(index=False, na_rep="")
    instances = [
        {k: (None if pd.isna(v) else v) for k, v in r.items()} for r in rows.to_dict("records")
    ]
    answers = [
        server.post("/invocations", content=csv_body, headers={"Content-Type": "text/csv"}),
        server.post("/invocations", content=with_header, headers={"Content-Type": "text/csv"}),
        server.post("/invocations", json={"instances": instances}),
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.text[:500]
        predictions = answer.json()["predictions"]
        np.testing.assert_allclose(
            [p["churn_probability"] for p in predictions], expected, rtol=0, atol=1e-6
        )
        np.testing.assert_allclose(
            [p["churn_score_margin"] for p in predictions], margin, rtol=0, atol=1e-6
        )
        top = predictions[0]["top_drivers"][0]
        assert top["feature"] in FEATURES and top["direction"].endswith("churn risk")


def test_batch_transform_lines_come_back_one_per_row(server, trained, local_model):
    """Batch transform splits CSV by line and assembles answers by line (jsonlines)."""
    _, frame, _ = trained
    rows = frame[FEATURES].iloc[100:110]
    answer = server.post(
        "/invocations",
        content=rows.to_csv(index=False, header=False, na_rep=""),
        headers={"Content-Type": "text/csv", "Accept": "application/jsonlines"},
    )
    assert answer.status_code == 200
    lines = [json.loads(line) for line in answer.text.splitlines()]
    np.testing.assert_allclose(
        [x["churn_probability"] for x in lines], local_model.predict_proba(rows), atol=1e-6
    )
    as_csv = server.post(
        "/invocations",
        content=rows.to_csv(index=False, header=False, na_rep=""),
        headers={"Content-Type": "text/csv", "Accept": "text/csv"},
    )
    assert len(as_csv.text.splitlines()) == 10


@pytest.mark.parametrize(
    ("body", "content_type", "row", "field"),
    [
        ("40,5,20,300,1\n40,5,abc,300,1\n", "text/csv", 1, "transaction_amount_mean_to_date"),
        ("40,5,20,300\n", "text/csv", 0, None),
        ("40,5,20,inf,1\n", "text/csv", 0, "days_since_first_transaction"),
        ('{"instances": [{"complaints": 1}]}', "application/json", 0, FEATURES[0]),
        ('{"instances": [[1, 2, 3, 4, 1e12]]}', "application/json", 0, "complaints"),
    ],
)
def test_a_bad_row_is_a_4xx_naming_the_row_and_field(server, body, content_type, row, field):
    answer = server.post("/invocations", content=body, headers={"Content-Type": content_type})
    assert answer.status_code == 400, answer.text
    problem = answer.json()
    assert problem["row"] == row and problem["field"] == field
    assert f"row {row}" in problem["error"]


def test_a_failed_training_job_writes_its_reason_and_exits_non_zero(tmp_path):
    frame = churn_frame(customers=60)
    _lay_out(tmp_path, frame)
    (tmp_path / "input" / "data" / "validation" / "part-0.csv").unlink()
    done = subprocess.run(
        _command("train"), env=_env(tmp_path), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 1
    reason = (tmp_path / "output" / "failure").read_text()
    assert "channel 'validation'" in reason and "no .parquet or .csv" in reason


def test_the_dockerfile_runs_exactly_these_entry_points():
    text = DOCKERFILE.read_text()
    entrypoint = re.search(r"^ENTRYPOINT\s+(\[.*\])\s*$", text, re.M)
    assert entrypoint, "the Dockerfile needs an exec-form ENTRYPOINT"
    assert json.loads(entrypoint.group(1)) == ENTRYPOINT
    command = re.search(r"^CMD\s+(\[.*\])\s*$", text, re.M)
    assert command and json.loads(command.group(1)) in (["serve"], ["train"])
    # the image installs the project itself (its ml package), nothing copied by hand
    assert re.search(r"pip install[^\n]*\s\.(\[[a-z,]*\])?\s*$", text, re.M)
