"""The SageMaker container contract: `train` and `serve`, with the project's own ML code.

SageMaker runs the image as ``<image> train`` for a training job and ``<image> serve`` for an
endpoint or a batch transform (the Dockerfile's ENTRYPOINT is ``python -m ml.sagemaker``).

train
    Reads the channels ``train`` and ``validation`` (Parquet or CSV files, as written by
    ``propensity sagemaker train``; ``train`` also holds ``schema.json``: the features, the
    churn definition and the horizon) and ``hyperparameters.json``, trains with
    ``ml.training.train_churn_model`` (the search with early stopping, the baselines, the
    calibration: what ``churn_model_registry`` runs locally), and writes the artifact
    (``model.bin`` + ``metadata.json``, the model store's layout) to the model folder, which
    SageMaker packs into ``model.tar.gz``. Metrics go to ``output/data/metrics.json``; on
    failure the reason goes to ``output/failure`` and the exit status is 1.

serve
    HTTP on port 8080 (``SAGEMAKER_BIND_TO_PORT``): ``GET /ping`` and ``POST /invocations``.
    Rows of features come as ``text/csv`` (the model's feature order, or a header naming the
    features; an empty field is unknown) or ``application/json`` (``{"instances": [...]}`` of
    objects by feature name or lists in feature order). Each row gets the calibrated
    probability, the margin and the strongest exact SHAP drivers, as ``application/json``,
    ``application/jsonlines`` (one line per row, for batch transform) or ``text/csv``. A bad
    row is a 400 that names the row and the field.

Paths follow SageMaker's layout under ``SAGEMAKER_BASE_DIR`` (default ``/opt/ml``); the
``SM_*`` variables (``SM_MODEL_DIR``, ``SM_CHANNEL_<NAME>``, ``SM_OUTPUT_DATA_DIR``,
``SM_OUTPUT_DIR``, ``SM_INPUT_CONFIG_DIR``) override each one.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

log = logging.getLogger("ml.sagemaker")

SCHEMA_FILE = "schema.json"
METRICS_FILE = "metrics.json"
FAILURE_FILE = "failure"
DEFAULT_PORT = 8080
MAX_ROWS = 10_000  # rows in one /invocations request
TOP_DRIVERS = 5
# hyperparameters.json values are strings: how each TrainingSettings field is read
HYPERPARAMETERS = {
    "min_positives": int,
    "max_candidates": int,
    "search_budget_seconds": float,
    "early_stopping_rounds": int,
    "max_rounds": int,
    "calibration_folds": int,
    "random_state": int,
}


class ContractError(ValueError):
    """The job's input breaks the container contract; the message says what to fix."""


@dataclass(frozen=True)
class ContainerPaths:
    """Where SageMaker puts a job's inputs and collects its outputs."""

    base: Path
    model: Path
    config: Path
    output: Path
    output_data: Path
    channels: dict[str, str] = field(default_factory=dict)  # SM_CHANNEL_<NAME> overrides

    @classmethod
    def from_env(cls, env: dict | None = None) -> ContainerPaths:
        """SageMaker's layout under SAGEMAKER_BASE_DIR, each part overridable by SM_*."""
        env = dict(os.environ if env is None else env)
        base = Path(env.get("SAGEMAKER_BASE_DIR", "/opt/ml"))
        output = Path(env.get("SM_OUTPUT_DIR", base / "output"))
        return cls(
            base=base,
            model=Path(env.get("SM_MODEL_DIR", base / "model")),
            config=Path(env.get("SM_INPUT_CONFIG_DIR", base / "input" / "config")),
            output=output,
            output_data=Path(env.get("SM_OUTPUT_DATA_DIR", output / "data")),
            channels={
                k.removeprefix("SM_CHANNEL_").lower(): v
                for k, v in env.items()
                if k.startswith("SM_CHANNEL_")
            },
        )

    def channel(self, name: str) -> Path:
        """The folder of one input channel."""
        return Path(self.channels.get(name, self.base / "input" / "data" / name))


