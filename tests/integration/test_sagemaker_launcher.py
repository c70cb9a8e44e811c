"""The SageMaker launcher against botocore Stubbers on real SageMaker and S3 clients: every
request is validated against botocore's service model, and the exact requests are asserted."""

from __future__ import annotations

import io
import json
import tarfile

import pandas as pd
import pytest

boto3 = pytest.importorskip("boto3")
pytest.importorskip("sagemaker.train")
from botocore.stub import ANY  # noqa: E402

from ml.sagemaker import launcher  # noqa: E402
from ml.store import read_model_tarball  # noqa: E402
from tests.aws_stubs import (  # noqa: E402
    ACCOUNT,
    ENV,
    IMAGE,
    NOW,
    REGION,
    ROLE,
    StubbedSession,
    described_job,
    stub_training_job,
)
from tests.unit.test_training import FEATURES, churn_frame  # noqa: E402


@pytest.fixture(autouse=True)
def _no_role_lookup(monkeypatch):
    # the SDK checks the role with IAM before a job; the settings' ARN is taken as given here
    monkeypatch.setenv("SAGEMAKER_VALIDATE_ROLE", "false")


@pytest.fixture
def config():
    return launcher.SageMakerConfig.from_env(ENV)


def _training_inputs():
    frame = churn_frame(customers=80, months=9)
    schema = {"features": FEATURES, "model_version": "abc123", "churn_definition": "test"}
    return frame, schema


def test_settings_name_what_is_missing_or_malformed():
    with pytest.raises(launcher.SageMakerError, match="PROPENSITY_SAGEMAKER_ROLE_ARN"):
        launcher.SageMakerConfig.from_env({k: v for k, v in ENV.items() if "ROLE" not in k})
    with pytest.raises(launcher.SageMakerError, match="is not an IAM role ARN"):
        launcher.SageMakerConfig.from_env({**ENV, "PROPENSITY_SAGEMAKER_ROLE_ARN": "admin"})
    with pytest.raises(launcher.SageMakerError, match="INSTANCE_COUNT='two' is not a int"):
        launcher.SageMakerConfig.from_env({**ENV, "PROPENSITY_SAGEMAKER_INSTANCE_COUNT": "two"})


def test_train_uploads_the_channels_and_creates_the_exact_training_job(config):
    session = StubbedSession()
    stub_training_job(session, "job-1", "Completed")
    frame, schema = _training_inputs()
    outcome = launcher.train(
        session, config, frame, schema, {"max_candidates": 2, "max_rounds": 200}, data_name="data-1"
    )
    session.assert_all_requests_made()
    assert outcome.artifact_uri.endswith("/job-1/output/model.tar.gz")
    assert outcome.artifact_uri.startswith("s3://propensity-ml/")


def test_a_failed_training_job_surfaces_its_failure_reason(config):
    session = StubbedSession()
    reason = "AlgorithmError: channel 'validation' holds no .parquet or .csv file"
    stub_training_job(session, "job-2", "Failed", reason)
    frame, schema = _training_inputs()
    with pytest.raises(launcher.SageMakerError, match="channel 'validation' holds no"):
        launcher.train(
            session,
            config,
            frame,
            schema,
            {"max_candidates": 2, "max_rounds": 200},
            data_name="data-1",
        )


def _tarball(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, body in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))
    return buffer.getvalue()


def test_the_artifact_comes_back_from_the_model_tarball(config):
    from botocore.response import StreamingBody

    body = _tarball({"model.bin": b"{}", "metadata.json": b'{"model_version": "abc"}'})
    session = StubbedSession()
    session.stub("s3").add_response(
        "get_object",
        {"Body": StreamingBody(io.BytesIO(body), len(body))},
        {"Bucket": "propensity-ml", "Key": "customer-propensity/models/j/output/model.tar.gz"},
    )
    payload, metadata = launcher.download_artifact(
        session, config, "s3://propensity-ml/customer-propensity/models/j/output/model.tar.gz"
    )
    assert payload == b"{}" and metadata == {"model_version": "abc"}
    with pytest.raises(ValueError, match="lacks metadata.json"):
        read_model_tarball(_tarball({"model.bin": b"{}"}))


