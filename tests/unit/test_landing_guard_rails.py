"""Landing-zone guard rails: sample data never lands in a user's folder, and files where no
source reads them stop the run with the expected layout. All of it happens before Spark."""

from __future__ import annotations

import os

import pytest

from pipeline.cli import main


@pytest.fixture
def isolated_env(monkeypatch):
    """main() exports PROPENSITY_* paths: record them so they are restored afterwards."""
    for name in [n for n in os.environ if n.startswith("PROPENSITY_")]:
        monkeypatch.setenv(name, os.environ[name])
    for name in ("LANDING_DIR", "WAREHOUSE_DIR", "METASTORE_DIR", "MODEL_STORE", "SERVING_DIR"):
        monkeypatch.setenv(f"PROPENSITY_{name}", "")
        monkeypatch.delenv(f"PROPENSITY_{name}")
    return monkeypatch


def test_flat_files_stop_the_run_with_the_expected_layout(tmp_path, isolated_env, caplog):
    landing = tmp_path / "export"
    landing.mkdir()
    (landing / "customers.csv").write_text("customer_id\nC1\n")
    (landing / "Transactions").mkdir()
    (landing / "Transactions" / "2024.csv").write_text("transaction_id\nT1\n")
    isolated_env.setenv("PROPENSITY_LANDING_DIR", str(landing))

    assert main(["--home", str(tmp_path / "home"), "run"]) == 2

    assert "customers.csv: a file directly in the landing folder (move it to customers/)" in (
        caplog.text
    )
    assert "Transactions/: not a source folder, 1 file(s) ignored (rename it to transactions/)" in (
        caplog.text
    )
    assert "customers/*.csv  (required" in caplog.text
    assert sorted(p.name for p in landing.iterdir()) == ["Transactions", "customers.csv"]


def test_an_empty_user_folder_gets_no_sample_data(tmp_path, isolated_env, caplog):
    landing = tmp_path / "export"
    landing.mkdir()
    isolated_env.setenv("PROPENSITY_LANDING_DIR", str(landing))

    assert main(["--home", str(tmp_path / "home"), "run"]) == 2
    assert main(["--home", str(tmp_path / "home"), "generate", "--customers", "20"]) == 2

    assert "Sample data is generated only into the sample folder" in caplog.text
    assert "Add --sample to write sample data there anyway" in caplog.text
    assert list(landing.iterdir()) == []


def test_sample_data_goes_into_a_user_folder_only_with_sample(tmp_path, isolated_env):
    landing = tmp_path / "export"
    isolated_env.setenv("PROPENSITY_LANDING_DIR", str(landing))
    home = str(tmp_path / "home")

    assert (
        main(["--home", home, "generate", "--customers", "20", "--months", "12", "--sample"]) == 0
    )

    assert (landing / "customers").is_dir()
