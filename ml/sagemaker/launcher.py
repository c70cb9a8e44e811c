"""Launch the container on Amazon SageMaker: train, batch-score, deploy and status.

Built on the SageMaker Python SDK v3 (``ModelTrainer`` for training; the ``sagemaker.core``
resources ``Model``, ``TransformJob``, ``EndpointConfig`` and ``Endpoint`` for serving) and
boto3's S3 client for the data. Every call goes through one ``boto3.Session``, so the tests
hand in a session whose clients are botocore ``Stubber``s: each request is validated against
botocore's service model, with no network. Needs ``pip install '.[sagemaker]'``.

Settings come from the environment (see ``SageMakerConfig.from_env``); nothing here reads
credentials itself: boto3's usual chain (profile, environment, instance role) applies.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone

import pandas as pd

log = logging.getLogger("ml.sagemaker")

ENV_PREFIX = "PROPENSITY_SAGEMAKER_"
TRAIN_CHANNEL, VALIDATION_CHANNEL = "train", "validation"
ROLE_PATTERN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
BUCKET_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
PART_ROWS = 100_000  # rows per CSV part of a batch transform's input


class SageMakerError(RuntimeError):
    """A SageMaker job or setting failed; the message says what and what to do."""


@dataclass(frozen=True)
class SageMakerConfig:
    """Where and how jobs run: ``PROPENSITY_SAGEMAKER_*`` settings."""

    image_uri: str
    role_arn: str
    bucket: str
    region: str
    prefix: str = "customer-propensity"
    instance_type: str = "ml.m5.xlarge"
    instance_count: int = 1
    volume_size_gb: int = 30
    max_runtime_seconds: int = 3 * 3600
    transform_instance_type: str = "ml.m5.xlarge"
    endpoint_name: str = "customer-propensity-churn"
    endpoint_instance_type: str = "ml.m5.large"
    endpoint_instance_count: int = 1

    @classmethod
    def from_env(cls, env: dict | None = None) -> SageMakerConfig:
        """Read and check the settings; a missing or malformed one is named."""
        env = dict(os.environ if env is None else env)
        required = {
            "image_uri": "IMAGE_URI",
            "role_arn": "ROLE_ARN",
            "bucket": "BUCKET",
        }
        values: dict = {}
        missing = [
            ENV_PREFIX + name for name in required.values() if not env.get(ENV_PREFIX + name)
        ]
        region = (
            env.get(ENV_PREFIX + "REGION") or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
        )
        if not region:
            missing.append(ENV_PREFIX + "REGION (or AWS_REGION)")
        if missing:
            raise SageMakerError(
                f"SageMaker is not configured: set {', '.join(missing)}. The README's "
                "'Training on Amazon SageMaker' section says what each is."
            )
        for field, name in required.items():
            values[field] = env[ENV_PREFIX + name].strip()
        values["region"] = region
        for field, kind in (
            ("prefix", str),
            ("instance_type", str),
            ("instance_count", int),
            ("volume_size_gb", int),
            ("max_runtime_seconds", int),
            ("transform_instance_type", str),
            ("endpoint_name", str),
            ("endpoint_instance_type", str),
            ("endpoint_instance_count", int),
        ):
            raw = env.get(ENV_PREFIX + field.upper())
            if raw:
                try:
                    values[field] = kind(raw)
                except ValueError:
                    raise SageMakerError(
                        f"{ENV_PREFIX}{field.upper()}={raw!r} is not a {kind.__name__}"
                    ) from None
        config = cls(**values)
        if not ROLE_PATTERN.match(config.role_arn):
            raise SageMakerError(
                f"{ENV_PREFIX}ROLE_ARN={config.role_arn!r} is not an IAM role ARN "
                "(arn:aws:iam::<account>:role/<name>)"
            )
        if not BUCKET_PATTERN.match(config.bucket):
            raise SageMakerError(f"{ENV_PREFIX}BUCKET={config.bucket!r} is not an S3 bucket name")
        return config

    def s3_uri(self, *parts: str) -> str:
        """s3://bucket/prefix/parts..."""
        return "s3://" + "/".join([self.bucket, self.prefix.strip("/"), *parts])

    def key(self, *parts: str) -> str:
        """The object key of s3_uri(parts)."""
        return "/".join([self.prefix.strip("/"), *parts])


