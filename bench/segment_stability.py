"""Segment stability: do two builds one month apart put the same customers together?

Generates one history through month M, then runs the whole pipeline twice in one state
folder: first on that landing zone cut back to what was known at the end of month M-1
(month M's transaction file removed; support contacts, offers, accounts, customers and
indicators from M on dropped, accounts closed in M still open), then on the whole of it
(ingestion replaces the files that changed). The second build trains a new model and carries
or refits the segments. On the customers scored by both builds it prints:

* the adjusted Rand index (ARI) of the two segmentations (1 = the same groups, whatever the
  ids; 0 = no more alike than chance); the target is 0.8 or more;
* the share of customers who kept their segment id (ids are matched across builds);
* both builds' segments by name, and the cross-table of customers.

It is a benchmark, not a test: about 10 minutes at 1,000 customers on a 2-core machine.

    python bench/segment_stability.py --customers 1000 --months 24
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent


def _published(home: Path, table: str) -> pd.DataFrame:
    serving = home / "serving"
    version = (serving / "CURRENT").read_text().strip()
    return pq.read_table(serving / "versions" / version / table).to_pandas()


def _previous_month(month: str) -> str:
    year, number = (int(part) for part in month.split("-"))
    year, number = (year - 1, 12) if number == 1 else (year, number - 1)
    return f"{year:04d}-{number:02d}"


def known_by(landing: Path, month: str) -> None:
    """Cut a generated landing zone back, in place, to what was known before ``month``
    (YYYY-MM) began: the same customers' history, observed one month earlier."""
    start = f"{month}-01"
    (landing / "transactions" / f"transactions_{month.replace('-', '_')}.csv").unlink()

    def rewrite_csv(path: Path, keep, change=None) -> None:
        if not path.is_file():  # the retail scenario has customers and transactions only
            return
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
        fields = list(rows[0]) if rows else []
        rows = [change(r) if change else r for r in rows if keep(r)]
        with path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields, quoting=csv.QUOTE_MINIMAL)
            writer.writeheader()
            writer.writerows(rows)

    def still_open(row: dict) -> dict:
        if row["closed_date"] and row["closed_date"] >= start:
            row = {**row, "closed_date": "", "status": "open"}
        return row

    rewrite_csv(
        landing / "accounts" / "accounts.csv", lambda r: r["opened_date"] < start, still_open
    )
    rewrite_csv(landing / "customers" / "customers.csv", lambda r: r["signup_date"] < start)
    rewrite_csv(
        landing / "economic_indicators" / "economic_indicators.csv", lambda r: r["month"] < month
    )
    support = landing / "support_interactions" / "support_interactions.jsonl"
    if not support.is_file():
        return

    def known(line: str) -> bool:
        try:
            return str(json.loads(line).get("created_at", "")) < start
        except (ValueError, AttributeError):  # a planted bad record: ingestion quarantines it
            return True

    lines = support.read_text().splitlines()
    support.write_text("".join(line + "\n" for line in lines if known(line)))
    offers_path = landing / "marketing_offers" / "marketing_offers.parquet"
    offers = pq.read_table(offers_path).to_pandas()
    offers = offers[offers["offered_at"] < pd.Timestamp(start)].copy()
    later = offers["responded_at"] >= pd.Timestamp(start)
    offers.loc[later, "response"] = "none"
    offers.loc[later, "responded_at"] = pd.NaT
    offers.to_parquet(offers_path, index=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1000, help="customers (default 1000)")
    parser.add_argument("--months", type=int, default=24, help="months in the second build")
    parser.add_argument("--end-month", default="2026-09", help="the second build's last month")
    parser.add_argument("--scenario", choices=("bank", "retail"), default="bank")
    parser.add_argument("--home", type=Path, help="state folder (default: a temporary one)")
    args = parser.parse_args(argv)

    home = args.home or Path(tempfile.mkdtemp(prefix="segment-stability-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROPENSITY_")}
    env.update(
        PROPENSITY_HOME=str(home),
        DBT_TARGET_PATH=str(home / "target"),
        DBT_LOG_PATH=str(home / "logs"),
    )
    common = ["--customers", str(args.customers), "--months", str(args.months)]
    common += ["--end-month", args.end_month]

    def propensity(step: list[str]) -> bool:
        started = time.monotonic()
        print(f"propensity {' '.join(step)} ...", flush=True)
        done = subprocess.run(
            [sys.executable, "-m", "pipeline.cli", *step],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            print((done.stdout + done.stderr)[-4000:], file=sys.stderr)
            return False
        print(f"  {time.monotonic() - started:.0f} s", flush=True)
        return True

    if not propensity(["generate", *common, "--scenario", args.scenario]):
        return 1
    landing, full = home / "landing", home / "landing_through_last_month"
    shutil.copytree(landing, full)
    known_by(landing, args.end_month)
    builds = []
    for end, restore in ((_previous_month(args.end_month), False), (args.end_month, True)):
        if restore:
            shutil.rmtree(landing)
            shutil.copytree(full, landing)
        if not propensity(["run", "--scenario", args.scenario]):
            return 1
        customers = _published(home, "customers")[["customer_id", "segment_id", "segment_name"]]
        segments = _published(home, "segments")
        builds.append((end, customers, segments))

    from sklearn.metrics import adjusted_rand_score

    (first_month, first, first_segments), (second_month, second, second_segments) = builds
    both = first.merge(second, on="customer_id", suffixes=("_before", "_after"))
    ari = adjusted_rand_score(both["segment_id_before"], both["segment_id_after"])
    kept = (both["segment_id_before"] == both["segment_id_after"]).mean()
    for month, segments in ((first_month, first_segments), (second_month, second_segments)):
        print(f"\nsegments of the build through {month}:")
        columns = ["segment_id", "segment_name", "customer_count", "is_new_segment"]
        print(segments[[c for c in columns if c in segments]].to_string(index=False))
    print("\ncustomers by segment id (rows: before, columns: after):")
    print(pd.crosstab(both["segment_id_before"], both["segment_id_after"]).to_string())
    print(
        f"\ncustomers scored by both builds: {len(both):,} (of {len(first):,} and {len(second):,})"
    )
    print(f"adjusted Rand index: {ari:.3f} (target >= 0.8)")
    print(f"kept their segment id: {kept:.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
