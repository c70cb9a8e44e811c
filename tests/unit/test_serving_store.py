"""Published versions: readers follow CURRENT and never see a half-written version."""

import json

import pandas as pd
import pytest

from pipeline.publish import prune, switch_current
from serving.layout import POINTER_FILE
from serving.store import NotPublishedError, SnapshotCache, current_version, load_snapshot


def _fake_version(serving, version, customers=("C1",)):
    root = serving / "versions" / version
    for name in ("customers", "segments", "models"):
        (root / name).mkdir(parents=True)
    pd.DataFrame({"customer_id": list(customers), "churn_probability": 0.5}).to_parquet(
        root / "customers" / "part-0.parquet"
    )
    pd.DataFrame({"segment_id": [0]}).to_parquet(root / "segments" / "part-0.parquet")
    pd.DataFrame({"model_version": ["m1"], "roc_auc": [0.7]}).to_parquet(
        root / "models" / "part-0.parquet"
    )
    (root / "manifest.json").write_text(json.dumps({"version": version, "model_version": "m1"}))


def test_nothing_published_is_explained(tmp_path):
    assert current_version(tmp_path) is None
    with pytest.raises(NotPublishedError, match="propensity run"):
        load_snapshot(tmp_path)


def test_cache_moves_to_the_new_version_only_when_current_switches(tmp_path):
    _fake_version(tmp_path, "v1", ["C1"])
    switch_current(tmp_path, "v1")
    cache = SnapshotCache(tmp_path)
    assert list(cache.get().customers.index) == ["C1"]

    _fake_version(tmp_path, "v2", ["C1", "C2"])  # written, not yet switched
    assert cache.get().version == "v1"
    switch_current(tmp_path, "v2")
    assert cache.get().version == "v2"
    assert cache.get().current_model["roc_auc"] == 0.7


def test_switch_leaves_no_temporary_files(tmp_path):
    switch_current(tmp_path, "v1")
    switch_current(tmp_path, "v2")
    assert sorted(p.name for p in tmp_path.iterdir()) == [POINTER_FILE]
    assert current_version(tmp_path) == "v2"


def test_prune_keeps_the_newest_and_the_current(tmp_path):
    for v in ("v1", "v2", "v3", "v4"):
        _fake_version(tmp_path, v)
    switch_current(tmp_path, "v1")  # rolled back to an old version
    prune(tmp_path, keep=2)
    assert sorted(p.name for p in (tmp_path / "versions").iterdir()) == ["v1", "v3", "v4"]