def test_batch_score_creates_the_model_and_transform_job_and_joins_answers_back(config):
    from botocore.response import StreamingBody

    artifact = "s3://propensity-ml/customer-propensity/models/j/output/model.tar.gz"
    rows = pd.DataFrame({"customer_id": ["C1", "C2"], **{f: [1.0, None] for f in FEATURES}})
    session = StubbedSession()
    s3 = session.stub("s3")
    s3.add_response(
        "put_object",
        {"ETag": '"0"'},
        {"Bucket": "propensity-ml", "Key": ANY, "Body": b"1.0,1.0,1.0,1.0,1.0\n,,,,\n"},
    )
    sagemaker = session.stub("sagemaker")
    sagemaker.add_response(
        "create_model",
        {"ModelArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/m"},
        {
            "ModelName": ANY,
            "PrimaryContainer": {"Image": IMAGE, "ModelDataUrl": artifact},
            "ExecutionRoleArn": ROLE,
        },
    )
    sagemaker.add_response(
        "describe_model",
        {
            "ModelName": "m",
            "ModelArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/m",
            "CreationTime": NOW,
            "ExecutionRoleArn": ROLE,
            "PrimaryContainer": {"Image": IMAGE, "ModelDataUrl": artifact},
        },
        {"ModelName": ANY},
    )
    sagemaker.add_response(
        "create_transform_job",
        {"TransformJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:transform-job/t"},
        {
            "TransformJobName": ANY,
            "ModelName": ANY,
            "BatchStrategy": "MultiRecord",
            "TransformInput": {
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": ANY}},
                "ContentType": "text/csv",
                "SplitType": "Line",
            },
            "TransformOutput": {
                "S3OutputPath": ANY,
                "Accept": "application/jsonlines",
                "AssembleWith": "Line",
            },
            "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
        },
    )
    transform = {
        "TransformJobName": "t",
        "TransformJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:transform-job/t",
        "ModelName": "m",
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/i/"}},
        },
        "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
        "CreationTime": NOW,
    }
    sagemaker.add_response(
        "describe_transform_job",
        {**transform, "TransformJobStatus": "InProgress"},
        {"TransformJobName": ANY},
    )
    sagemaker.add_response(
        "describe_transform_job",
        {**transform, "TransformJobStatus": "Completed"},
        {"TransformJobName": ANY},
    )
    answers = b"".join(
        json.dumps({"churn_probability": p, "churn_score_margin": m, "top_drivers": []}).encode()
        + b"\n"
        for p, m in ((0.8, 1.4), (0.1, -2.2))
    )
    s3.add_response(
        "get_object",
        {"Body": StreamingBody(io.BytesIO(answers), len(answers))},
        {"Bucket": "propensity-ml", "Key": ANY},
    )
    scored = pd.concat(
        launcher.batch_score(session, config, artifact, [rows], FEATURES, "abc", poll=0)
    )
    session.assert_all_requests_made()
    assert scored["customer_id"].tolist() == ["C1", "C2"]
    assert scored["churn_probability"].tolist() == [0.8, 0.1]