def boto_session(config: SageMakerConfig):
    """A boto3 session in the configured region (credentials from boto3's usual chain)."""
    import boto3

    return boto3.Session(region_name=config.region)


def job_name(kind: str, version: str | None = None, now: datetime | None = None) -> str:
    """A SageMaker-valid, unique, readable name: propensity-<kind>[-<version>]-<UTC time>."""
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%d-%H%M%S")
    # the version's hash part (churn-xgb-202606-aeebbe80c4 -> aeebbe80c4)
    middle = f"-{re.sub(r'[^a-zA-Z0-9]', '', version.rsplit('-', 1)[-1])[:12]}" if version else ""
    return f"propensity-{kind}{middle}-{stamp}"[:63]


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def upload_training_set(
    session, config: SageMakerConfig, frame: pd.DataFrame, schema: dict, name: str
) -> dict[str, str]:
    """Write the channels (train with gap rows and schema.json; validation) to S3; their
    URIs by channel."""
    from ml.sagemaker.container import SCHEMA_FILE
    from ml.training import SPLIT

    s3 = session.client("s3", region_name=config.region)
    train = frame[frame[SPLIT] != "validation"]
    valid = frame[frame[SPLIT] == "validation"]
    objects = [
        (config.key(name, TRAIN_CHANNEL, "part-00000.parquet"), _parquet_bytes(train)),
        (config.key(name, TRAIN_CHANNEL, SCHEMA_FILE), json.dumps(schema).encode()),
        (config.key(name, VALIDATION_CHANNEL, "part-00000.parquet"), _parquet_bytes(valid)),
    ]
    for key, body in objects:
        s3.put_object(Bucket=config.bucket, Key=key, Body=body)
    log.info(
        "uploaded %d training and %d validation rows to %s",
        len(train),
        len(valid),
        config.s3_uri(name),
    )
    return {
        TRAIN_CHANNEL: config.s3_uri(name, TRAIN_CHANNEL) + "/",
        VALIDATION_CHANNEL: config.s3_uri(name, VALIDATION_CHANNEL) + "/",
    }


def _sagemaker_session(session, config: SageMakerConfig):
    from sagemaker.core.helper.session_helper import Session

    return Session(boto_session=session, default_bucket=config.bucket)


def _failure(kind: str, name: str, exc: Exception) -> SageMakerError:
    reason = getattr(exc, "reason", None) or str(exc)
    return SageMakerError(
        f"SageMaker {kind} {name} failed: {reason}. Its log is in CloudWatch under "
        f"/aws/sagemaker/{kind.title().replace(' ', '')}s/{name}"
    )


@dataclass(frozen=True)
class TrainingOutcome:
    """A finished training job and where its artifact is."""

    job_name: str
    artifact_uri: str


def train(
    session,
    config: SageMakerConfig,
    frame: pd.DataFrame,
    schema: dict,
    hyperparameters: dict,
    wait: bool = True,
    data_name: str | None = None,
) -> TrainingOutcome:
    """Upload the training set (under ``data_name``, by default a fresh name), start a
    training job with the project's image, and wait for it."""
    from sagemaker.core.utils.exceptions import FailedStatusError
    from sagemaker.train import ModelTrainer
    from sagemaker.train.configs import Compute, InputData, OutputDataConfig, StoppingCondition

    base = data_name or job_name("train", schema.get("model_version"))
    channels = upload_training_set(session, config, frame, schema, base)
    trainer = ModelTrainer(
        training_image=config.image_uri,
        role=config.role_arn,
        sagemaker_session=_sagemaker_session(session, config),
        compute=Compute(
            instance_type=config.instance_type,
            instance_count=config.instance_count,
            volume_size_in_gb=config.volume_size_gb,
        ),
        output_data_config=OutputDataConfig(s3_output_path=config.s3_uri("models")),
        stopping_condition=StoppingCondition(max_runtime_in_seconds=config.max_runtime_seconds),
        base_job_name="propensity-churn",
        hyperparameters={k: str(v) for k, v in hyperparameters.items()},
    )
    log.info("starting a SageMaker training job on %s", config.instance_type)
    try:
        trainer.train(
            input_data_config=[
                InputData(channel_name=name, data_source=uri) for name, uri in channels.items()
            ],
            wait=wait,
            logs=False,
        )
    except FailedStatusError as exc:
        name = getattr(trainer, "_latest_training_job", None)
        raise _failure("training job", getattr(name, "training_job_name", base), exc) from None
    job = trainer._latest_training_job  # refreshed by the wait
    if wait and job.training_job_status != "Completed":
        raise SageMakerError(
            f"SageMaker training job {job.training_job_name} ended {job.training_job_status}: "
            f"{getattr(job, 'failure_reason', '') or 'no reason given'}"
        )
    return TrainingOutcome(job.training_job_name, job.model_artifacts.s3_model_artifacts)


