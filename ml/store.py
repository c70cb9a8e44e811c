"""Model store: versioned artifacts in a directory: a local path or file:// URI, or any URI
fsspec knows (``s3://`` with s3fs, from the ``sagemaker`` extra). An artifact URI may also
name a SageMaker training job's ``model.tar.gz`` holding the same two files."""

from __future__ import annotations

import io
import json
import os
import shutil
import tarfile
import tempfile
from pathlib import Path
from urllib.parse import urlparse

MODEL_FILE = "model.bin"
METADATA_FILE = "metadata.json"


def _is_local(uri: str) -> bool:
    return urlparse(uri).scheme in ("", "file")


def _root_path(uri: str | os.PathLike) -> Path:
    text = str(uri)
    parsed = urlparse(text)
    return Path(parsed.path if parsed.scheme else text)


def _filesystem(uri: str):
    """(fsspec filesystem, path) for a remote URI, with a clear error when it is unusable."""
    try:
        from fsspec.core import url_to_fs
    except ImportError:
        raise ValueError(
            f"model store {uri!r}: remote URIs need fsspec (and s3fs for s3://): "
            "pip install '.[sagemaker]', or set PROPENSITY_MODEL_STORE to a local directory"
        ) from None
    try:
        return url_to_fs(uri)
    except (ImportError, ValueError) as exc:
        raise ValueError(
            f"model store {uri!r}: {exc}. For s3:// install the sagemaker extra "
            "(pip install '.[sagemaker]')"
        ) from None


def read_model_tarball(payload: bytes, uri: str = "model.tar.gz") -> tuple[bytes, dict]:
    """The artifact and metadata inside a SageMaker training job's model.tar.gz."""
    with tarfile.open(fileobj=io.BytesIO(payload), mode="r:gz") as archive:
        members = {m.name.removeprefix("./"): m for m in archive.getmembers() if m.isfile()}
        missing = [f for f in (MODEL_FILE, METADATA_FILE) if f not in members]
        if missing:
            raise ValueError(
                f"{uri} lacks {', '.join(missing)}: was it written by this project's SageMaker "
                "`train` entry point?"
            )
        model = archive.extractfile(members[MODEL_FILE]).read()  # type: ignore[union-attr]
        metadata = archive.extractfile(members[METADATA_FILE]).read()  # type: ignore[union-attr]
    return model, json.loads(metadata)


class ModelStore:
    """Save and load model versions; a version directory appears atomically or not at all."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root_uri = str(root)
        self.local = _is_local(self.root_uri)
        self.root = _root_path(root).resolve() if self.local else None

    def uri(self, version: str) -> str:
        """Where a version lives."""
        if self.root is not None:
            return (self.root / version).resolve().as_uri()
        return self.root_uri.rstrip("/") + "/" + version

    def exists(self, version: str) -> bool:
        """Whether a version has been saved (remotely: its metadata, written last)."""
        if self.root is not None:
            return (self.root / version / MODEL_FILE).is_file()
        fs, path = _filesystem(self.uri(version))
        return bool(fs.exists(f"{path}/{METADATA_FILE}"))

    def save(self, version: str, payload: bytes, metadata: dict) -> str:
        """Write ``payload`` and ``metadata`` under ``version``; return its URI."""
        if self.exists(version):
            return self.uri(version)
        text = json.dumps(metadata, indent=2, default=str)
        if self.root is None:  # object stores have no rename: the metadata goes last
            fs, path = _filesystem(self.uri(version))
            fs.pipe_file(f"{path}/{MODEL_FILE}", payload)
            fs.pipe_file(f"{path}/{METADATA_FILE}", text.encode())
            return self.uri(version)
        target = self.root / version
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{version}.", dir=self.root))
        try:
            (staging / MODEL_FILE).write_bytes(payload)
            (staging / METADATA_FILE).write_text(text)
            os.replace(staging, target)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            if not self.exists(version):
                raise
        return self.uri(version)

    @staticmethod
    def load_uri(uri: str) -> tuple[bytes, dict]:
        """Read a version's payload and metadata from its URI (a folder or a model.tar.gz)."""
        moved = (
            f"model artifact {uri} not found: was the model store moved? Re-run "
            "`dbt build --select churn_model_registry+` to retrain"
        )
        if _is_local(uri):
            path = _root_path(uri)
            if uri.endswith(".tar.gz") and path.is_file():
                return read_model_tarball(path.read_bytes(), uri)
            if not (path / MODEL_FILE).is_file():
                raise FileNotFoundError(moved)
            return (path / MODEL_FILE).read_bytes(), json.loads((path / METADATA_FILE).read_text())
        fs, path = _filesystem(uri)
        try:
            if uri.endswith(".tar.gz"):
                return read_model_tarball(fs.cat_file(path), uri)
            return fs.cat_file(f"{path}/{MODEL_FILE}"), json.loads(
                fs.cat_file(f"{path}/{METADATA_FILE}")
            )
        except FileNotFoundError:
            raise FileNotFoundError(moved) from None
