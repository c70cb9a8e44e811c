"""botocore Stubbers behind a boto3 session: the AWS network boundary of the SageMaker tests.

Every client the code under test makes from ``StubbedSession`` is a real botocore client
whose requests are validated against botocore's service model and answered by a Stubber."""

from __future__ import annotations

from datetime import datetime, timezone

import boto3
from botocore.stub import ANY, Stubber

REGION = "eu-west-1"
ACCOUNT = "123456789012"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/customer-propensity:0.1.0"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/PropensitySageMaker"
ENV = {
    "PROPENSITY_SAGEMAKER_IMAGE_URI": IMAGE,
    "PROPENSITY_SAGEMAKER_ROLE_ARN": ROLE,
    "PROPENSITY_SAGEMAKER_BUCKET": "propensity-ml",
    "PROPENSITY_SAGEMAKER_REGION": REGION,
}
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=timezone.utc)
DATA_NAME = "data-1"  # where the launcher tests upload a training set


class StubbedSession(boto3.Session):
    """A boto3 session whose clients (one per service) answer from Stubbers."""

    def __init__(self) -> None:
        super().__init__(
            aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret", region_name=REGION
        )
        self.clients: dict = {}
        self.stubs: dict[str, Stubber] = {}

    def client(self, service_name, region_name=None, *args, **kwargs):  # noqa: D102
        if service_name not in self.clients:
            client = super().client(service_name, region_name or REGION, *args, **kwargs)
            self.clients[service_name] = client
            self.stubs[service_name] = Stubber(client)
            self.stubs[service_name].activate()
        return self.clients[service_name]

    def stub(self, service_name: str) -> Stubber:
        self.client(service_name)
        return self.stubs[service_name]

    def assert_all_requests_made(self) -> None:
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()


def described_job(name: str, status: str, reason: str | None = None) -> dict:
    job = {
        "TrainingJobName": name,
        "TrainingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/{name}",
        "ModelArtifacts": {
            "S3ModelArtifacts": f"s3://propensity-ml/customer-propensity/models/{name}/output/model.tar.gz"
        },
        "TrainingJobStatus": status,
        "SecondaryStatus": status,
        "AlgorithmSpecification": {"TrainingInputMode": "File", "TrainingImage": IMAGE},
        "RoleArn": ROLE,
        "ResourceConfig": {
            "InstanceType": "ml.m5.xlarge",
            "InstanceCount": 1,
            "VolumeSizeInGB": 30,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 10800},
        "CreationTime": NOW,
    }
    if reason:
        job["FailureReason"] = reason
    return job


def expect_training_upload(session: StubbedSession, data_name=DATA_NAME) -> None:
    s3 = session.stub("s3")
    for part in ("train/part-00000.parquet", "train/schema.json", "validation/part-00000.parquet"):
        s3.add_response(
            "put_object",
            {"ETag": '"0"'},
            {
                "Bucket": "propensity-ml",
                "Key": ANY if data_name is ANY else f"customer-propensity/{data_name}/{part}",
                "Body": ANY,
            },
        )


def expected_training_request(data_name=None, hyperparameters=None) -> dict:
    return {
        "TrainingJobName": ANY,
        "HyperParameters": hyperparameters or {"max_candidates": "2", "max_rounds": "200"},
        "AlgorithmSpecification": {"TrainingInputMode": "File", "TrainingImage": IMAGE},
        "RoleArn": ROLE,
        "InputDataConfig": [
            {
                "ChannelName": name,
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": f"s3://propensity-ml/customer-propensity/{data_name}/{name}/"
                        if data_name
                        else ANY,
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
                "InputMode": "File",
            }
            for name in ("train", "validation")
        ],
        "OutputDataConfig": {
            "S3OutputPath": "s3://propensity-ml/customer-propensity/models",
            "CompressionType": "GZIP",
        },
        "ResourceConfig": {
            "InstanceType": "ml.m5.xlarge",
            "InstanceCount": 1,
            "VolumeSizeInGB": 30,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 10800},
    }


def stub_training_job(
    session: StubbedSession,
    job: str,
    status: str,
    reason: str | None = None,
    data_name=DATA_NAME,
    hyperparameters=None,
) -> None:
    """What a training job asks of S3 and SageMaker: the channel uploads under ``data_name``
    (ANY: a generated name), the exact CreateTrainingJob, then DescribeTrainingJob after the
    create and by the wait, answering ``status`` (and ``reason``)."""
    expect_training_upload(session, data_name)
    sagemaker = session.stub("sagemaker")
    sagemaker.add_response(
        "create_training_job",
        {"TrainingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/{job}"},
        expected_training_request(None if data_name is ANY else data_name, hyperparameters),
    )
    for _ in range(2):
        sagemaker.add_response(
            "describe_training_job", described_job(job, status, reason), {"TrainingJobName": ANY}
        )
