"""What a plain install pulls in: the SageMaker SDK only with the sagemaker extra."""

from __future__ import annotations

import re
from pathlib import Path

import tomllib

PROJECT = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=~!\[; ]", r, maxsplit=1)[0].lower() for r in requirements}


def test_the_base_install_does_not_pull_the_sagemaker_sdk():
    base = _names(PROJECT["project"]["dependencies"])
    assert not base & {"sagemaker", "boto3", "botocore", "s3fs"}


def test_the_sagemaker_extra_pulls_the_sdk_v3_and_s3_for_the_model_store():
    extra = PROJECT["project"]["optional-dependencies"]["sagemaker"]
    assert {"sagemaker", "boto3", "fsspec", "s3fs"} <= _names(extra)
    assert any(r.startswith("sagemaker>=3") for r in extra)


def test_the_container_module_imports_nothing_from_the_extra():
    """`python -m ml.sagemaker serve` runs in the image without boto3 or the SDK."""
    source = (Path(__file__).resolve().parents[2] / "ml/sagemaker/container.py").read_text()
    assert not re.search(r"^\s*(from|import) (boto3|botocore|sagemaker)\b", source, re.M)
