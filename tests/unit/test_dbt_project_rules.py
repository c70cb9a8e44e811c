"""The dbt-project-evaluator rules this project once broke, checked on the parsed manifest.

dbt-project-evaluator cannot be installed from the dbt hub here, so its rules that flagged
this project are checked directly: every model has a primary-key test, every source is used
and has freshness, every model an exposure reads is public with an enforced contract, and
staging models (stg_, and the base_ models they build on) alone read sources.
"""

from __future__ import annotations

import json
import os

import pytest

from pipeline.config import PROJECT_DIR


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> dict:
    from dbt.cli.main import dbtRunner

    target = tmp_path_factory.mktemp("dbt-parse")
    env = {"DBT_TARGET_PATH": str(target), "DBT_LOG_PATH": str(target / "logs")}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        result = dbtRunner().invoke(
            ["parse", "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR)]
        )
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    assert result.success, result.exception
    return json.loads((target / "manifest.json").read_text())


def _models(manifest):
    return {k: n for k, n in manifest["nodes"].items() if n["resource_type"] == "model"}


def _tests_on(manifest, node_id):
    for node in manifest["nodes"].values():
        if node["resource_type"] == "test" and node_id in node["depends_on"]["nodes"]:
            meta = node.get("test_metadata") or {}
            if meta:
                yield meta.get("name"), meta.get("kwargs", {}).get("column_name"), node


UNIQUE_TESTS = ("unique", "expect_column_values_to_be_unique")


def test_every_model_has_a_primary_key_test(manifest):
    missing = []
    for node_id, node in _models(manifest).items():
        not_null = {col for name, col, _ in _tests_on(manifest, node_id) if name == "not_null"}
        tests = list(_tests_on(manifest, node_id))
        # expect_column_values_to_be_unique may check a hash sample of a key that the model
        # makes unique by construction (tests/generic/expect_column_values_to_be_unique.sql)
        single = [col for name, col, _ in tests if name in UNIQUE_TESTS and col in not_null]
        compound = [name for name, _, _ in tests if name == "expect_compound_columns_to_be_unique"]
        # a one-row table (checked by a row-count test) is keyed by being one row
        one_row = [
            name
            for name, _, test in tests
            if name == "expect_table_row_count_to_be_between"
            and test["test_metadata"]["kwargs"].get("max_value") == 1
        ]
        if not (single or compound or one_row):
            missing.append(node["name"])
    assert missing == [], f"models without a primary-key test (unique + not_null): {missing}"


def test_every_source_is_used_and_has_freshness(manifest):
    used = {d for n in manifest["nodes"].values() for d in n["depends_on"].get("nodes", [])}
    sources = manifest["sources"]
    assert sorted(s["name"] for k, s in sources.items() if k not in used) == []
    assert all(s.get("loaded_at_field") for s in sources.values())
    # optional feeds may stay empty, so only the required ones get a freshness threshold
    required = [s for s in sources.values() if not s["meta"].get("optional")]
    assert sorted(s["name"] for s in required) == ["customers", "transactions"]
    assert all((s.get("freshness") or {}).get("error_after", {}).get("count") for s in required)


def test_exposures_read_only_public_contracted_models(manifest):
    for exposure in manifest["exposures"].values():
        for parent in exposure["depends_on"]["nodes"]:
            if not parent.startswith("model."):  # seeds: reference data, no contracts
                continue
            node = manifest["nodes"][parent]
            assert node["access"] == "public", (exposure["name"], node["name"])
            assert node["config"]["contract"]["enforced"], (exposure["name"], node["name"])


def test_only_staging_models_read_sources(manifest):
    readers = {
        n["name"]
        for n in _models(manifest).values()
        if any(d.startswith("source.") for d in n["depends_on"]["nodes"])
    }
    assert all(name.startswith(("stg_", "base_")) for name in readers), readers