def read_hyperparameters(path: Path):
    """TrainingSettings from hyperparameters.json (absent: the defaults)."""
    from ml.training import TrainingSettings

    values = json.loads(path.read_text()) if path.is_file() else {}
    unknown = sorted(set(values) - set(HYPERPARAMETERS))
    if unknown:
        raise ContractError(
            f"{path}: unknown hyperparameter(s) {', '.join(unknown)}; the container takes "
            f"{', '.join(HYPERPARAMETERS)}"
        )
    parsed = {}
    for name, value in values.items():
        try:
            parsed[name] = HYPERPARAMETERS[name](value)
        except (TypeError, ValueError):
            raise ContractError(
                f"{path}: hyperparameter {name}={value!r} is not a {HYPERPARAMETERS[name].__name__}"
            ) from None
        if not math.isfinite(parsed[name]) or parsed[name] < 0:
            raise ContractError(f"{path}: hyperparameter {name}={value!r} must be >= 0")
    return TrainingSettings(**parsed)


def read_channel(folder: Path, name: str) -> pd.DataFrame:
    """Every Parquet or CSV file of a channel, in name order, as one frame."""
    if not folder.is_dir():
        raise ContractError(f"channel {name!r} is missing: expected data files under {folder}")
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in (".parquet", ".csv"))
    if not files:
        raise ContractError(
            f"channel {name!r} ({folder}) holds no .parquet or .csv file: did the upload run?"
        )
    frames = [pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p) for p in files]
    return pd.concat(frames, ignore_index=True)


def training_frame(paths: ContainerPaths) -> tuple[pd.DataFrame, dict]:
    """The labelled rows of both channels and the schema that names the features."""
    from ml.training import GROUP, LABEL, MONTH, SPLIT

    schema_path = paths.channel("train") / SCHEMA_FILE
    if not schema_path.is_file():
        raise ContractError(
            f"{schema_path} is missing: the train channel must hold {SCHEMA_FILE} with the "
            "features (written by `propensity sagemaker train`)"
        )
    schema = json.loads(schema_path.read_text())
    features = schema.get("features")
    if not isinstance(features, list) or not features:
        raise ContractError(f"{schema_path}: 'features' must be a non-empty list of names")
    train = read_channel(paths.channel("train"), "train")
    valid = read_channel(paths.channel("validation"), "validation")
    if SPLIT not in train:
        train[SPLIT] = "train"
    valid[SPLIT] = "validation"
    frame = pd.concat([train, valid], ignore_index=True)
    needed = [GROUP, MONTH, LABEL, *features]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ContractError(
            f"the training data lacks column(s) {', '.join(missing[:10])}: the channels must "
            f"hold {GROUP}, {MONTH}, {LABEL} and every feature in {SCHEMA_FILE}"
        )
    frame[MONTH] = pd.to_datetime(frame[MONTH])
    for name in features:
        values = pd.to_numeric(frame[name], errors="coerce")
        bad = frame[name].notna() & values.isna()
        if bad.any() or np.isinf(values).any():
            row = int(np.flatnonzero(bad | np.isinf(values))[0])
            raise ContractError(
                f"feature {name} in row {row} is {frame[name].iloc[row]!r}: every feature must "
                "be a finite number or empty"
            )
        frame[name] = values.astype(float)
    return frame, schema


def feature_ranges(frame: pd.DataFrame, features: list[str]) -> list[dict]:
    """Each feature's observed range in the training data: what serving accepts."""
    ranges = []
    for name in features:
        column = frame[name]
        known = column.dropna()
        ranges.append(
            {
                "name": name,
                "observed_min": float(known.min()) if len(known) else None,
                "observed_max": float(known.max()) if len(known) else None,
                "nullable": bool(column.isna().any()),
            }
        )
    return ranges


