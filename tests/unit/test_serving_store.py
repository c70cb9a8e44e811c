"""Published versions: readers follow CURRENT and never see a half-written version."""

import shutil

import pytest

from pipeline.publish import prune, switch_current
from serving.layout import POINTER_FILE
from serving.store import (
    IncompleteVersionError,
    NotPublishedError,
    SnapshotCache,
    current_version,
    load_snapshot,
)
from tests.published import write_version


def _fake_version(serving, version, customers=("C1",)):
    write_version(serving, version, list(customers))


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


def _unfinished(root):
    (root / "manifest.json").unlink()


def _short(root):
    shutil.rmtree(root / "customers")
    write_version(root.parent.parent / "spare", "x", ["C1", "C2", "C3"])
    shutil.move(root.parent.parent / "spare" / "versions" / "x" / "customers", root / "customers")


def _gone(root):
    shutil.rmtree(root)


def _garbled(root):
    next((root / "models").glob("*.parquet")).write_bytes(b"not parquet")


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (_unfinished, "has no manifest.json"),
        (_short, "has 3 rows, its manifest says 1"),
        (_gone, "does not exist"),
        (_garbled, "models cannot be read"),
    ],
)
def test_a_broken_current_keeps_the_last_good_version_and_says_why(tmp_path, damage, reason):
    _fake_version(tmp_path, "v1", ["C1", "C2"])
    switch_current(tmp_path, "v1")
    cache = SnapshotCache(tmp_path)
    assert cache.get().version == "v1" and cache.problem is None

    damage(write_version(tmp_path, "v2", ["C1"]))
    switch_current(tmp_path, "v2")
    assert cache.get().version == "v1"
    assert reason in cache.problem and "serving v1" in cache.problem
    with pytest.raises(IncompleteVersionError, match=reason):
        load_snapshot(tmp_path, "v2")

    write_version(tmp_path, "v3", ["C1", "C2", "C3"])
    switch_current(tmp_path, "v3")  # the next good publish is taken at once
    assert cache.get().version == "v3" and cache.problem is None


def test_starting_against_a_broken_pointer_serves_the_newest_complete_version(tmp_path):
    _fake_version(tmp_path, "v1")
    _fake_version(tmp_path, "v2", ["C1", "C2"])
    _unfinished(write_version(tmp_path, "v3"))
    switch_current(tmp_path, "v3")
    cache = SnapshotCache(tmp_path)
    assert cache.get().version == "v2"
    assert "CURRENT points at 'v3'" in cache.problem


@pytest.mark.parametrize("pointer", ["../../etc", "v1/../v1", "x" * 200])
def test_a_pointer_that_is_no_version_name_is_never_followed(tmp_path, pointer):
    _fake_version(tmp_path, "v1")
    switch_current(tmp_path, pointer)
    cache = SnapshotCache(tmp_path)
    assert cache.get().version == "v1"
    assert "is not a version name" in cache.problem


def test_nothing_complete_is_not_published(tmp_path):
    _unfinished(write_version(tmp_path, "v1"))
    switch_current(tmp_path, "v1")
    with pytest.raises(NotPublishedError, match="has no manifest.json"):
        SnapshotCache(tmp_path).get()


def test_prune_never_counts_an_incomplete_version(tmp_path):
    for v in ("v1", "v2", "v3"):
        _fake_version(tmp_path, v)
    _unfinished(write_version(tmp_path, "v0"))  # a failed publish, older than CURRENT
    _unfinished(write_version(tmp_path, "v4"))  # newer than CURRENT: may be being written
    switch_current(tmp_path, "v3")
    prune(tmp_path, keep=2)
    assert sorted(p.name for p in (tmp_path / "versions").iterdir()) == ["v2", "v3", "v4"]


def test_the_api_index_is_checked_against_the_manifest(tmp_path):
    import json

    from serving.index import INDEX_FILE, build_index
    from serving.layout import version_problem

    root = write_version(tmp_path, "v1", ["C1", "C2"])
    counts = build_index(root)
    assert counts == {"customers": 2, "unscored": 1}
    manifest = json.loads((root / "manifest.json").read_text())
    (root / "manifest.json").write_text(json.dumps({**manifest, "index": counts}))
    assert version_problem(root) is None
    (root / INDEX_FILE).write_bytes(b"not sqlite")
    assert INDEX_FILE in version_problem(root)


def test_the_api_index_is_the_same_rendered_in_worker_processes(tmp_path, monkeypatch, caplog):
    """Large versions are rendered file by file in worker processes: the stored rows and
    responses are exactly those rendered in this process, in 16 KB pages."""
    import sqlite3

    import pyarrow.parquet as pq

    from serving.index import INDEX_FILE, PAGE_SIZE, build_index

    root = write_version(tmp_path, "v1", [f"C{i:03d}" for i in range(30)])
    folder = root / "customers"
    table = pq.read_table(folder / "part-00000.parquet")
    (folder / "part-00000.parquet").unlink()
    for n, start in enumerate(range(0, 30, 7)):  # five files, in reverse id order on disk
        pq.write_table(table.slice(start, 7), folder / f"part-{4 - n:05d}.parquet")

    def contents(workers):
        assert build_index(root, batch_rows=3, workers=workers) == {
            "customers": 30,
            "unscored": 1,
        }
        connection = sqlite3.connect(root / INDEX_FILE)
        try:
            page_size = connection.execute("pragma page_size").fetchone()[0]
            return page_size, [
                connection.execute(f"select * from {name} order by customer_id").fetchall()
                for name in ("customers", "unscored")
            ]
        finally:
            connection.close()

    in_process = contents(workers=1)
    assert in_process == contents(workers=2)
    assert in_process[0] == PAGE_SIZE
    assert [row[0] for row in in_process[1][0]] == [f"C{i:03d}" for i in range(30)]
    # the two workers really rendered: had they failed, this process would have, silently
    assert "rendering its remaining files in this process" not in caplog.text

    # a worker that cannot start: its files are rendered in this process, with a warning
    monkeypatch.setattr("sys.executable", "/bin/false")
    assert contents(workers=2) == in_process
    assert "rendering its remaining files in this process" in caplog.text
