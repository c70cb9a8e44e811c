"""Deterministic sample data, two scenarios with a planted churn mechanism each.

``bank`` (the default, contractual: churn is every account closed). The planted mechanism
(what the model should find):

* every customer has a latent *disengagement* ``d`` that starts at 0; for about a third of
  customers ("drifters") it random-walks upwards, for the rest it stays near 0;
* monthly transactions are Poisson with rate ``base_rate * exp(-0.8 d) * season``: falling
  activity (lags, rolling means, trend) is the main observable signal;
* complaints are Poisson(0.03 + 0.25 d) and satisfaction scores fall with ``d``;
* the monthly churn hazard is ``sigmoid(-5.0 + 1.6 d + 0.6 [fee > 10] + 0.35 (unemployment
  - 5) + 1.0 [complained this month] - 0.25 log1p(tenure years) + 0.3 [age < 30]
  - 1.0 [accepted an offer in the last 3 months])``;
* churn closes all of the customer's accounts in that month.

``retail`` (non-contractual: only customers and transactions, churn is not buying again).
Buy-till-you-die, as in BG/NBD (Fader, Hardie and Lee, 2005):

* each customer's first purchase falls uniformly in the data window (a few never buy);
* while alive, purchases follow a Poisson process with rate ``lambda ~ Gamma(r, alpha)``;
* after each purchase the customer drops out with probability ``p ~ Beta(a, b)``; many buy
  once only;
* ``_truth/retail_truth.parquet`` keeps each customer's latent ``lambda``, ``p`` and dropout
  time: the true probability of buying again in the next H months given the latent state is
  ``alive * (1 - exp(-lambda * days))``, a ceiling no model can pass. The pipeline never
  reads ``_truth``. For the bank, ``_truth/bank_hazard.parquet`` keeps every signed-up
  customer's true monthly churn hazard (after churn: as if still a customer, from the same
  draws), so ``1 - prod(1 - hazard)`` over the horizon is an oracle that knows the latent
  path but not the coin flips: an upper bound for any model.

The files carry the dirt real exports have: exact duplicates, nulls, malformed rows,
inconsistent casing and whitespace, later updates of the same customer, and transactions that
arrive in a later month's file than the month they happened in. Only customers and
transactions are required; ``--only-core`` writes just those two.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

REGIONS = ["north", "south", "east", "west", "central"]
PRODUCTS = ["checking", "savings", "credit_card", "loan"]
CHANNELS = ["card", "online", "mobile", "branch", "atm"]
CATEGORIES = ["groceries", "travel", "utilities", "dining", "retail", "transfer", "cash"]
TOPICS = ["complaint", "question", "card_issue", "fees", "technical"]
CAMPAIGNS = ["fee_waiver", "cashback", "rate_boost", "upgrade"]
DEFAULT_END_MONTH = "2026-09"
SCENARIOS = ("bank", "retail")
FIRST_NAMES = ["Ana", "Ben", "Chen", "Dara", "Eli", "Femi", "Gus"]
TRUTH_FOLDER = "_truth"
# BG/NBD population parameters of the retail scenario (rates per day)
RETAIL_GAMMA_SHAPE, RETAIL_GAMMA_RATE = 0.75, 40.0
RETAIL_BETA_A, RETAIL_BETA_B = 0.8, 2.4


@dataclass(frozen=True)
class SampleSpec:
    """How much data to generate and from which seed."""

    customers: int = 2000
    months: int = 24
    end_month: str = DEFAULT_END_MONTH
    seed: int = 42
    only_core: bool = False
    scenario: str = "bank"


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _month_starts(spec: SampleSpec) -> pd.DatetimeIndex:
    end = pd.Period(spec.end_month, freq="M")
    return pd.period_range(end - spec.months + 1, end, freq="M").to_timestamp()


def _messy_case(values: np.ndarray, rng: np.random.Generator, share: float) -> np.ndarray:
    """Upper-case, title-case or pad a share of string values, as hand-keyed exports do."""
    out = values.astype(object).copy()
    picks = rng.random(len(out)) < share
    styles = rng.integers(0, 3, len(out))
    for i in np.flatnonzero(picks):
        out[i] = [str.upper, str.title, lambda s: f" {s} "][styles[i]](out[i])
    return out


def _economic_indicators(spec: SampleSpec, rng: np.random.Generator) -> pd.DataFrame:
    months = _month_starts(spec)
    rows = []
    for r, region in enumerate(REGIONS):
        level = 4.0 + r * 0.6
        trend = rng.normal(0.04, 0.03)
        for t, month in enumerate(months):
            unemployment = level + trend * t + 0.3 * np.sin(2 * np.pi * month.month / 12)
            rows.append(
                {
                    "region": region,
                    "month": month.strftime("%Y-%m"),
                    "unemployment_rate": round(unemployment + rng.normal(0, 0.1), 2),
                    "consumer_confidence": round(
                        100 - 3 * (unemployment - 5) + rng.normal(0, 1), 1
                    ),
                    "policy_interest_rate": round(3.0 + 0.02 * t, 2),
                }
            )
    return pd.DataFrame(rows)


def _customer_master(customer_id, first_name, age, region, segment, signup) -> pd.DataFrame:
    """The customer master export, as both scenarios write it."""
    signup = pd.to_datetime(signup)
    return pd.DataFrame(
        {
            "customer_id": customer_id,
            "first_name": first_name,
            "email": [f"{c.lower()}@example.com" for c in customer_id],
            "birth_date": (pd.Timestamp("2026-01-01") - pd.to_timedelta(age * 365.25, unit="D"))
            .strftime("%Y-%m-%d")
            .values,
            "region": region,
            "customer_segment": segment,
            "signup_date": signup.strftime("%Y-%m-%d"),
            "updated_at": (signup + pd.Timedelta(hours=9)).strftime("%Y-%m-%d %H:%M:%S"),
        }
    )


def simulate(spec: SampleSpec) -> dict[str, pd.DataFrame]:
    """Simulate the bank month by month and return clean tables before dirt is added."""
    rng = np.random.default_rng(spec.seed)
    n = spec.customers
    months = _month_starts(spec)
    start = months[0]

    customer_id = np.array([f"C{i:07d}" for i in range(1, n + 1)])
    region = rng.choice(REGIONS, n, p=[0.25, 0.2, 0.2, 0.2, 0.15])
    age = rng.integers(18, 86, n)
    existing = rng.random(n) < 0.7
    signup_days_before = rng.integers(30, 3650, n)
    signup_offset = rng.integers(0, spec.months * 30, n)
    signup = np.where(
        existing,
        (start - pd.to_timedelta(signup_days_before, unit="D")).values,
        (start + pd.to_timedelta(signup_offset, unit="D")).values,
    ).astype("datetime64[D]")
    signup_month_index = np.array(
        [(pd.Timestamp(d).to_period("M") - start.to_period("M")).n for d in signup]
    )
    segment = rng.choice(["mass", "affluent", "private"], n, p=[0.7, 0.25, 0.05])
    base_rate = np.exp(rng.normal(np.log(8), 0.5, n))
    drift = np.where(rng.random(n) < 0.33, rng.uniform(0.05, 0.25, n), 0.0)

    # accounts: 1-3 per customer, the first opened at sign-up
    n_accounts = rng.choice([1, 2, 3], n, p=[0.45, 0.4, 0.15])
    acc_customer = np.repeat(np.arange(n), n_accounts)
    acc_product = np.where(
        np.r_[True, acc_customer[1:] != acc_customer[:-1]],  # first account is a checking one
        "checking",
        rng.choice(PRODUCTS[1:], len(acc_customer)),
    )
    fee_by_product = {
        "checking": [0, 5, 12],
        "savings": [0, 0, 3],
        "credit_card": [0, 8, 15],
        "loan": [0, 0, 0],
    }
    acc_fee = np.array([rng.choice(fee_by_product[p]) for p in acc_product], dtype=float)
    is_first_account = np.r_[True, acc_customer[1:] != acc_customer[:-1]]
    acc_open = signup[acc_customer] + np.where(
        is_first_account, 0, rng.integers(0, 400, len(acc_customer))
    ).astype("timedelta64[D]")
    acc_close = np.full(len(acc_customer), np.datetime64("NaT"), dtype="datetime64[D]")
    customer_fee = np.bincount(acc_customer, weights=acc_fee, minlength=n)

    econ = _economic_indicators(spec, rng)
    unemp = econ.pivot(index="month", columns="region", values="unemployment_rate")

    d = np.zeros(n)
    active = np.ones(n, dtype=bool)
    churn_month = np.full(n, -1)
    offer_accepted_until = np.full(n, -1)
    tx_frames, support_rows, offer_rows = [], [], []
    # the true monthly churn hazard of every signed-up customer, as if still a customer (the
    # same draws, unmasked), for the benchmark's oracle: after churn it is counterfactual
    hazard = np.full((len(months), n), np.nan)
    accepted_until_if_live = np.full(n, -1)
    for t, month in enumerate(months):
        signed = signup_month_index <= t
        live = active & signed
        d = np.maximum(0.0, d + rng.normal(drift, 0.15) * (signup_month_index <= t))
        season = 1 + 0.15 * np.sin(2 * np.pi * month.month / 12)
        days_in_month = month.days_in_month

        counts = np.where(live, rng.poisson(base_rate * np.exp(-0.8 * d) * season), 0)
        idx = np.repeat(np.arange(n), counts)
        day = rng.integers(0, days_in_month, len(idx))
        seconds = rng.integers(6 * 3600, 23 * 3600, len(idx))
        tx_at = month + pd.to_timedelta(day, unit="D") + pd.to_timedelta(seconds, unit="s")
        posted_at = tx_at + pd.to_timedelta(rng.choice([0, 0, 0, 1, 2], len(idx)), unit="D")
        tx_frames.append(
            pd.DataFrame(
                {
                    "customer_index": idx,
                    "transaction_at": tx_at,
                    "posted_at": posted_at,
                    "amount": np.round(rng.lognormal(3.2, 0.9, len(idx)), 2),
                    "channel": rng.choice(CHANNELS, len(idx)),
                    "merchant_category": rng.choice(CATEGORIES, len(idx)),
                }
            )
        )

        complaints_if_live = rng.poisson(0.03 + 0.25 * d)
        complaints = np.where(live, complaints_if_live, 0)
        questions = np.where(live, rng.poisson(0.15), 0)
        for i in np.flatnonzero(complaints + questions):
            for k in range(complaints[i] + questions[i]):
                topic = "complaint" if k < complaints[i] else rng.choice(TOPICS[1:])
                support_rows.append(
                    {
                        "customer_index": i,
                        "created_at": month
                        + pd.Timedelta(days=int(rng.integers(0, days_in_month))),
                        "channel": rng.choice(["phone", "chat", "email", "branch"]),
                        "topic": topic,
                        "satisfaction_score": int(
                            np.clip(round(4.2 - 0.8 * d[i] + rng.normal(0, 0.7)), 1, 5)
                        ),
                        "is_resolved": bool(rng.random() < 0.8),
                    }
                )

        offer_draw, accept_draw = rng.random(n), rng.random(n)
        would_accept = (offer_draw < 0.1) & (accept_draw < np.clip(0.3 - 0.1 * d, 0.02, 1))
        offered = live & (offer_draw < 0.1)
        accepted = live & would_accept
        offer_accepted_until = np.where(accepted, t + 3, offer_accepted_until)
        accepted_until_if_live = np.where(signed & would_accept, t + 3, accepted_until_if_live)
        for i in np.flatnonzero(offered):
            offered_at = month + pd.Timedelta(days=int(rng.integers(0, 20)))
            offer_rows.append(
                {
                    "customer_index": i,
                    "campaign": rng.choice(CAMPAIGNS),
                    "offered_at": offered_at,
                    "response": "accepted" if accepted[i] else rng.choice(["declined", "none"]),
                    "responded_at": offered_at + pd.Timedelta(days=int(rng.integers(1, 9)))
                    if accepted[i]
                    else pd.NaT,
                }
            )

        tenure_years = (month - pd.to_datetime(signup)).days.values / 365.25
        region_unemp = unemp.loc[month.strftime("%Y-%m")].reindex(region).values
        logit = (
            -5.0
            + 1.6 * d
            + 0.6 * (customer_fee > 10)
            + 0.35 * (region_unemp - 5)
            + 1.0 * (complaints > 0)
            - 0.25 * np.log1p(np.maximum(tenure_years, 0))
            + 0.3 * (age < 30)
            - 1.0 * (offer_accepted_until >= t)
        )
        logit_if_live = (
            logit
            + 1.0 * ((complaints_if_live > 0) & ~(complaints > 0))
            - 1.0 * ((accepted_until_if_live >= t) & ~(offer_accepted_until >= t))
        )
        hazard[t] = np.where(signed, _sigmoid(logit_if_live), np.nan)
        churned = live & (rng.random(n) < _sigmoid(logit))
        churn_month[churned] = t
        active &= ~churned
        close_day = month + pd.to_timedelta(rng.integers(0, days_in_month, n), unit="D")
        # every still-open account of this month's churners closes on their close day
        # (one vectorised pass: scanning all accounts per churner was quadratic)
        closing = churned[acc_customer] & np.isnat(acc_close)
        acc_close[closing] = close_day.values.astype("datetime64[D]")[acc_customer[closing]]

    end_of_data = months[-1] + pd.offsets.MonthEnd(0)
    transactions = pd.concat(tx_frames, ignore_index=True)
    # the export is cut at the end of the last month: later postings are not in it yet
    transactions = transactions[transactions["posted_at"] < end_of_data + pd.Timedelta(days=1)]
    transactions.insert(0, "transaction_id", [f"T{i:09d}" for i in range(1, len(transactions) + 1)])
    transactions.insert(1, "customer_id", customer_id[transactions.pop("customer_index")])

    support = pd.DataFrame(support_rows)
    if len(support):
        support.insert(0, "interaction_id", [f"S{i:08d}" for i in range(1, len(support) + 1)])
        support.insert(1, "customer_id", customer_id[support.pop("customer_index")])
    offers = pd.DataFrame(offer_rows)
    if len(offers):
        offers.insert(0, "offer_id", [f"O{i:08d}" for i in range(1, len(offers) + 1)])
        offers.insert(1, "customer_id", customer_id[offers.pop("customer_index")])

    # secondary accounts opened after the export, or after the customer left, never existed
    opened_in_time = (acc_open <= np.datetime64(end_of_data.date())) & (
        np.isnat(acc_close) | (acc_open <= acc_close)
    )
    exported = is_first_account | opened_in_time
    accounts = pd.DataFrame(
        {
            "account_id": [f"A{i:08d}" for i in range(1, len(acc_customer) + 1)],
            "customer_id": customer_id[acc_customer],
            "product": acc_product,
            "opened_date": pd.to_datetime(acc_open),
            "closed_date": pd.to_datetime(acc_close),
            "status": np.where(np.isnat(acc_close), "open", "closed"),
            "monthly_fee": acc_fee,
            "balance": np.round(rng.lognormal(7, 1.2, len(acc_customer)), 2),
        }
    )[exported]
    first_name = rng.choice(FIRST_NAMES, n)
    customers = _customer_master(customer_id, first_name, age, region, segment, signup)
    # customers who sign up after the export are not in it
    customers = customers[pd.to_datetime(customers["signup_date"]) <= end_of_data]
    truth = pd.DataFrame(
        {"customer_id": customer_id, "churn_month_index": churn_month, "drift": drift}
    )
    live_month, live_customer = np.nonzero(~np.isnan(hazard))
    hazards = pd.DataFrame(
        {
            "customer_id": customer_id[live_customer],
            "month": months[live_month].strftime("%Y-%m-%d"),
            "churn_hazard": hazard[live_month, live_customer],
        }
    )
    return {
        "customers": customers.reset_index(drop=True),
        "accounts": accounts.reset_index(drop=True),
        "transactions": transactions,
        "support_interactions": support,
        "marketing_offers": offers,
        "economic_indicators": econ,
        "_truth": truth,
        "_hazard": hazards,
    }


def simulate_retail(spec: SampleSpec) -> dict[str, pd.DataFrame]:
    """A retailer with customers and transactions only, by a buy-till-you-die process."""
    rng = np.random.default_rng(spec.seed)
    n = spec.customers
    months = _month_starts(spec)
    start = months[0]
    end_of_data = months[-1] + pd.offsets.MonthEnd(0) + pd.Timedelta(days=1)
    window_days = (end_of_data - start).days

    customer_id = np.array([f"C{i:07d}" for i in range(1, n + 1)])
    rate = rng.gamma(RETAIL_GAMMA_SHAPE, 1.0 / RETAIL_GAMMA_RATE, n)  # purchases per day
    dropout = rng.beta(RETAIL_BETA_A, RETAIL_BETA_B, n)
    spend = np.exp(rng.normal(3.4, 0.6, n))
    first_day = rng.uniform(0, window_days, n)
    never_buys = rng.random(n) < 0.03  # registered online, never bought

    purchase_customer, purchase_day = [], []
    dropout_day = np.full(n, np.nan)
    day = first_day.copy()
    alive = ~never_buys
    while alive.any():
        index = np.flatnonzero(alive & (day < window_days))
        if not len(index):
            break
        purchase_customer.append(index)
        purchase_day.append(day[index])
        dies = rng.random(len(index)) < dropout[index]
        dropout_day[index[dies]] = day[index[dies]]
        alive[index[dies]] = False
        day[index] = day[index] + rng.exponential(1.0 / rate[index])
        alive &= day < window_days
    who = np.concatenate(purchase_customer) if purchase_customer else np.array([], dtype=int)
    when = np.concatenate(purchase_day) if purchase_day else np.array([])
    order = np.lexsort((when, who))
    who, when = who[order], when[order]
    tx_at = start + pd.to_timedelta(np.round(when * 86400).astype("int64"), unit="s")
    transactions = pd.DataFrame(
        {
            "transaction_id": [f"T{i:09d}" for i in range(1, len(who) + 1)],
            "customer_id": customer_id[who],
            "transaction_at": tx_at,
            "posted_at": tx_at,
            "amount": np.round(spend[who] * rng.lognormal(0, 0.4, len(who)), 2),
            "channel": rng.choice(["online", "mobile", "card"], len(who)),
            "merchant_category": rng.choice(["apparel", "home", "beauty", "toys"], len(who)),
        }
    )
    signup = start + pd.to_timedelta(np.floor(first_day).astype(int), unit="D")
    age = rng.integers(18, 86, n)
    first_name = rng.choice(FIRST_NAMES, n)  # drawn in this order: same data as before
    region = rng.choice(REGIONS, n)
    segment = rng.choice(["new", "regular", "vip"], n, p=[0.6, 0.3, 0.1])
    customers = _customer_master(customer_id, first_name, age, region, segment, signup)
    truth = pd.DataFrame(
        {
            "customer_id": customer_id,
            "purchase_rate_per_day": rate,
            "dropout_probability": dropout,
            "dropout_at": start + pd.to_timedelta(dropout_day, unit="D"),
            "never_buys": never_buys,
        }
    )
    return {"customers": customers, "transactions": transactions, "_truth": truth}


def true_repurchase_probability(
    truth: pd.DataFrame, as_of_month: str | pd.Timestamp, horizon_months: int
) -> pd.Series:
    """P(at least one purchase in months M+1 .. M+H | latent state at the end of M), per
    customer of the retail truth table: the ceiling no model can pass."""
    month_end = pd.Timestamp(as_of_month) + pd.offsets.MonthEnd(0) + pd.Timedelta(days=1)
    horizon_end = pd.Timestamp(as_of_month) + pd.DateOffset(months=horizon_months + 1)
    days = (horizon_end - month_end).days
    alive = truth["dropout_at"].isna() | (truth["dropout_at"] >= month_end)
    alive &= ~truth["never_buys"]
    p = alive * (1.0 - np.exp(-truth["purchase_rate_per_day"] * days))
    return pd.Series(p.to_numpy(), index=truth["customer_id"].to_numpy())


def _add_dirt(tables: dict[str, pd.DataFrame], spec: SampleSpec) -> dict[str, pd.DataFrame]:
    """Duplicates, nulls, casing, later updates: what staging must clean up."""
    rng = np.random.default_rng(spec.seed + 1)
    out = dict(tables)

    customers = tables["customers"].copy()
    customers["region"] = _messy_case(customers["region"].values, rng, 0.15)
    customers.loc[rng.random(len(customers)) < 0.02, "email"] = None
    updated = customers.sample(frac=0.05, random_state=spec.seed).copy()
    updated["customer_segment"] = np.where(
        updated["customer_segment"] == "mass", "affluent", "mass"
    )
    updated["updated_at"] = (
        pd.Timestamp(spec.end_month) - pd.to_timedelta(rng.integers(1, 200, len(updated)), unit="D")
    ).strftime("%Y-%m-%d %H:%M:%S")
    duplicates = customers.sample(frac=0.01, random_state=spec.seed + 2)
    out["customers"] = pd.concat([customers, updated, duplicates], ignore_index=True)

    if "accounts" in tables:
        accounts = tables["accounts"].copy()
        accounts["status"] = _messy_case(accounts["status"].values, rng, 0.1)
        out["accounts"] = accounts

    tx = tables["transactions"].copy()
    tx["channel"] = _messy_case(tx["channel"].values, rng, 0.05)
    tx.loc[rng.random(len(tx)) < 0.002, "amount"] = np.nan
    out["transactions"] = pd.concat(
        [tx, tx.sample(frac=0.005, random_state=spec.seed + 3)], ignore_index=True
    )

    if "economic_indicators" in tables:
        econ = tables["economic_indicators"].copy()
        econ["region"] = _messy_case(econ["region"].values, rng, 0.2)
        out["economic_indicators"] = econ
    return out


def _write_csv_with_bad_rows(df: pd.DataFrame, path: Path, bad_lines: list[str]) -> None:
    """Write a CSV and append hand-made malformed lines, as a broken export would."""
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, date_format="%Y-%m-%d %H:%M:%S")
    if bad_lines:
        with path.open("a") as f:
            for line in bad_lines:
                f.write(line + "\n")


def _month_keys(timestamps: pd.Series) -> pd.Series:
    """'YYYY_MM' of each timestamp, formatted once per distinct month (strftime on every
    row took 40% of the generator's time)."""
    codes = timestamps.dt.year * 100 + timestamps.dt.month
    labels = {code: f"{code // 100:04d}_{code % 100:02d}" for code in np.unique(codes)}
    return codes.map(labels)


def write_landing_zone(spec: SampleSpec, landing: Path) -> dict[str, int]:
    """Generate the sample landing zone under ``landing``; return rows written per source."""
    if spec.scenario not in SCENARIOS:
        raise ValueError(f"scenario {spec.scenario!r}: use one of {', '.join(SCENARIOS)}")
    simulated = simulate(spec) if spec.scenario == "bank" else simulate_retail(spec)
    tables = _add_dirt(simulated, spec)
    landing.mkdir(parents=True, exist_ok=True)
    written: dict[str, int] = {}
    truth = landing / TRUTH_FOLDER / f"{spec.scenario}_truth.parquet"
    truth.parent.mkdir(parents=True, exist_ok=True)
    simulated["_truth"].to_parquet(truth, index=False)
    if "_hazard" in simulated:
        simulated["_hazard"].to_parquet(truth.with_name("bank_hazard.parquet"), index=False)

    customers = tables["customers"]
    _write_csv_with_bad_rows(
        customers,
        landing / "customers" / "customers.csv",
        [
            "C9999991,Zed,zed@example.com,31/02/1980,north,mass,2024-01-05,2024-01-05 09:00:00",
            "C9999992,Yan,yan@example.com,1985-06-01,south,mass,not-a-date,2024-02-01 09:00:00",
            ",Nobody,nobody@example.com,1970-01-01,east,mass,2024-03-01,2024-03-01 09:00:00",
        ],
    )
    written["customers"] = len(customers) + 3

    tx = tables["transactions"]
    posted_month = _month_keys(tx["posted_at"])
    # late arrivals: 0.3% of a month's records come in the next month's file
    late = np.random.default_rng(spec.seed + 4).random(len(tx)) < 0.003
    file_month = _month_keys(tx["posted_at"] + pd.to_timedelta(np.where(late, 31, 0), unit="D"))
    last = posted_month.max()
    file_month = file_month.where(file_month <= last, last)
    for month, part in tx.groupby(file_month):
        bad = []
        if month == last:
            bad = [
                "T999999991,C0000001,2026-01-01 10:00:00,2026-01-01 10:00:00,n/a,card,retail",
                "T999999992,C0000002,yesterday,2026-01-01 10:00:00,12.50,card,retail",
                "T999999993,C0000003,2026-01-01 10:00:00",
            ]
        _write_csv_with_bad_rows(part, landing / "transactions" / f"transactions_{month}.csv", bad)
    written["transactions"] = len(tx) + 3

    if not spec.only_core and spec.scenario == "bank":
        _write_csv_with_bad_rows(tables["accounts"], landing / "accounts" / "accounts.csv", [])
        written["accounts"] = len(tables["accounts"])

        support_path = landing / "support_interactions" / "support_interactions.jsonl"
        support_path.parent.mkdir(parents=True, exist_ok=True)
        with support_path.open("w") as f:
            for record in tables["support_interactions"].to_dict("records"):
                record["created_at"] = record["created_at"].strftime("%Y-%m-%dT%H:%M:%S")
                f.write(json.dumps(record) + "\n")
            f.write('{"interaction_id": "S99999991", "customer_id": "C0000001", "created_at"\n')
            f.write(
                '{"interaction_id": "S99999992", "customer_id": "C0000002", '
                '"created_at": "2026-13-45T10:00:00", "topic": "question"}\n'
            )
        written["support_interactions"] = len(tables["support_interactions"]) + 2

        offers = tables["marketing_offers"].copy()
        orphan = offers.head(2).copy()
        orphan["offer_id"] = ["O99999991", "O99999992"]
        orphan["customer_id"] = None
        offers = pd.concat([offers, orphan], ignore_index=True)
        offers_path = landing / "marketing_offers" / "marketing_offers.parquet"
        offers_path.parent.mkdir(parents=True, exist_ok=True)
        offers.to_parquet(offers_path, index=False)
        written["marketing_offers"] = len(offers)

        _write_csv_with_bad_rows(
            tables["economic_indicators"],
            landing / "economic_indicators" / "economic_indicators.csv",
            [],
        )
        written["economic_indicators"] = len(tables["economic_indicators"])
    return written


def build_parser() -> argparse.ArgumentParser:
    """Arguments shared by `propensity generate` and `python -m pipeline.sample_data`."""
    parser = argparse.ArgumentParser(
        prog="propensity generate",
        description="Write a deterministic sample landing zone (CSV, JSON lines, Parquet).",
    )
    add_arguments(parser)
    parser.add_argument("--landing", type=Path, help="landing folder (default: from env)")
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the generator's size and seed options to ``parser``."""
    parser.add_argument(
        "--customers",
        type=int,
        default=SampleSpec.customers,
        help="number of customers (default: %(default)s)",
    )
    parser.add_argument(
        "--months",
        type=int,
        default=SampleSpec.months,
        help="months of history (default: %(default)s)",
    )
    parser.add_argument(
        "--end-month",
        default=DEFAULT_END_MONTH,
        help="last month of data, YYYY-MM (default: %(default)s)",
    )
    parser.add_argument(
        "--seed", type=int, default=SampleSpec.seed, help="random seed (default: %(default)s)"
    )
    parser.add_argument(
        "--only-core", action="store_true", help="write only customers and transactions"
    )
    parser.add_argument(
        "--scenario",
        choices=SCENARIOS,
        default="bank",
        help="bank: contractual, every source (default); retail: customers and transactions "
        "only, buy-till-you-die (non-contractual)",
    )


def spec_from_args(args: argparse.Namespace) -> SampleSpec:
    """Validate the generator arguments and build a spec."""
    if args.customers < 10:
        raise SystemExit("--customers must be at least 10")
    if args.months < 12:
        raise SystemExit("--months must be at least 12 (features look back 12 months)")
    return SampleSpec(
        args.customers, args.months, args.end_month, args.seed, args.only_core, args.scenario
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point for `python -m pipeline.sample_data`."""
    from pipeline.config import Paths

    args = build_parser().parse_args(argv)
    landing = args.landing or Paths.from_env().landing
    written = write_landing_zone(spec_from_args(args), landing)
    for source, rows in written.items():
        print(f"{source:<22}{rows:>10,} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())


def true_churn_probability_bank(
    hazards: pd.DataFrame, as_of_month, horizon_months: int
) -> pd.Series:
    """P(churn in months M+1 .. M+H) from the bank's true monthly hazards, per customer: an
    oracle bound (it knows the latent path, not the draws)."""
    start = pd.Timestamp(as_of_month) + pd.DateOffset(months=1)
    end = pd.Timestamp(as_of_month) + pd.DateOffset(months=horizon_months)
    month = pd.to_datetime(hazards["month"])
    window = hazards[(month >= start) & (month <= end)]
    survive = (1.0 - window["churn_hazard"]).groupby(window["customer_id"]).prod()
    return 1.0 - survive
