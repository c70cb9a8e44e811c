"""Scale benchmark: the pipeline's steps and dbt models at several sizes, with the scaling
exponent of each (time ∝ N^k between consecutive sizes).

For each size it makes a fresh state folder, then runs each step as its own `propensity`
process, as a user would: `generate`, `ingest`, `dbt build`, `publish`. For each step it
records the wall time and the CPU-seconds of the whole process tree (the Python process, the
Spark JVM and Spark's Python workers, read from /proc while it runs), and for `dbt build`
the execution time of every model and test from dbt's run_results.json.

    python bench/pipeline_scale.py --sizes 2000,8000,32000 --months 24

The target of issue 7 is 1,000,000 customers × 36 months with ingest + dbt build + publish
in 20 minutes on 2 cores; run it with `--sizes 50000,200000,1000000 --months 36` and a few
hours to spare.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK")
STEPS = ["generate", "ingest", "dbt build", "publish"]


class TreeCpu:
    """CPU-seconds used by a process and all its descendants, sampled from /proc (a process
    that lives less than one sampling interval is missed)."""

    def __init__(self, root: int, interval: float = 0.25) -> None:
        self.root, self.interval = root, interval
        self.seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _children(self) -> dict[int, int]:
        parents = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                    parents[int(entry.name)] = int(fields[1])
                except (OSError, IndexError, ValueError):
                    continue
        return parents

    def _sample(self) -> None:
        parents = self._children()
        tree, frontier = {self.root}, [self.root]
        while frontier:
            pid = frontier.pop()
            for child, parent in parents.items():
                if parent == pid and child not in tree:
                    tree.add(child)
                    frontier.append(child)
        for pid in tree:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                self.seen[pid] = (int(fields[11]) + int(fields[12])) / TICKS
            except (OSError, IndexError, ValueError):
                continue

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return sum(self.seen.values())


def run_step(command: list[str], env: dict, log: Path) -> tuple[float, float]:
    """Wall seconds and process-tree CPU-seconds of one `propensity` command."""
    started = time.monotonic()
    with log.open("a") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "pipeline.cli", *command],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        monitor = TreeCpu(process.pid)
        code = process.wait()
    cpu = monitor.stop()
    if code:
        raise SystemExit(f"`propensity {' '.join(command)}` failed ({code}): see {log}")
    return time.monotonic() - started, cpu


def dbt_node_seconds(target: Path) -> dict[str, float]:
    """Execution seconds of every dbt node in the last run."""
    results = json.loads((target / "run_results.json").read_text())["results"]
    return {r["unique_id"].split(".", 2)[-1]: float(r["execution_time"]) for r in results}


def exponent(t1: float, t2: float, n1: int, n2: int) -> float:
    return math.log(max(t2, 1e-6) / max(t1, 1e-6)) / math.log(n2 / n1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="2000,8000,32000", help="customers, comma-separated")
    parser.add_argument("--months", type=int, default=24, help="months of history")
    parser.add_argument("--keep", action="store_true", help="keep the state folders")
    parser.add_argument("--top", type=int, default=12, help="dbt nodes listed per size")
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    work = Path(tempfile.mkdtemp(prefix="propensity-scale-"))
    table: dict[int, dict[str, tuple[float, float]]] = {}
    nodes: dict[int, dict[str, float]] = {}
    print(f"machine: {os.cpu_count()} cores; state under {work}", flush=True)
    for size in sizes:
        home = work / f"n{size}"
        env = {
            # the pipeline sizes Spark's memory and shuffle partitions from the landing zone
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith("PROPENSITY_")
                and k not in ("SPARK_DRIVER_MEMORY", "SPARK_SHUFFLE_PARTITIONS")
            },
            "PROPENSITY_HOME": str(home),
            "DBT_TARGET_PATH": str(home / "target"),
            "DBT_LOG_PATH": str(home / "logs"),
        }
        log = work / f"n{size}.log"
        commands = {
            "generate": ["generate", "--customers", str(size), "--months", str(args.months)],
            "ingest": ["ingest"],
            "dbt build": ["dbt", "build"],
            "publish": ["publish"],
        }
        table[size] = {}
        for step in STEPS:
            table[size][step] = run_step(commands[step], env, log)
            wall, cpu = table[size][step]
            print(f"{size:>9,} {step:<10} {wall:8.1f} s wall {cpu:8.1f} CPU-s", flush=True)
        nodes[size] = dbt_node_seconds(home / "target")
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)

    print(f"\nper step, {args.months} months (wall s / CPU-s; k = scaling exponent)")
    header = "".join(f"{s:>20,}" for s in sizes)
    print(f"{'step':<24}{header}{'k (last pair)':>16}")
    for step in [*STEPS, "ingest+build+publish"]:
        cells, walls = [], []
        for size in sizes:
            if step == "ingest+build+publish":
                wall = sum(table[size][s][0] for s in STEPS[1:])
                cpu = sum(table[size][s][1] for s in STEPS[1:])
            else:
                wall, cpu = table[size][step]
            walls.append(wall)
            cells.append(f"{wall:9.1f} / {cpu:8.1f}")
        k = exponent(walls[-2], walls[-1], sizes[-2], sizes[-1]) if len(sizes) > 1 else math.nan
        print(f"{step:<24}" + "".join(f"{c:>20}" for c in cells) + f"{k:>16.2f}")

    largest = sizes[-1]
    print(f"\nslowest dbt nodes at {largest:,} customers (execution s; k between the last sizes)")
    for name, seconds in sorted(nodes[largest].items(), key=lambda kv: -kv[1])[: args.top]:
        before = nodes[sizes[-2]].get(name) if len(sizes) > 1 else None
        k = exponent(before, seconds, sizes[-2], largest) if before else math.nan
        print(f"  {name:<70} {seconds:8.1f} {k:6.2f}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
