"""Every command has --help, and the API process never starts a Spark JVM."""

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli import build_parser

COMMANDS = ["run", "generate", "ingest", "quarantine", "dbt", "publish", "serve-api", "dashboard"]


@pytest.mark.parametrize("argv", [[], *([c] for c in COMMANDS)])
def test_help(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args([*argv, "--help"])
    assert exit_.value.code == 0
    assert "usage: propensity" in capsys.readouterr().out


def test_installed_console_script_answers_help():
    script = Path(sys.executable).with_name("propensity")
    out = subprocess.run([script, "--help"], capture_output=True, text=True, check=True).stdout
    for command in COMMANDS:
        assert command in out


def test_serving_code_imports_without_pyspark():
    code = (
        "import sys, serving.api.main, serving.store, serving.dashboard.data; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyspark', 'py4j')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_second_command_on_the_same_state_folder_is_refused_at_once(
    tmp_path, caplog, monkeypatch
):
    import os

    from pipeline.cli import main, state_lock
    from pipeline.config import Paths

    for name in [n for n in os.environ if n.startswith("PROPENSITY_")]:
        monkeypatch.setenv(name, os.environ[name])  # main() exports paths: restore after
    for name in ("LANDING_DIR", "WAREHOUSE_DIR", "METASTORE_DIR", "MODEL_STORE", "SERVING_DIR"):
        monkeypatch.setenv(f"PROPENSITY_{name}", "")  # recorded, so restored (or unset) after
        monkeypatch.delenv(f"PROPENSITY_{name}")
    paths = Paths.from_env(tmp_path)
    with state_lock(paths, "run"):
        assert main(["--home", str(tmp_path), "ingest"]) == 3
    assert "is in use by `propensity run` (pid" in caplog.text
    assert "own PROPENSITY_HOME" in caplog.text
    with state_lock(paths, "run"):  # released: free again
        pass


def test_driver_memory_grows_with_the_landing_zone_within_the_machine():
    from pipeline.spark import GIB, driver_memory_for

    assert driver_memory_for(50 << 20, 24 * GIB) == "4g"  # a sample zone: the default
    assert driver_memory_for(2 * GIB, 24 * GIB) == "10g"
    assert driver_memory_for(20 * GIB, 24 * GIB) == "16g"  # 70% of the machine at most
    assert driver_memory_for(20 * GIB, 4 * GIB) == "4g"  # never below the default


def test_shuffle_partitions_grow_with_the_landing_zone():
    from pipeline.spark import GIB, shuffle_partitions_for

    assert shuffle_partitions_for(50 << 20) == 4  # a sample zone: the default
    assert shuffle_partitions_for(10 * GIB) == 40
    assert shuffle_partitions_for(1000 * GIB) == 200