def download_artifact(session, config: SageMakerConfig, uri: str) -> tuple[bytes, dict]:
    """A training job's artifact from S3, with its metadata."""
    from ml.store import read_model_tarball

    bucket, _, key = uri.removeprefix("s3://").partition("/")
    s3 = session.client("s3", region_name=config.region)
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return read_model_tarball(body, uri)


def create_model(session, config: SageMakerConfig, artifact_uri: str, name: str) -> str:
    """A SageMaker model: the project's image serving one training job's artifact."""
    from sagemaker.core.resources import Model
    from sagemaker.core.shapes import ContainerDefinition

    Model.create(
        model_name=name,
        primary_container=ContainerDefinition(image=config.image_uri, model_data_url=artifact_uri),
        execution_role_arn=config.role_arn,
        session=session,
        region=config.region,
    )
    return name


def write_transform_input(
    session, config: SageMakerConfig, rows: Iterable[pd.DataFrame], features: list[str], name: str
) -> tuple[str, list[list[str]]]:
    """CSV parts of feature rows (no header, the model's order) under one S3 prefix; the
    customer ids of each part, in line order, to join the answers back."""
    s3 = session.client("s3", region_name=config.region)
    ids: list[list[str]] = []
    for number, chunk in enumerate(rows):
        body = chunk[features].to_csv(index=False, header=False, na_rep="").encode()
        key = config.key(name, "input", f"part-{number:05d}.csv")
        s3.put_object(Bucket=config.bucket, Key=key, Body=body)
        ids.append(chunk["customer_id"].astype(str).tolist())
    return config.s3_uri(name, "input") + "/", ids


def batch_score(
    session,
    config: SageMakerConfig,
    artifact_uri: str,
    rows: Iterable[pd.DataFrame],
    features: list[str],
    model_version: str,
    wait: bool = True,
    poll: int = 30,
) -> Iterator[pd.DataFrame]:
    """A batch transform over feature rows (chunks with ``customer_id`` and the features):
    the answers, joined back to the customers by line, one frame per part."""
    from sagemaker.core.resources import TransformJob
    from sagemaker.core.shapes import (
        TransformDataSource,
        TransformInput,
        TransformOutput,
        TransformResources,
        TransformS3DataSource,
    )
    from sagemaker.core.utils.exceptions import FailedStatusError

    name = job_name("score", model_version)
    source, ids = write_transform_input(session, config, rows, features, name)
    model = create_model(session, config, artifact_uri, name)
    output = config.s3_uri(name, "output")
    job = TransformJob.create(
        transform_job_name=name,
        model_name=model,
        transform_input=TransformInput(
            data_source=TransformDataSource(
                s3_data_source=TransformS3DataSource(s3_data_type="S3Prefix", s3_uri=source)
            ),
            content_type="text/csv",
            split_type="Line",
        ),
        transform_output=TransformOutput(
            s3_output_path=output, accept="application/jsonlines", assemble_with="Line"
        ),
        transform_resources=TransformResources(
            instance_type=config.transform_instance_type, instance_count=1
        ),
        batch_strategy="MultiRecord",
        session=session,
        region=config.region,
    )
    log.info("batch transform %s started over %d parts", name, len(ids))
    if not wait:
        return iter(())
    try:
        job.wait(poll=poll, logs=False)
    except FailedStatusError as exc:
        raise _failure("transform job", name, exc) from None
    s3 = session.client("s3", region_name=config.region)
    scored_at = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)

    def answers() -> Iterator[pd.DataFrame]:
        for number, customers in enumerate(ids):
            key = config.key(name, "output", f"part-{number:05d}.csv.out")
            text = s3.get_object(Bucket=config.bucket, Key=key)["Body"].read().decode()
            lines = [json.loads(line) for line in text.splitlines() if line.strip()]
            if len(lines) != len(customers):
                raise SageMakerError(
                    f"{key}: {len(lines)} answers for {len(customers)} customers; the batch "
                    "transform's output does not line up with its input"
                )
            yield pd.DataFrame(
                {
                    "customer_id": customers,
                    "churn_probability": [x["churn_probability"] for x in lines],
                    "churn_score_margin": [x["churn_score_margin"] for x in lines],
                    "top_drivers": [json.dumps(x["top_drivers"]) for x in lines],
                    "model_version": model_version,
                    "scored_at": scored_at,
                }
            )

    return answers()


