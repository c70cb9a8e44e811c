"""Every command has --help, and the API process never starts a Spark JVM."""

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli import build_parser

COMMANDS = ["run", "generate", "ingest", "dbt", "publish", "serve-api", "dashboard"]


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
