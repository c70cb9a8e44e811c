"""Model-quality benchmark: out-of-time ROC AUC of the churn model against classic baselines.

For each scenario (bank: contractual; retail: non-contractual, buy-till-you-die) it runs the
whole pipeline (`propensity run`) on a generated landing zone in its own state folder, then
compares on the *same* out-of-time validation rows (customer x as_of_month):

* the model (XGBoost, as registered: selected on validation, calibrated, cross-fitted);
* the RFM logistic regression and the recency rule (fitted in the same training run);
* BG/NBD (Fader, Hardie and Lee 2005), fitted with pymc-marketing (MAP) on each customer's
  purchase history up to the last training month, then applied to each validation month's
  history: P(no purchase in the next H months) = 1 - P(alive) (1 - ((a+T)/(a+T+t))^(r+x));
* the generator's ceiling: retail, the true probability given each customer's latent state;
  bank, an oracle from the true monthly hazards (knows the latent path, not the draws).

It prints one table per scenario, pooled and per validation month, plus the model's expected
calibration error, and checks the issue's targets. It is a benchmark, not a test: it takes
about 5 minutes per scenario at 20,000 customers on a 2-core machine.

    python bench/model_quality.py --customers 20000 --months 24
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from sklearn.metrics import roc_auc_score

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.sample_data import (  # noqa: E402
    TRUTH_FOLDER,
    true_churn_probability_bank,
    true_repurchase_probability,
)
from serving.layout import table_folder  # noqa: E402

MAX_ROWS = 2_000_000  # never let the training run sample: every validation row is compared


def run_pipeline(scenario: str, home: Path, customers: int, months: int, horizon: int) -> float:
    """`propensity run` for one scenario in its own state folder; returns seconds taken."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROPENSITY_", "DBT_"))}
    env.update(
        PROPENSITY_HOME=str(home),
        DBT_TARGET_PATH=str(home / "dbt-target"),
        DBT_LOG_PATH=str(home / "dbt-logs"),
    )
    dbt_vars = json.dumps({"max_training_rows": MAX_ROWS, "churn_horizon_months": horizon})
    command = [sys.executable, "-m", "pipeline.cli", "run", "--regenerate"]
    command += ["--scenario", scenario, "--customers", str(customers), "--months", str(months)]
    command += ["--vars", dbt_vars]
    started = time.monotonic()
    with open(home / "pipeline.log", "w") as log:
        code = subprocess.call(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    if code:
        raise SystemExit(f"propensity run failed for {scenario}: see {home / 'pipeline.log'}")
    return time.monotonic() - started


def newest_metadata(home: Path) -> dict:
    """The newest model's metadata.json in the scenario's model store."""
    files = sorted(home.glob("model_store/*/metadata.json"), key=lambda p: p.stat().st_mtime)
    return json.loads(files[-1].read_text())


def validation_rows(home: Path) -> pd.DataFrame:
    """customer_id, as_of_month, label of the validation split (bounded: H months of rows)."""
    table = pq.read_table(
        table_folder(home / "warehouse", "churn_training_set"),
        columns=["customer_id", "as_of_month", "is_churned_within_horizon", "dataset_split"],
        filters=[("dataset_split", "=", "validation")],
    ).to_pandas()
    table["as_of_month"] = pd.to_datetime(table["as_of_month"])
    table["label"] = table["is_churned_within_horizon"].astype(int)
    return table[["customer_id", "as_of_month", "label"]]


def purchase_days(home: Path) -> pd.DataFrame:
    """Each customer's distinct purchase days, from the landing files (as BG/NBD counts them)."""
    frames = [
        pd.read_csv(path, usecols=["transaction_id", "customer_id", "transaction_at", "posted_at"])
        for path in sorted((home / "landing" / "transactions").glob("*.csv"))
    ]
    tx = pd.concat(frames).drop_duplicates("transaction_id")
    posted = pd.to_datetime(tx["posted_at"].fillna(tx["transaction_at"]), errors="coerce")
    tx = pd.DataFrame({"customer_id": tx["customer_id"], "day": posted.dt.normalize()}).dropna()
    return tx.drop_duplicates()


def rfm_summary(days: pd.DataFrame, cut: pd.Timestamp) -> pd.DataFrame:
    """BG/NBD's (frequency, recency, T) in days for purchases before ``cut``."""
    seen = days[days["day"] < cut].groupby("customer_id")["day"].agg(["min", "max", "count"])
    return pd.DataFrame(
        {
            "customer_id": seen.index,
            "frequency": (seen["count"] - 1).to_numpy(),
            "recency": (seen["max"] - seen["min"]).dt.days.to_numpy(),
            "T": (cut - seen["min"]).dt.days.to_numpy(),
        }
    )


def fit_bgnbd(summary: pd.DataFrame):
    """A BG/NBD model fitted by MAP with pymc-marketing on (frequency, recency, T) in days."""
    try:
        from pymc_marketing.clv import BetaGeoModel
    except ImportError:
        raise SystemExit(
            "BG/NBD needs pymc-marketing: `.venv/bin/pip install -e '.[bench]'`"
        ) from None
    model = BetaGeoModel(data=summary)
    model.fit(method="map", progressbar=False)
    return model


def bgnbd_churn_probability(model, summary: pd.DataFrame, horizon_days: int) -> np.ndarray:
    """P(no purchase within horizon_days after T | frequency, recency, T), pymc-marketing's."""
    probability = model.expected_probability_no_purchase(t=horizon_days, data=summary)
    probability = probability.mean([d for d in probability.dims if d != "customer_id"])
    return probability.sel(customer_id=summary["customer_id"].to_numpy()).to_numpy()


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    return float(roc_auc_score(y, score)) if len(np.unique(y)) == 2 else float("nan")


def evaluate(scenario: str, home: Path, horizon: int, with_bgnbd: bool) -> dict:
    """Every contender's AUC on the same validation rows, pooled and per month."""
    meta = newest_metadata(home)
    rows = validation_rows(home)
    months = sorted(rows["as_of_month"].unique())
    result = {
        "rows": len(rows),
        "churn_rate": float(rows["label"].mean()),
        "model_rows": meta["metrics"]["model"]["rows"],
        "ece": meta["metrics"]["model"]["ece"],
        "calibration": meta["calibration"]["method"],
        "months": [str(pd.Timestamp(m).date()) for m in months],
        "auc": {},
    }
    by_month = {m["as_of_month"]: m for m in meta["validation_metrics_by_month"]}
    for key, label in (
        ("model", "model (XGBoost)"),
        ("rfm", "RFM logistic regression"),
        ("recency", "recency rule"),
    ):
        result["auc"][label] = [meta["metrics"][key]["roc_auc"]] + [
            by_month[m][f"{key}_roc_auc"] for m in result["months"]
        ]
    if with_bgnbd:
        days = purchase_days(home)
        first_validation = pd.Timestamp(months[0])
        train_cut = first_validation - pd.DateOffset(months=horizon - 1)  # end of last train month
        model = fit_bgnbd(rfm_summary(days, train_cut))
        scores = pd.Series(np.nan, index=rows.index)
        for month in months:
            cut = pd.Timestamp(month) + pd.DateOffset(months=1)
            horizon_days = (cut + pd.DateOffset(months=horizon) - cut).days
            in_month = (rows["as_of_month"] == month).to_numpy()
            ids = rows.loc[in_month, "customer_id"].to_numpy()
            summary = rfm_summary(days, cut)
            summary = summary[summary["customer_id"].isin(ids)].reset_index(drop=True)
            p = bgnbd_churn_probability(model, summary, horizon_days)
            scores[in_month] = pd.Series(p, index=summary["customer_id"]).reindex(ids).to_numpy()
        posterior = model.fit_result
        result["bgnbd_params"] = {k: float(posterior[k].mean()) for k in ("r", "alpha", "a", "b")}
        # a contractual customer may have no purchase yet: give them the average
        scores = scores.fillna(scores.mean())
        result["auc"]["BG/NBD (pymc-marketing, MAP)"] = _per_month(rows, scores.to_numpy(), months)
    truth = home / "landing" / TRUTH_FOLDER
    if scenario == "retail" and (truth / "retail_truth.parquet").is_file():
        latent = pd.read_parquet(truth / "retail_truth.parquet")
        result["auc"]["ceiling (true latent state)"] = _ceiling(
            rows, months, lambda m: 1.0 - true_repurchase_probability(latent, m, horizon)
        )
    if scenario == "bank" and (truth / "bank_hazard.parquet").is_file():
        hazards = pd.read_parquet(truth / "bank_hazard.parquet")
        result["auc"]["ceiling (true hazards, oracle)"] = _ceiling(
            rows, months, lambda m: true_churn_probability_bank(hazards, m, horizon)
        )
    return result


def _ceiling(rows: pd.DataFrame, months, churn_probability) -> list[float]:
    """AUC of the generator's truth: ``churn_probability(month)`` is a Series by customer."""
    scores = np.empty(len(rows))
    for month in months:
        in_month = (rows["as_of_month"] == month).to_numpy()
        by_customer = churn_probability(month)
        scores[in_month] = by_customer.reindex(rows.loc[in_month, "customer_id"]).to_numpy()
    return _per_month(rows, scores, months)


def _per_month(rows: pd.DataFrame, scores: np.ndarray, months) -> list[float]:
    y = rows["label"].to_numpy()
    out = [_auc(y, scores)]
    for month in months:
        in_month = (rows["as_of_month"] == month).to_numpy()
        out.append(_auc(y[in_month], scores[in_month]))
    return out


def print_table(scenario: str, result: dict, seconds: float | None, customers: int) -> list[str]:
    """Print one scenario's table; return the failed targets."""
    heading = f"{scenario}: {customers:,} customers, {result['rows']:,} validation rows"
    heading += f" ({result['churn_rate']:.1%} churn)"
    if seconds is not None:
        heading += f", pipeline {seconds:.0f}s"
    print(f"\n{heading}")
    header = f"{'out-of-time ROC AUC':<32}{'pooled':>8}" + "".join(
        f"{m[:7]:>9}" for m in result["months"]
    )
    print(header)
    print("-" * len(header))
    for label, values in result["auc"].items():
        cells = "".join(f"{v:>9.4f}" if v is not None else f"{'n/a':>9}" for v in values[1:])
        print(f"{label:<32}{values[0]:>8.4f}{cells}")
    print(
        f"model expected calibration error (10 bins): {result['ece']:.4f} ({result['calibration']})"
    )
    if "bgnbd_params" in result:
        params = ", ".join(f"{k} {v:.3g}" for k, v in result["bgnbd_params"].items())
        print(f"BG/NBD fitted on purchases before the end of the last training month: {params}")
    if result["model_rows"] != result["rows"]:
        print(f"note: the model was evaluated on {result['model_rows']:,} sampled rows")
    auc = {label: values[0] for label, values in result["auc"].items()}
    model = auc["model (XGBoost)"]
    failed = []
    checks = [
        ("model >= RFM logistic regression", model >= auc["RFM logistic regression"]),
        ("model >= recency rule", model >= auc["recency rule"]),
        ("ECE <= 0.03", result["ece"] <= 0.03),
    ]
    if scenario == "retail" and "BG/NBD (pymc-marketing, MAP)" in auc:
        bgnbd = auc["BG/NBD (pymc-marketing, MAP)"]
        checks.append(("model within 0.01 of BG/NBD or above", model >= bgnbd - 0.01))
    for name, ok in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {name}")
        if not ok:
            failed.append(f"{scenario}: {name}")
    return failed


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(
        prog="python bench/model_quality.py",
        description="Out-of-time ROC AUC of the churn model vs RFM, recency, BG/NBD and the "
        "generator's ceiling, per scenario.",
    )
    parser.add_argument("--customers", type=int, default=20000, help="default: %(default)s")
    parser.add_argument("--months", type=int, default=24, help="default: %(default)s")
    parser.add_argument("--horizon", type=int, default=3, help="churn_horizon_months (3)")
    parser.add_argument("--scenarios", nargs="+", default=["bank", "retail"], metavar="NAME")
    parser.add_argument(
        "--workdir", type=Path, default=ROOT / ".propensity" / "bench", help="state folders"
    )
    parser.add_argument(
        "--reuse", action="store_true", help="evaluate the last run of each scenario again"
    )
    parser.add_argument("--no-bgnbd", action="store_true", help="skip BG/NBD (no pymc-marketing)")
    args = parser.parse_args(argv)
    failed = []
    for scenario in args.scenarios:
        home = (args.workdir / scenario).resolve()
        home.mkdir(parents=True, exist_ok=True)
        seconds = None
        if not args.reuse:
            print(f"running the pipeline for {scenario} in {home} ...", flush=True)
            seconds = run_pipeline(scenario, home, args.customers, args.months, args.horizon)
        result = evaluate(scenario, home, args.horizon, with_bgnbd=not args.no_bgnbd)
        failed += print_table(scenario, result, seconds, args.customers)
    print("\nall targets met" if not failed else "\ntargets missed: " + "; ".join(failed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
