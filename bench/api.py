"""API benchmark: the customer lookup against a bare Starlette JSON endpoint, side by side in
one run, and the API's memory at two numbers of published customers.

Writes synthetic published versions (the columns `propensity publish` writes, three SHAP
drivers per customer) and indexes them as publish does, serves the API and
bench/bare_app.py with the same uvicorn settings (one process each, no access log), and
loads each with wrk on loopback (random ids, a real API key). Prints req/s and p50/p99 for
both with the ratios, then the API's RSS after load at each size and the projection to 10
million customers.

    python bench/api.py --customers 200000 --memory-sizes 100000,1000000
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from serving.api.security import add_key  # noqa: E402
from serving.index import build_index  # noqa: E402


def customer_id(i: int) -> str:
    return f"C{i:07d}"


def write_published(serving: Path, customers: int, seed: int = 7) -> float:
    """A complete published version of ``customers`` scored customers; returns the seconds
    its index took to build."""
    import json

    rng = np.random.default_rng(seed)
    root = serving / "versions" / "v1"
    probability = rng.beta(1.2, 6.0, customers)
    ids = [customer_id(i) for i in range(customers)]
    driver = pa.struct(
        [
            ("driver_rank", pa.int32()),
            ("feature_name", pa.string()),
            ("feature_description", pa.string()),
            ("feature_value", pa.float64()),
            ("shap_value", pa.float64()),
        ]
    )
    names = ["days_since_last_transaction", "transaction_count_trend_12m", "complaint_count"]
    chunk = 200_000
    (root / "customers").mkdir(parents=True)
    for part, start in enumerate(range(0, customers, chunk)):
        n = min(chunk, customers - start)
        drivers = [
            [
                {
                    "driver_rank": r + 1,
                    "feature_name": names[r],
                    "feature_description": f"Readable description of {names[r]}",
                    "feature_value": float(v),
                    "shap_value": float(s),
                }
                for r, (v, s) in enumerate(zip(values, shaps, strict=True))
            ]
            for values, shaps in zip(
                rng.gamma(2, 20, (n, 3)), rng.normal(0.3, 0.1, (n, 3)), strict=True
            )
        ]
        p = probability[start : start + n]
        table = pa.table(
            {
                "customer_id": ids[start : start + n],
                "model_version": ["churn-xgb-202609-bench"] * n,
                "risk_band": np.where(p > 0.4, "high", np.where(p > 0.2, "medium", "low")),
                "segment_name": ["Segment 0: Quiet lately"] * n,
                "top_driver_description": ["Days since the last transaction"] * n,
                "churn_probability": p,
                "score_percentile": np.clip((p * 100).astype(np.int32), 1, 100),
                "segment_id": rng.integers(0, 5, n).astype(np.int32),
                "top_drivers": pa.array(drivers, pa.list_(driver)),
                "as_of_month": [date(2026, 9, 1)] * n,
                "scored_at": [datetime(2026, 10, 1)] * n,
            }
        )
        pq.write_table(table, root / "customers" / f"part-{part:05d}.parquet")
    small = {
        "segments": pa.table({"segment_id": [0], "segment_name": ["Segment 0"]}),
        "models": pa.table({"model_version": ["churn-xgb-202609-bench"], "roc_auc": [0.7]}),
        "coverage": pa.table(
            {
                "customer_id": ["X1"],
                "unscored_reason": ["contract_ended"],
                "unscored_reason_description": ["the contract ended"],
            }
        ),
    }
    for name, table in small.items():
        (root / name).mkdir()
        pq.write_table(table, root / name / "part-00000.parquet")
    started = time.perf_counter()
    index = build_index(root)
    seconds = time.perf_counter() - started
    counts = {"customers": customers, **{k: t.num_rows for k, t in small.items()}}
    manifest = {
        "version": "v1",
        "published_at": "2026-10-01T00:00:00+00:00",
        "row_counts": counts,
        "index": index,
        "as_of_month": "2026-09-01",
        "model_version": "churn-xgb-202609-bench",
    }
    (root / "manifest.json").write_text(json.dumps(manifest))
    (serving / "CURRENT").write_text("v1\n")
    return seconds


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(app: str, env: dict, app_dir: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", app, "--port", str(port), "--no-access-log"]
        + ["--log-level", "warning", "--app-dir", str(app_dir)],
        env=env,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, port
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"{app} did not start")


def wrk(port: int, script: Path, seconds: int, connections: int) -> dict[str, float]:
    """req/s, p50 and p99 (ms) of one wrk run."""
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script)]
        + [f"http://127.0.0.1:{port}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "Non-2xx" in out:
        raise SystemExit(f"wrk saw errors:\n{out}")

    def latency(pct: str) -> float:
        value, unit = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return {"rps": rps, "p50": latency("50"), "p99": latency("99")}


def lua_script(folder: Path, customers: int, key: str) -> Path:
    rng = random.Random(42)
    ids = ", ".join(f'"{customer_id(rng.randrange(customers))}"' for _ in range(5000))
    script = folder / "lookup.lua"
    script.write_text(
        f"local ids = {{{ids}}}\n"
        "math.randomseed(42)\n"
        "request = function()\n"
        '  return wrk.format("GET", "/customers/" .. ids[math.random(#ids)], '
        f'{{["X-API-Key"] = "{key}"}})\n'
        "end\n"
    )
    return script


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=200_000, help="published, for speed")
    parser.add_argument("--memory-sizes", default="100000,1000000", help="two sizes for RSS")
    parser.add_argument("--seconds", type=int, default=15, help="each wrk run")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-api-"))
    try:
        serving = work / "serving"
        built = write_published(serving, args.customers)
        print(f"published {args.customers:,} customers; index built in {built:.1f}s")
        key = add_key(work / "keys", "bench")
        env = {
            **os.environ,
            "PROPENSITY_SERVING_DIR": str(serving),
            "PROPENSITY_API_KEYS_FILE": str(work / "keys"),
            "PROPENSITY_API_RATE_LIMIT": "100000000/minute",
        }
        script = lua_script(work, args.customers, key)
        results = {}
        for name, app in (
            ("bare Starlette", "bare_app:app"),
            ("API lookup", "serving.api.main:app"),
        ):
            process, port = serve(app, env, ROOT / "bench" if "bare" in app else ROOT)
            try:
                wrk(port, script, 3, args.connections)  # warm-up
                results[name] = wrk(port, script, args.seconds, args.connections)
            finally:
                process.terminate()
                process.wait(30)
        print(f"\nwrk -t1 -c{args.connections} -d{args.seconds}s, random ids, loopback")
        print(f"{'endpoint':<16}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
        for name, r in results.items():
            print(f"{name:<16}{r['rps']:>10,.0f}{r['p50']:>10.2f}{r['p99']:>10.2f}")
        bare, api = results["bare Starlette"], results["API lookup"]
        print(
            f"ratio API/bare: throughput {api['rps'] / bare['rps']:.2f} (target >= 0.50), "
            f"p99 {api['p99'] / bare['p99']:.2f} (target <= 2.00)"
        )

        sizes = [int(s) for s in args.memory_sizes.split(",")]
        rss = {}
        for size in sizes:
            folder = work / f"memory-{size}"
            write_published(folder / "serving", size)
            size_env = {**env, "PROPENSITY_SERVING_DIR": str(folder / "serving")}
            process, port = serve("serving.api.main:app", size_env, ROOT)
            try:
                wrk(port, lua_script(folder, size, key), 5, args.connections)
                rss[size] = rss_mb(process.pid)
            finally:
                process.terminate()
                process.wait(30)
            shutil.rmtree(folder, ignore_errors=True)
        print("\nAPI RSS after 5 s of lookups")
        for size, mb in rss.items():
            print(f"  {size:>12,} customers: {mb:,.0f} MB")
        (small, a), (large, b) = sorted(rss.items())
        per_customer = (b - a) * 1024 * 1024 / (large - small)
        projected = b + per_customer * (10_000_000 - large) / (1024 * 1024)
        print(
            f"  {per_customer:,.1f} bytes per customer; projected at 10,000,000: "
            f"{projected:,.0f} MB (target < 2,048)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