def deploy(session, config: SageMakerConfig, artifact_uri: str, model_version: str) -> str:
    """Create the real-time endpoint, or point the existing one at this model."""
    from botocore.exceptions import ClientError
    from sagemaker.core.resources import Endpoint, EndpointConfig
    from sagemaker.core.shapes import ProductionVariant

    name = job_name("model", model_version)
    create_model(session, config, artifact_uri, name)
    EndpointConfig.create(
        endpoint_config_name=name,
        production_variants=[
            ProductionVariant(
                variant_name="AllTraffic",
                model_name=name,
                initial_instance_count=config.endpoint_instance_count,
                instance_type=config.endpoint_instance_type,
            )
        ],
        session=session,
        region=config.region,
    )
    try:
        endpoint = Endpoint.get(
            endpoint_name=config.endpoint_name, session=session, region=config.region
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ValidationException":
            raise
        Endpoint.create(
            endpoint_name=config.endpoint_name,
            endpoint_config_name=name,
            session=session,
            region=config.region,
        )
        log.info("endpoint %s is being created (model %s)", config.endpoint_name, name)
    else:
        endpoint.update(endpoint_config_name=name)
        log.info("endpoint %s is being updated to model %s", config.endpoint_name, name)
    return config.endpoint_name


def status(session, config: SageMakerConfig, kind: str, name: str) -> dict:
    """The state of a training job, transform job or endpoint, as SageMaker reports it."""
    client = session.client("sagemaker", region_name=config.region)
    keys: tuple[str, ...]
    if kind == "training":
        d = client.describe_training_job(TrainingJobName=name)
        keys = ("TrainingJobName", "TrainingJobStatus", "SecondaryStatus", "FailureReason")
    elif kind == "transform":
        d = client.describe_transform_job(TransformJobName=name)
        keys = ("TransformJobName", "TransformJobStatus", "FailureReason")
    else:
        d = client.describe_endpoint(EndpointName=name)
        keys = ("EndpointName", "EndpointStatus", "FailureReason")
    return {k: d[k] for k in keys if k in d}


def train_on_sagemaker(
    frame: pd.DataFrame, schema: dict, settings, env: dict | None = None
) -> tuple[str, dict]:
    """What ``churn_model_registry`` runs with ``training_backend: sagemaker``: train the
    collected rows in a SageMaker training job and return the artifact's s3:// URI and its
    metadata (the same record a local run writes)."""
    from botocore.exceptions import BotoCoreError, ClientError

    config = SageMakerConfig.from_env(env)
    session = boto_session(config)
    try:
        outcome = train(session, config, frame, schema, settings.fingerprint())
        _, metadata = download_artifact(session, config, outcome.artifact_uri)
    except (BotoCoreError, ClientError) as exc:
        raise SageMakerError(
            f"an AWS request failed: {exc}. Check the credentials (`aws sts "
            "get-caller-identity`), PROPENSITY_SAGEMAKER_REGION and the bucket; nothing was "
            "registered"
        ) from None
    metadata["training_job_name"] = outcome.job_name
    return outcome.artifact_uri, metadata