def test_deploy_creates_the_model_endpoint_config_and_endpoint(config):
    artifact = "s3://propensity-ml/customer-propensity/models/j/output/model.tar.gz"
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
    session = StubbedSession()
    sagemaker = session.stub("sagemaker")
    sagemaker.add_response(
        "create_model",
        {"ModelArn": f"{arn}:model/m"},
        {
            "ModelName": ANY,
            "PrimaryContainer": {"Image": IMAGE, "ModelDataUrl": artifact},
            "ExecutionRoleArn": ROLE,
        },
    )
    sagemaker.add_response(
        "describe_model",
        {"ModelName": "m", "ModelArn": f"{arn}:model/m", "CreationTime": NOW},
        {"ModelName": ANY},
    )
    variant = {
        "VariantName": "AllTraffic",
        "ModelName": ANY,
        "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.large",
    }
    sagemaker.add_response(
        "create_endpoint_config",
        {"EndpointConfigArn": f"{arn}:endpoint-config/m"},
        {"EndpointConfigName": ANY, "ProductionVariants": [variant]},
    )
    sagemaker.add_response(
        "describe_endpoint_config",
        {
            "EndpointConfigName": "m",
            "EndpointConfigArn": f"{arn}:endpoint-config/m",
            "ProductionVariants": [{**variant, "ModelName": "m"}],
            "CreationTime": NOW,
        },
        {"EndpointConfigName": ANY},
    )
    sagemaker.add_client_error(
        "describe_endpoint",
        service_error_code="ValidationException",
        service_message="Could not find endpoint",
        expected_params={"EndpointName": "customer-propensity-churn"},
    )
    sagemaker.add_response(
        "create_endpoint",
        {"EndpointArn": f"{arn}:endpoint/customer-propensity-churn"},
        {"EndpointName": "customer-propensity-churn", "EndpointConfigName": ANY},
    )
    sagemaker.add_response(
        "describe_endpoint",
        {
            "EndpointName": "customer-propensity-churn",
            "EndpointArn": f"{arn}:endpoint/customer-propensity-churn",
            "EndpointConfigName": "m",
            "EndpointStatus": "Creating",
            "CreationTime": NOW,
            "LastModifiedTime": NOW,
        },
        {"EndpointName": "customer-propensity-churn"},
    )
    name = launcher.deploy(session, config, artifact, "abc123")
    session.assert_all_requests_made()
    assert name == "customer-propensity-churn"


def test_status_reports_a_failed_jobs_reason(config):
    session = StubbedSession()
    session.stub("sagemaker").add_response(
        "describe_training_job",
        described_job("job-3", "Failed", "ResourceLimitExceeded: ml.m5.xlarge"),
        {"TrainingJobName": "job-3"},
    )
    state = launcher.status(session, config, "training", "job-3")
    assert state["TrainingJobStatus"] == "Failed"
    assert state["FailureReason"].startswith("ResourceLimitExceeded")


def test_the_registry_gets_the_container_s_artifact_and_metrics_back(config, monkeypatch, tmp_path):
    """train_on_sagemaker (what churn_model_registry calls with training_backend: sagemaker):
    the stubbed job's model.tar.gz is what the real `train` entry point wrote."""
    from botocore.response import StreamingBody

    from ml.sagemaker import container
    from ml.training import TrainingSettings

    frame, schema = _training_inputs()
    settings = TrainingSettings(max_candidates=1, max_rounds=50, early_stopping_rounds=10)
    # what the job would run, on what the launcher uploads: the real entry point
    base = tmp_path / "opt_ml"
    for channel in ("train", "validation"):
        (base / "input" / "data" / channel).mkdir(parents=True)
    frame[frame.dataset_split != "validation"].to_parquet(base / "input/data/train/p.parquet")
    frame[frame.dataset_split == "validation"].to_parquet(base / "input/data/validation/p.parquet")
    (base / "input/data/train/schema.json").write_text(json.dumps(schema))
    (base / "input/config").mkdir(parents=True)
    hyperparameters = {k: str(v) for k, v in settings.fingerprint().items()}
    (base / "input/config/hyperparameters.json").write_text(json.dumps(hyperparameters))
    assert container.train({"SAGEMAKER_BASE_DIR": str(base)}) == 0
    tarball = _tarball({p.name: p.read_bytes() for p in (base / "model").iterdir()})

    session = StubbedSession()
    stub_training_job(session, "job-9", "Completed", data_name=ANY, hyperparameters=hyperparameters)
    session.stub("s3").add_response(
        "get_object",
        {"Body": StreamingBody(io.BytesIO(tarball), len(tarball))},
        {"Bucket": "propensity-ml", "Key": "customer-propensity/models/job-9/output/model.tar.gz"},
    )
    monkeypatch.setattr(launcher, "boto_session", lambda config: session)
    uri, metadata = launcher.train_on_sagemaker(frame, schema, settings, env=ENV)
    session.assert_all_requests_made()
    assert uri == "s3://propensity-ml/customer-propensity/models/job-9/output/model.tar.gz"
    assert metadata["backend"] == "sagemaker" and metadata["training_job_name"]
    assert metadata["metrics"]["model"]["roc_auc"] > 0.5
    assert len(metadata["validation_metrics_by_month"]) == 3
