"""ModelStore: versions appear whole, are never overwritten, and unknown URIs are explained."""

import pytest

from ml.store import ModelStore


def test_save_then_load_round_trips(tmp_path):
    store = ModelStore(tmp_path)
    uri = store.save("v1", b"payload", {"auc": 0.7})
    assert uri.startswith("file://") and store.exists("v1")
    assert ModelStore.load_uri(uri) == (b"payload", {"auc": 0.7})


def test_saving_an_existing_version_keeps_the_first(tmp_path):
    store = ModelStore(tmp_path)
    uri = store.save("v1", b"first", {})
    assert store.save("v1", b"second", {}) == uri
    assert ModelStore.load_uri(uri)[0] == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["v1"], "no staging folders left behind"


def test_a_missing_artifact_says_how_to_rebuild(tmp_path):
    with pytest.raises(FileNotFoundError, match="churn_model_registry"):
        ModelStore.load_uri((tmp_path / "gone").as_uri())


def test_remote_stores_go_through_fsspec(monkeypatch):
    """Any fsspec URI works (memory:// here; s3:// with s3fs from the sagemaker extra)."""
    pytest.importorskip("fsspec")
    store = ModelStore("memory://models")
    uri = store.save("v1", b"payload", {"auc": 0.7})
    assert uri == "memory://models/v1" and store.exists("v1")
    assert ModelStore.load_uri(uri) == (b"payload", {"auc": 0.7})
    assert store.save("v1", b"second", {}) == uri
    assert ModelStore.load_uri(uri)[0] == b"payload", "a saved version is never overwritten"
    with pytest.raises(FileNotFoundError, match="churn_model_registry"):
        ModelStore.load_uri("memory://models/gone")


def test_a_sagemaker_model_tarball_is_read_local_or_remote(tmp_path):
    import io
    import json
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, body in (("model.bin", b"m"), ("metadata.json", json.dumps({"a": 1}).encode())):
            info = tarfile.TarInfo(name)
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))
    (tmp_path / "model.tar.gz").write_bytes(buffer.getvalue())
    assert ModelStore.load_uri(str(tmp_path / "model.tar.gz")) == (b"m", {"a": 1})
    fsspec = pytest.importorskip("fsspec")
    fsspec.filesystem("memory").pipe_file("/jobs/j/output/model.tar.gz", buffer.getvalue())
    assert ModelStore.load_uri("memory://jobs/j/output/model.tar.gz") == (b"m", {"a": 1})


def test_an_unknown_scheme_is_refused_clearly():
    with pytest.raises(ValueError, match="model store 'nosuch://bucket/models/v1'"):
        ModelStore("nosuch://bucket/models").exists("v1")