def train(env: dict | None = None) -> int:
    """The training job: 0 on success; on failure the reason is in output/failure."""
    paths = ContainerPaths.from_env(env)
    try:
        return _train(paths)
    except Exception as exc:  # the contract: any failure is written down, exit non-zero
        reason = f"{type(exc).__name__}: {exc}"
        log.error("training failed: %s\n%s", reason, traceback.format_exc())
        paths.output.mkdir(parents=True, exist_ok=True)
        (paths.output / FAILURE_FILE).write_text(reason[:1000] + "\n")
        return 1


def _train(paths: ContainerPaths) -> int:
    from datetime import datetime, timezone

    from ml.scoring_model import RFM_LOGISTIC_REGRESSION, XGBOOST, artifact_to_bytes
    from ml.store import METADATA_FILE, MODEL_FILE
    from ml.training import MONTH, SPLIT, artifact_metadata, train_churn_model

    settings = read_hyperparameters(paths.config / "hyperparameters.json")
    frame, schema = training_frame(paths)
    features = list(schema["features"])
    log.info(
        "training on %d rows (%s), %d features",
        len(frame),
        ", ".join(f"{k} {v:,}" for k, v in frame[SPLIT].value_counts().sort_index().items()),
        len(features),
    )
    result = train_churn_model(frame, features, settings)
    scoring = XGBOOST if result.is_promoted else RFM_LOGISTIC_REGRESSION
    months = {
        split: (str(rows[MONTH].min().date()), str(rows[MONTH].max().date()))
        for split, rows in frame.groupby(SPLIT)
    }
    metadata = artifact_metadata(
        result,
        features,
        model_version=schema.get("model_version"),
        churn_definition=schema.get("churn_definition"),
        horizon_months=schema.get("horizon_months"),
        settings=settings.fingerprint(),
        decision=result.decision,
        data_fingerprint=schema.get("data_fingerprint"),
        training_sample_fraction=schema.get("training_sample_fraction", 1.0),
        trained_at=datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        scoring_algorithm=scoring,
        months=months,
        feature_ranges=feature_ranges(frame, features),
        backend="sagemaker",
    )
    paths.model.mkdir(parents=True, exist_ok=True)
    (paths.model / MODEL_FILE).write_bytes(artifact_to_bytes(result.models))
    (paths.model / METADATA_FILE).write_text(json.dumps(metadata, indent=2, default=str))
    paths.output_data.mkdir(parents=True, exist_ok=True)
    summary = {
        "decision": result.decision,
        "scoring_algorithm": scoring,
        "metrics": result.metrics,
        "validation_metrics_by_month": result.by_month,
    }
    (paths.output_data / METRICS_FILE).write_text(json.dumps(summary, indent=2, default=str))
    # one line per metric, for the training job's metric definitions (regex name=value)
    for name in ("model", "rfm", "recency"):
        for metric in ("roc_auc", "pr_auc", "log_loss"):
            print(f"validation_{name}_{metric}={result.metrics[name][metric]:.6f}", flush=True)
    log.info("%s; %s scores", result.decision, scoring)
    return 0


class RowError(ValueError):
    """One row of an /invocations request cannot be scored."""

    def __init__(self, row: int, field: str | None, why: str) -> None:
        self.row, self.field = row, field
        where = f"row {row}" + (f", field {field}" if field else "")
        super().__init__(f"{where}: {why}")


