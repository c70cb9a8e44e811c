"""Model store: versioned artifacts in a directory (local path or file:// URI)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlparse

MODEL_FILE = "model.bin"
METADATA_FILE = "metadata.json"


def _root_path(uri: str | os.PathLike) -> Path:
    text = str(uri)
    parsed = urlparse(text)
    if parsed.scheme in ("", "file"):
        return Path(parsed.path if parsed.scheme else text)
    raise ValueError(
        f"model store {text!r}: only local paths and file:// URIs are supported so far; "
        "set PROPENSITY_MODEL_STORE to a directory"
    )


class ModelStore:
    """Save and load model versions; a version directory appears atomically or not at all."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = _root_path(root)

    def uri(self, version: str) -> str:
        """Where a version lives."""
        return (self.root / version).resolve().as_uri()

    def exists(self, version: str) -> bool:
        """Whether a version has been saved."""
        return (self.root / version / MODEL_FILE).is_file()

    def save(self, version: str, payload: bytes, metadata: dict) -> str:
        """Write ``payload`` and ``metadata`` under ``version``; return its URI."""
        target = self.root / version
        if self.exists(version):
            return self.uri(version)
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{version}.", dir=self.root))
        try:
            (staging / MODEL_FILE).write_bytes(payload)
            (staging / METADATA_FILE).write_text(json.dumps(metadata, indent=2, default=str))
            os.replace(staging, target)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            if not self.exists(version):
                raise
        return self.uri(version)

    @staticmethod
    def load_uri(uri: str) -> tuple[bytes, dict]:
        """Read a version's payload and metadata from its URI."""
        path = _root_path(uri)
        if not (path / MODEL_FILE).is_file():
            raise FileNotFoundError(
                f"model artifact {uri} not found: was the model store moved? Re-run "
                "`dbt build --select churn_model_registry+` to retrain"
            )
        return (path / MODEL_FILE).read_bytes(), json.loads((path / METADATA_FILE).read_text())
