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


def test_remote_stores_are_refused_clearly():
    with pytest.raises(ValueError, match="PROPENSITY_MODEL_STORE"):
        ModelStore("s3://bucket/models")