class Predictor:
    """The artifact in the model folder, loaded once: rows in, scores and drivers out."""

    def __init__(self, model_dir: Path) -> None:
        from ml.scoring_model import artifact_from_bytes
        from ml.store import METADATA_FILE, MODEL_FILE
        from serving.scoring import FeatureRange

        if not (model_dir / MODEL_FILE).is_file():
            raise ContractError(
                f"{model_dir / MODEL_FILE} is missing: the endpoint's model data must be the "
                "model.tar.gz of a `train` job"
            )
        self.metadata = json.loads((model_dir / METADATA_FILE).read_text())
        models = artifact_from_bytes((model_dir / MODEL_FILE).read_bytes())
        self.algorithm = self.metadata.get("scoring_algorithm") or next(iter(models))
        self.model = models[self.algorithm]
        self.features = list(self.model.feature_names_)
        self.ranges = {
            r["name"]: FeatureRange.from_observed(
                r["name"], r["observed_min"], r["observed_max"], r["nullable"]
            )
            for r in self.metadata.get("feature_ranges", [])
        }
        # warm: the SHAP tables are built once, before the first request
        self.model.shap_values(pd.DataFrame(np.nan, index=[0], columns=self.features))

    def rows_from_csv(self, text: str) -> list[list[str]]:
        """CSV lines in feature order, or with a header naming the features."""
        lines: list[list[str]] = [
            r for r in csv.reader(io.StringIO(text)) if r and any(c.strip() for c in r)
        ]
        if lines and lines[0][0].strip() in self.features:
            header = [c.strip() for c in lines[0]]
            unknown = [h for h in header if h not in self.features]
            missing = [f for f in self.features if f not in header]
            if unknown or missing:
                name = (unknown or missing)[0]
                why = "is not a model feature" if unknown else "is missing from the header"
                raise RowError(0, name, f"{name} {why}")
            order = [header.index(f) for f in self.features]
            return [[r[i] if i < len(r) else "" for i in order] for r in lines[1:]]
        return lines

    def rows_from_json(self, payload) -> list[list]:
        """``{"instances": [...]}`` or a bare list: objects by feature name or lists."""
        instances = payload.get("instances") if isinstance(payload, dict) else payload
        if not isinstance(instances, list):
            raise RowError(0, None, 'send {"instances": [...]} with one item per customer')
        rows = []
        for i, item in enumerate(instances):
            if isinstance(item, dict):
                missing = [f for f in self.features if f not in item]
                unknown = [k for k in item if k not in self.features]
                if missing:
                    raise RowError(
                        i, missing[0], "is missing: send every feature (null if unknown)"
                    )
                if unknown:
                    raise RowError(i, str(unknown[0])[:64], "is not a feature of this model")
                rows.append([item[f] for f in self.features])
            elif isinstance(item, list):
                rows.append(item)
            else:
                raise RowError(i, None, "must be an object by feature name or a list of values")
        return rows

    def matrix(self, rows: list[list]) -> pd.DataFrame:
        """Validated feature rows: numbers, finite, plausible; empty or null is unknown."""
        if len(rows) > MAX_ROWS:
            raise RowError(MAX_ROWS, None, f"at most {MAX_ROWS:,} rows per request")
        values = np.full((len(rows), len(self.features)), np.nan)
        for i, row in enumerate(rows):
            if len(row) != len(self.features):
                raise RowError(
                    i, None, f"has {len(row)} values; the model takes {len(self.features)}"
                )
            for j, raw in enumerate(row):
                name = self.features[j]
                value = _number(raw)
                if value is _BAD:
                    raise RowError(i, name, f"{str(raw)[:64]!r} is not a number")
                check = self.ranges.get(name)
                why = check.problem(value) if check is not None else None
                if why is None and value is not None and not math.isfinite(value):
                    why = f"{name} must be a finite number"
                if why:
                    raise RowError(i, name, why)
                if value is not None:
                    values[i, j] = value
        return pd.DataFrame(values, columns=self.features)

    def predict(self, rows: list[list]) -> list[dict]:
        """Calibrated probability, margin and the strongest SHAP drivers per row."""
        from ml.scoring_model import strongest_drivers

        frame = self.matrix(rows)
        margin = self.model.predict_margin(frame)
        probability = self.model.calibrate(margin)
        shap, _ = self.model.shap_values(frame)
        out = []
        for i in range(len(frame)):
            out.append(
                {
                    "churn_probability": float(probability[i]),
                    "churn_score_margin": float(margin[i]),
                    "top_drivers": [
                        {
                            "feature": self.features[j],
                            "shap_value": float(shap[i, j]),
                            "direction": direction,
                        }
                        for j, direction in strongest_drivers(shap[i], TOP_DRIVERS)
                    ],
                }
            )
        return out


_BAD = object()


def _number(raw):
    """A float, None for unknown, or _BAD."""
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return None
    if isinstance(raw, bool):
        return _BAD
    if isinstance(raw, (int, float)):
        return float(raw)
    if isinstance(raw, str):
        try:
            return float(raw)
        except ValueError:
            return _BAD
    return _BAD


def render(predictions: list[dict], accept: str) -> tuple[str, str]:
    """The response body and its content type for an Accept header."""
    if "text/csv" in accept:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        for p in predictions:
            drivers = ";".join(f"{d['feature']}:{d['shap_value']:.6g}" for d in p["top_drivers"])
            writer.writerow([repr(p["churn_probability"]), repr(p["churn_score_margin"]), drivers])
        return out.getvalue(), "text/csv"
    if "jsonlines" in accept:
        return "".join(json.dumps(p) + "\n" for p in predictions), "application/jsonlines"
    return json.dumps({"predictions": predictions}), "application/json"


def create_app(model_dir: Path):
    """The inference app: /ping and /invocations over one loaded Predictor."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    predictor = Predictor(model_dir)

    async def ping(request: Request) -> Response:
        return JSONResponse({"status": "ok", "algorithm": predictor.algorithm})

    async def invocations(request: Request) -> Response:
        content_type = request.headers.get("content-type", "text/csv").split(";")[0].strip()
        accept = request.headers.get("accept", "application/json")
        body = await request.body()
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return JSONResponse({"error": "the body is not UTF-8 text"}, status_code=400)
        try:
            if content_type == "text/csv":
                rows = predictor.rows_from_csv(text)
            elif content_type in ("application/json", "application/jsonlines"):
                try:
                    payload = (
                        json.loads(text)
                        if content_type == "application/json"
                        else [json.loads(line) for line in text.splitlines() if line.strip()]
                    )
                except json.JSONDecodeError as exc:
                    return JSONResponse({"error": f"invalid JSON: {exc}"}, status_code=400)
                rows = predictor.rows_from_json(payload)
            else:
                return JSONResponse(
                    {
                        "error": f"unsupported content type {content_type[:64]!r}: send text/csv "
                        "or application/json"
                    },
                    status_code=415,
                )
            predictions = await run_in_threadpool(predictor.predict, rows)
        except RowError as exc:
            return JSONResponse(
                {"error": str(exc), "row": exc.row, "field": exc.field}, status_code=400
            )
        body_text, media = render(predictions, accept)
        return Response(body_text, media_type=media)

    return Starlette(
        routes=[
            Route("/ping", ping, methods=["GET"]),
            Route("/invocations", invocations, methods=["POST"]),
        ]
    )


def serve(env: dict | None = None) -> int:
    """The inference server, on SAGEMAKER_BIND_TO_PORT (8080) of every interface."""
    import uvicorn

    env = dict(os.environ if env is None else env)
    paths = ContainerPaths.from_env(env)
    app = create_app(paths.model)
    port = int(env.get("SAGEMAKER_BIND_TO_PORT", DEFAULT_PORT))
    host = env.get("SAGEMAKER_BIND_TO_HOST", "0.0.0.0")  # noqa: S104 (the container's port)
    log.info("serving %s on %s:%d", paths.model, host, port)
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m ml.sagemaker train|serve``."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m ml.sagemaker",
        description="The SageMaker container's entry points (SageMaker passes train or serve).",
    )
    parser.add_argument("command", choices=["train", "serve"])
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stdout,
    )
    return train() if args.command == "train" else serve()
