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
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

log = logging.getLogger(__name__)

REGIONS = ["north", "south", "east", "west", "central"]
PRODUCTS = ["checking", "savings", "credit_card", "loan"]
CHANNELS = ["card", "online", "mobile", "branch", "atm"]
RETAIL_CHANNELS = ["online", "mobile", "card"]
RETAIL_CATEGORIES = ["apparel", "home", "beauty", "toys"]
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


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Ids such as ``T000000001``, built with array arithmetic (formatting 200 million ids
    one by one in Python takes minutes)."""
    numbers = np.asarray(numbers, dtype=np.int64).copy()
    chars = np.empty((len(numbers), width + len(prefix)), dtype=np.uint8)
    chars[:, : len(prefix)] = np.frombuffer(prefix.encode(), dtype=np.uint8)
    for position in range(width + len(prefix) - 1, len(prefix) - 1, -1):
        chars[:, position] = 48 + numbers % 10
        numbers //= 10
    return pa.array(chars.view(f"S{chars.shape[1]}").ravel()).cast(pa.string())


def _messy_case(values: np.ndarray, rng: np.random.Generator, share: float) -> np.ndarray:
    """Upper-case, title-case or pad a share of string values, as hand-keyed exports do."""
    picks = rng.random(len(values)) < share
    styles = rng.integers(0, 3, len(values))
    uniques, inverse = np.unique(np.asarray(values).astype(str), return_inverse=True)
    variants = np.array([[u, u.upper(), u.title(), f" {u} "] for u in uniques], dtype=object)
    if not len(variants):
        return np.asarray(values, dtype=object)
    return variants[inverse.ravel(), np.where(picks, styles + 1, 0)]


def _messy_codes(codes: np.ndarray, size: int, rng: np.random.Generator, share: float):
    """The same for category codes into ``_messy_vocabulary(vocabulary)``: code + k*size."""
    picks = rng.random(len(codes)) < share
    styles = rng.integers(0, 3, len(codes))
    return codes + size * np.where(picks, styles + 1, 0)


def _messy_vocabulary(vocabulary: list[str]) -> pa.Array:
    return pa.array(
        [*vocabulary, *(v.upper() for v in vocabulary), *(v.title() for v in vocabulary)]
        + [f" {v} " for v in vocabulary]
    )


def customer_ids(n: int) -> np.ndarray:
    """``C0000001`` .. for ``n`` customers, as both scenarios number them."""
    return _ids("C", np.arange(1, n + 1), 7).to_numpy(zero_copy_only=False)


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
    signup = np.asarray(signup).astype("datetime64[D]")
    birth = np.datetime64("2026-01-01") - np.round(np.asarray(age) * 365.25).astype(
        "timedelta64[D]"
    )
    updated = signup.astype("datetime64[s]") + np.timedelta64(9, "h")
    return pd.DataFrame(
        {
            "customer_id": customer_id,
            "first_name": first_name,
            "email": np.char.add(np.char.lower(np.asarray(customer_id, dtype=str)), "@example.com"),
            "birth_date": np.datetime_as_string(birth, unit="D"),
            "region": region,
            "customer_segment": segment,
            "signup_date": np.datetime_as_string(signup, unit="D"),
            "updated_at": np.char.replace(np.datetime_as_string(updated, unit="s"), "T", " "),
        }
    )


@dataclass
class TransactionChunk:
    """Clean transactions of one simulated month (or of a whole scenario), as arrays:
    customers by index, channel and category as codes into the chunk's vocabularies."""

    first_id: int
    customer_index: np.ndarray
    transaction_at: np.ndarray  # datetime64[s]
    posted_at: np.ndarray  # datetime64[s]
    amount: np.ndarray
    channel: np.ndarray
    merchant_category: np.ndarray

    def __len__(self) -> int:
        return len(self.customer_index)

    def take(self, rows: np.ndarray) -> TransactionChunk:
        fields = ("customer_index", "transaction_at", "posted_at", "amount", "channel")
        taken = {f: getattr(self, f)[rows] for f in (*fields, "merchant_category")}
        return TransactionChunk(self.first_id, **taken)


@dataclass
class MonthOfBank:
    """What one simulated month of the bank produced, before any dirt."""

    t: int
    transactions: TransactionChunk
    support: pd.DataFrame  # customer_index, created_at, channel, topic, satisfaction, resolved
    offers: pd.DataFrame  # customer_index, campaign, offered_at, response, responded_at
    hazard_customers: np.ndarray
    hazard: np.ndarray


def _seconds(month: pd.Timestamp) -> np.datetime64:
    return np.datetime64(month.to_datetime64(), "s")


def simulate_bank(spec: SampleSpec, on_month) -> dict[str, pd.DataFrame]:
    """Simulate the bank month by month. Each month's transactions, support contacts, offers
    and hazards go to ``on_month(MonthOfBank)`` as they are made, so memory stays bounded
    by one month; the tables of one row per customer or account are returned at the end.
    Every draw is vectorised: the work is linear in customers × months."""
    rng = np.random.default_rng(spec.seed)
    n = spec.customers
    months = _month_starts(spec)
    start = months[0]

    customer_id = customer_ids(n)
    region_index = rng.choice(len(REGIONS), n, p=[0.25, 0.2, 0.2, 0.2, 0.15])
    region = np.array(REGIONS)[region_index]
    age = rng.integers(18, 86, n)
    existing = rng.random(n) < 0.7
    signup_days_before = rng.integers(30, 3650, n)
    signup_offset = rng.integers(0, spec.months * 30, n)
    day0 = np.datetime64(start.date(), "D")
    signup = day0 + np.where(existing, -signup_days_before, signup_offset).astype("timedelta64[D]")
    signup_month_index = (signup.astype("datetime64[M]") - day0.astype("datetime64[M]")).astype(
        np.int64
    )
    segment = rng.choice(["mass", "affluent", "private"], n, p=[0.7, 0.25, 0.05])
    base_rate = np.exp(rng.normal(np.log(8), 0.5, n))
    drift = np.where(rng.random(n) < 0.33, rng.uniform(0.05, 0.25, n), 0.0)

    # accounts: 1-3 per customer, the first opened at sign-up
    n_accounts = rng.choice([1, 2, 3], n, p=[0.45, 0.4, 0.15])
    acc_customer = np.repeat(np.arange(n), n_accounts)
    is_first_account = np.r_[True, acc_customer[1:] != acc_customer[:-1]]
    # the first account is a checking one
    acc_product = np.where(is_first_account, 0, rng.integers(1, len(PRODUCTS), len(acc_customer)))
    fee_by_product = np.array([[0, 5, 12], [0, 0, 3], [0, 8, 15], [0, 0, 0]], dtype=float)
    acc_fee = fee_by_product[acc_product, rng.integers(0, 3, len(acc_customer))]
    acc_open = signup[acc_customer] + np.where(
        is_first_account, 0, rng.integers(0, 400, len(acc_customer))
    ).astype("timedelta64[D]")
    acc_close = np.full(len(acc_customer), np.datetime64("NaT"), dtype="datetime64[D]")
    customer_fee = np.bincount(acc_customer, weights=acc_fee, minlength=n)

    econ = _economic_indicators(spec, rng)
    unemp = econ.pivot(index="month", columns="region", values="unemployment_rate")
    end_of_data = months[-1] + pd.offsets.MonthEnd(0)
    cut_off = _seconds(end_of_data + pd.Timedelta(days=1))

    d = np.zeros(n)
    active = np.ones(n, dtype=bool)
    churn_month = np.full(n, -1)
    offer_accepted_until = np.full(n, -1)
    accepted_until_if_live = np.full(n, -1)
    next_id = 1
    for t, month in enumerate(months):
        signed = signup_month_index <= t
        live = active & signed
        d = np.maximum(0.0, d + rng.normal(drift, 0.15) * signed)
        season = 1 + 0.15 * np.sin(2 * np.pi * month.month / 12)
        days_in_month = month.days_in_month
        month_start = _seconds(month)

        counts = np.where(live, rng.poisson(base_rate * np.exp(-0.8 * d) * season), 0)
        idx = np.repeat(np.arange(n), counts)
        day = rng.integers(0, days_in_month, len(idx))
        seconds = rng.integers(6 * 3600, 23 * 3600, len(idx))
        tx_at = month_start + (day * 86400 + seconds).astype("timedelta64[s]")
        posted_at = tx_at + (rng.choice([0, 0, 0, 1, 2], len(idx)) * 86400).astype("timedelta64[s]")
        chunk = TransactionChunk(
            0,
            idx,
            tx_at,
            posted_at,
            np.round(rng.lognormal(3.2, 0.9, len(idx)), 2),
            rng.integers(0, len(CHANNELS), len(idx)).astype(np.int8),
            rng.integers(0, len(CATEGORIES), len(idx)).astype(np.int8),
        )
        # the export is cut at the end of the last month: later postings are not in it yet
        chunk = chunk.take(np.flatnonzero(posted_at < cut_off))
        chunk.first_id, next_id = next_id, next_id + len(chunk)

        complaints_if_live = rng.poisson(0.03 + 0.25 * d)
        complaints = np.where(live, complaints_if_live, 0)
        questions = np.where(live, rng.poisson(0.15), 0)
        contacts = complaints + questions
        who = np.repeat(np.arange(n), contacts)
        rank = np.arange(len(who)) - np.repeat(np.cumsum(contacts) - contacts, contacts)
        support = pd.DataFrame(
            {
                "customer_index": who,
                "created_at": month_start
                + (rng.integers(0, days_in_month, len(who)) * 86400).astype("timedelta64[s]"),
                "channel": np.array(["phone", "chat", "email", "branch"])[
                    rng.integers(0, 4, len(who))
                ],
                "topic": np.where(
                    rank < complaints[who],
                    "complaint",
                    np.array(TOPICS[1:])[rng.integers(0, len(TOPICS) - 1, len(who))],
                ),
                "satisfaction_score": np.clip(
                    np.round(4.2 - 0.8 * d[who] + rng.normal(0, 0.7, len(who))), 1, 5
                ).astype(np.int64),
                "is_resolved": rng.random(len(who)) < 0.8,
            }
        )

        offer_draw, accept_draw = rng.random(n), rng.random(n)
        would_accept = (offer_draw < 0.1) & (accept_draw < np.clip(0.3 - 0.1 * d, 0.02, 1))
        offered = live & (offer_draw < 0.1)
        accepted = live & would_accept
        offer_accepted_until = np.where(accepted, t + 3, offer_accepted_until)
        accepted_until_if_live = np.where(signed & would_accept, t + 3, accepted_until_if_live)
        who = np.flatnonzero(offered)
        offered_at = month_start + (rng.integers(0, 20, len(who)) * 86400).astype("timedelta64[s]")
        took = accepted[who]
        offers = pd.DataFrame(
            {
                "customer_index": who,
                "campaign": np.array(CAMPAIGNS)[rng.integers(0, len(CAMPAIGNS), len(who))],
                "offered_at": offered_at,
                "response": np.where(
                    took, "accepted", np.array(["declined", "none"])[rng.integers(0, 2, len(who))]
                ),
                "responded_at": np.where(
                    took,
                    offered_at + (rng.integers(1, 9, len(who)) * 86400).astype("timedelta64[s]"),
                    np.datetime64("NaT", "s"),
                ),
            }
        )

        tenure_years = (day0 + (month - start).days - signup).astype(np.int64) / 365.25
        region_unemp = unemp.loc[month.strftime("%Y-%m"), REGIONS].to_numpy()[region_index]
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
        # the true monthly churn hazard of every signed-up customer, as if still a customer
        # (the same draws, unmasked), for the benchmark's oracle: after churn, counterfactual
        logit_if_live = (
            logit
            + 1.0 * ((complaints_if_live > 0) & ~(complaints > 0))
            - 1.0 * ((accepted_until_if_live >= t) & ~(offer_accepted_until >= t))
        )
        hazard_customers = np.flatnonzero(signed)
        on_month(
            MonthOfBank(
                t, chunk, support, offers, hazard_customers, _sigmoid(logit_if_live[signed])
            )
        )
        churned = live & (rng.random(n) < _sigmoid(logit))
        churn_month[churned] = t
        active &= ~churned
        close_day = day0 + (month - start).days + rng.integers(0, days_in_month, n)
        # every still-open account of this month's churners closes on their close day
        closing = churned[acc_customer] & np.isnat(acc_close)
        acc_close[closing] = close_day.astype("datetime64[D]")[acc_customer[closing]]

    # secondary accounts opened after the export, or after the customer left, never existed
    last_day = np.datetime64(end_of_data.date(), "D")
    opened_in_time = (acc_open <= last_day) & (np.isnat(acc_close) | (acc_open <= acc_close))
    exported = is_first_account | opened_in_time
    accounts = pd.DataFrame(
        {
            "account_id": _ids("A", np.arange(1, len(acc_customer) + 1), 8).to_numpy(
                zero_copy_only=False
            ),
            "customer_id": customer_id[acc_customer],
            "product": np.array(PRODUCTS)[acc_product],
            "opened_date": acc_open,
            "closed_date": acc_close,
            "status": np.where(np.isnat(acc_close), "open", "closed"),
            "monthly_fee": acc_fee,
            "balance": np.round(rng.lognormal(7, 1.2, len(acc_customer)), 2),
        }
    )[exported]
    first_name = rng.choice(FIRST_NAMES, n)
    customers = _customer_master(customer_id, first_name, age, region, segment, signup)
    # customers who sign up after the export are not in it
    customers = customers[signup <= last_day]
    truth = pd.DataFrame(
        {"customer_id": customer_id, "churn_month_index": churn_month, "drift": drift}
    )
    return {
        "customer_id": customer_id,
        "customers": customers.reset_index(drop=True),
        "accounts": accounts.reset_index(drop=True),
        "economic_indicators": econ,
        "_truth": truth,
    }


def _transactions_frame(chunks, customer_id, channels, categories) -> pd.DataFrame:
    """Clean transaction chunks as one DataFrame (small samples and tests only)."""
    frames = [
        pd.DataFrame(
            {
                "transaction_id": _ids("T", c.first_id + np.arange(len(c)), 9).to_numpy(
                    zero_copy_only=False
                ),
                "customer_id": customer_id[c.customer_index],
                "transaction_at": c.transaction_at.astype("datetime64[ns]"),
                "posted_at": c.posted_at.astype("datetime64[ns]"),
                "amount": c.amount,
                "channel": np.array(channels)[c.channel],
                "merchant_category": np.array(categories)[c.merchant_category],
            }
        )
        for c in chunks
    ]
    return pd.concat(frames, ignore_index=True)


def simulate(spec: SampleSpec) -> dict[str, pd.DataFrame]:
    """The bank's clean tables in memory, before dirt (for tests and small samples; the
    landing zone is written month by month instead)."""
    months: list[MonthOfBank] = []
    tables = simulate_bank(spec, months.append)
    customer_id = tables.pop("customer_id")
    transactions = _transactions_frame(
        [m.transactions for m in months], customer_id, CHANNELS, CATEGORIES
    )
    support = pd.concat([m.support for m in months], ignore_index=True)
    support.insert(0, "interaction_id", [f"S{i:08d}" for i in range(1, len(support) + 1)])
    support.insert(1, "customer_id", customer_id[support.pop("customer_index")])
    offers = pd.concat([m.offers for m in months], ignore_index=True)
    offers.insert(0, "offer_id", [f"O{i:08d}" for i in range(1, len(offers) + 1)])
    offers.insert(1, "customer_id", customer_id[offers.pop("customer_index")])
    month_starts = _month_starts(spec)
    hazards = pd.DataFrame(
        {
            "customer_id": np.concatenate([customer_id[m.hazard_customers] for m in months]),
            "month": np.concatenate(
                [np.full(len(m.hazard), month_starts[m.t].strftime("%Y-%m-%d")) for m in months]
            ),
            "churn_hazard": np.concatenate([m.hazard for m in months]),
        }
    )
    return {
        **tables,
        "transactions": transactions,
        "support_interactions": support,
        "marketing_offers": offers,
        "_hazard": hazards,
    }


def simulate_retail(spec: SampleSpec) -> dict:
    """A retailer with customers and transactions only, by a buy-till-you-die process."""
    rng = np.random.default_rng(spec.seed)
    n = spec.customers
    months = _month_starts(spec)
    start = months[0]
    end_of_data = months[-1] + pd.offsets.MonthEnd(0) + pd.Timedelta(days=1)
    window_days = (end_of_data - start).days

    customer_id = customer_ids(n)
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
    tx_at = _seconds(start) + np.round(when * 86400).astype("int64").astype("timedelta64[s]")
    chunk = TransactionChunk(
        1,
        who,
        tx_at,
        tx_at,
        np.round(spend[who] * rng.lognormal(0, 0.4, len(who)), 2),
        rng.integers(0, len(RETAIL_CHANNELS), len(who)).astype(np.int8),
        rng.integers(0, len(RETAIL_CATEGORIES), len(who)).astype(np.int8),
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
    return {
        "customers": customers,
        "transactions": _transactions_frame(
            [chunk], customer_id, RETAIL_CHANNELS, RETAIL_CATEGORIES
        ),
        "transaction_chunk": chunk,
        "_truth": truth,
    }


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


def _dirty_customers(customers: pd.DataFrame, spec: SampleSpec) -> pd.DataFrame:
    """Messy casing, missing emails, later updates and exact duplicates of the master."""
    rng = np.random.default_rng(spec.seed + 1)
    customers = customers.copy()
    customers["region"] = _messy_case(customers["region"].to_numpy(), rng, 0.15)
    customers.loc[rng.random(len(customers)) < 0.02, "email"] = None
    updated = customers.sample(frac=0.05, random_state=spec.seed).copy()
    updated["customer_segment"] = np.where(
        updated["customer_segment"] == "mass", "affluent", "mass"
    )
    updated["updated_at"] = (
        pd.Timestamp(spec.end_month) - pd.to_timedelta(rng.integers(1, 200, len(updated)), unit="D")
    ).strftime("%Y-%m-%d %H:%M:%S")
    duplicates = customers.sample(frac=0.01, random_state=spec.seed + 2)
    return pd.concat([customers, updated, duplicates], ignore_index=True)


CSV_OPTIONS = pacsv.WriteOptions(quoting_style="none")


def _write_csv(table: pa.Table | pd.DataFrame, path: Path, bad_lines: list[str]) -> None:
    """Write a CSV (Arrow's writer: ten times pandas' speed), then append hand-made
    malformed lines, as a broken export would."""
    if isinstance(table, pd.DataFrame):
        table = pa.Table.from_pandas(table, preserve_index=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    pacsv.write_csv(table, path, CSV_OPTIONS)
    if bad_lines:
        with path.open("a") as f:
            for line in bad_lines:
                f.write(line + "\n")


BAD_TRANSACTION_LINES = [
    "T999999991,C0000001,2026-01-01 10:00:00,2026-01-01 10:00:00,n/a,card,retail",
    "T999999992,C0000002,yesterday,2026-01-01 10:00:00,12.50,card,retail",
    "T999999993,C0000003,2026-01-01 10:00:00",
]


class TransactionFiles:
    """Writes transaction chunks into one CSV per posting month, as they come, with the
    dirt of real exports: messy channel casing, missing amounts, 0.5% exact duplicates
    and 0.3% late arrivals (a record in the next month's file). A month's file is written
    as soon as no later chunk can add to it, so memory holds about one month."""

    def __init__(self, folder: Path, spec: SampleSpec, customer_id, channels, categories):
        self.folder, self.spec = folder, spec
        self.months = _month_starts(spec)
        self.first_month = np.datetime64(self.months[0].date(), "M")
        self.customer_id = pa.array(customer_id)
        self.channels = _messy_vocabulary(channels)
        self.categories = pa.array(categories)
        self.pending: dict[int, list[pa.Table]] = {}
        self.rows = 0

    def add(self, chunk: TransactionChunk, part: int) -> None:
        rng = np.random.default_rng([self.spec.seed + 1, part])
        n = len(chunk)
        channel = _messy_codes(chunk.channel.astype(np.int64), len(self.channels) // 4, rng, 0.05)
        amount = np.where(rng.random(n) < 0.002, np.nan, chunk.amount)
        ids = chunk.first_id + np.arange(n)
        rows = np.arange(n)
        # exact duplicates: the same record exported twice, maybe in another month's file
        rows = np.concatenate([rows, np.flatnonzero(rng.random(n) < 0.005)])
        late = rng.random(len(rows)) < 0.003
        posted = chunk.posted_at[rows]
        file_month = (
            (posted + np.where(late, 31 * 86400, 0).astype("timedelta64[s]")).astype(
                "datetime64[M]"
            )
            - self.first_month
        ).astype(np.int64)
        file_month = np.minimum(file_month, len(self.months) - 1)
        table = pa.table(
            {
                "transaction_id": _ids("T", ids[rows], 9),
                "customer_id": self.customer_id.take(chunk.customer_index[rows]),
                "transaction_at": pa.array(chunk.transaction_at[rows]),
                "posted_at": pa.array(posted),
                "amount": pa.array(amount[rows], from_pandas=True),
                "channel": self.channels.take(channel[rows]),
                "merchant_category": self.categories.take(chunk.merchant_category[rows]),
            }
        )
        order = np.argsort(file_month, kind="stable")
        bounds = np.searchsorted(file_month[order], np.unique(file_month), side="left")
        for month, begin, end in zip(
            np.unique(file_month), bounds, [*bounds[1:], len(order)], strict=True
        ):
            piece = table.take(order[begin:end])
            self.pending.setdefault(int(month), []).append(piece)

    def flush(self, through: int) -> None:
        """Write the files of months up to ``through``: no later chunk adds to them."""
        for month in sorted(m for m in self.pending if m <= through):
            pieces = self.pending.pop(month)
            table = pa.concat_tables(pieces)
            last = month == len(self.months) - 1
            key = self.months[month].strftime("%Y_%m")
            path = self.folder / f"transactions_{key}.csv"
            _write_csv(table, path, BAD_TRANSACTION_LINES if last else [])
            self.rows += len(table)
            log.debug("wrote %s (%s rows)", path.name, f"{len(table):,}")

    def finish(self) -> int:
        if len(self.months) - 1 not in self.pending:  # the bad lines need the last file
            self.pending[len(self.months) - 1] = [
                pa.table({c: pa.array([], pa.string()) for c in TRANSACTION_COLUMNS})
            ]
        self.flush(len(self.months))
        return self.rows + len(BAD_TRANSACTION_LINES)


TRANSACTION_COLUMNS = (
    "transaction_id",
    "customer_id",
    "transaction_at",
    "posted_at",
    "amount",
    "channel",
    "merchant_category",
)


class _BankSinks:
    """Where each simulated month of the bank goes in the landing zone."""

    def __init__(self, landing: Path, spec: SampleSpec, customer_id: np.ndarray):
        self.spec, self.customer_id = spec, customer_id
        self.customer_text = pa.array(customer_id)
        self.transactions = TransactionFiles(
            landing / "transactions", spec, customer_id, CHANNELS, CATEGORIES
        )
        self.month_labels = _month_starts(spec).strftime("%Y-%m-%d")
        self.hazard = pq.ParquetWriter(
            landing / TRUTH_FOLDER / "bank_hazard.parquet",
            pa.schema(
                [
                    ("customer_id", pa.string()),
                    ("month", pa.string()),
                    ("churn_hazard", pa.float64()),
                ]
            ),
        )
        self.support: TextIO | None = None
        self.offers: pq.ParquetWriter | None = None
        self.support_rows = self.offer_rows = 0
        if not spec.only_core:
            support_path = landing / "support_interactions" / "support_interactions.jsonl"
            support_path.parent.mkdir(parents=True, exist_ok=True)
            self.support = support_path.open("w")
            offers_path = landing / "marketing_offers" / "marketing_offers.parquet"
            offers_path.parent.mkdir(parents=True, exist_ok=True)
            self.offers = pq.ParquetWriter(offers_path, OFFER_SCHEMA)
            self.first_offers: pa.Table | None = None

    def __call__(self, month: MonthOfBank) -> None:
        self.transactions.add(month.transactions, month.t)
        # a month's file is complete once its month is simulated; the last one, with its
        # malformed lines, is written by finish()
        self.transactions.flush(min(month.t, self.spec.months - 2))
        self.hazard.write_table(
            pa.table(
                {
                    "customer_id": self.customer_text.take(month.hazard_customers),
                    "month": pa.array(np.full(len(month.hazard), self.month_labels[month.t])),
                    "churn_hazard": month.hazard,
                }
            )
        )
        if self.support is not None and self.offers is not None:
            support = month.support
            ids = _ids("S", self.support_rows + 1 + np.arange(len(support)), 8)
            support.insert(0, "interaction_id", ids.to_numpy(zero_copy_only=False))
            support.insert(1, "customer_id", self.customer_id[support.pop("customer_index")])
            support["created_at"] = np.datetime_as_string(
                support["created_at"].to_numpy().astype("datetime64[s]"), unit="s"
            )
            if len(support):
                text = support.to_json(orient="records", lines=True)
                self.support.write(text if text.endswith("\n") else text + "\n")
            self.support_rows += len(support)
            offers = month.offers
            ids = _ids("O", self.offer_rows + 1 + np.arange(len(offers)), 8)
            offers.insert(0, "offer_id", ids.to_numpy(zero_copy_only=False))
            offers.insert(1, "customer_id", self.customer_id[offers.pop("customer_index")])
            table = pa.Table.from_pandas(offers, schema=OFFER_SCHEMA, preserve_index=False)
            if self.first_offers is None and len(table) >= 2:
                self.first_offers = table.slice(0, 2)
            self.offers.write_table(table)
            self.offer_rows += len(offers)

    def finish(self) -> dict[str, int]:
        written = {"transactions": self.transactions.finish()}
        self.hazard.close()
        if self.support is not None and self.offers is not None:
            self.support.write('{"interaction_id": "S99999991", "customer_id": "C0000001", ')
            self.support.write('"created_at"\n')
            self.support.write(
                '{"interaction_id": "S99999992", "customer_id": "C0000002", '
                '"created_at": "2026-13-45T10:00:00", "topic": "question"}\n'
            )
            self.support.close()
            written["support_interactions"] = self.support_rows + 2
            # two offers whose customer is missing: orphans for the quarantine
            if self.first_offers is not None:
                orphans = self.first_offers.set_column(
                    0, "offer_id", pa.array(["O99999991", "O99999992"])
                ).set_column(1, "customer_id", pa.array([None, None], pa.string()))
                self.offers.write_table(orphans)
                self.offer_rows += 2
            self.offers.close()
            written["marketing_offers"] = self.offer_rows
        return written


OFFER_SCHEMA = pa.schema(
    [
        ("offer_id", pa.string()),
        ("customer_id", pa.string()),
        ("campaign", pa.string()),
        ("offered_at", pa.timestamp("us")),
        ("response", pa.string()),
        ("responded_at", pa.timestamp("us")),
    ]
)

BAD_CUSTOMER_LINES = [
    "C9999991,Zed,zed@example.com,31/02/1980,north,mass,2024-01-05,2024-01-05 09:00:00",
    "C9999992,Yan,yan@example.com,1985-06-01,south,mass,not-a-date,2024-02-01 09:00:00",
    ",Nobody,nobody@example.com,1970-01-01,east,mass,2024-03-01,2024-03-01 09:00:00",
]


def write_landing_zone(spec: SampleSpec, landing: Path) -> dict[str, int]:
    """Generate the sample landing zone under ``landing``; return rows written per source.
    The bank is written month by month (memory bounded by one month of transactions)."""
    if spec.scenario not in SCENARIOS:
        raise ValueError(f"scenario {spec.scenario!r}: use one of {', '.join(SCENARIOS)}")
    landing.mkdir(parents=True, exist_ok=True)
    truth = landing / TRUTH_FOLDER / f"{spec.scenario}_truth.parquet"
    truth.parent.mkdir(parents=True, exist_ok=True)
    written: dict[str, int] = {}
    if spec.scenario == "bank":
        sinks = _BankSinks(landing, spec, customer_ids(spec.customers))

        def on_month(month: MonthOfBank) -> None:
            sinks(month)
            log.info("simulated and wrote month %d of %d", month.t + 1, spec.months)

        tables = simulate_bank(spec, on_month)
        streamed = sinks.finish()
    else:
        tables = simulate_retail(spec)
        files = TransactionFiles(
            landing / "transactions",
            spec,
            tables["customers"]["customer_id"].to_numpy(),
            RETAIL_CHANNELS,
            RETAIL_CATEGORIES,
        )
        files.add(tables.pop("transaction_chunk"), 0)
        streamed = {"transactions": files.finish()}
    tables["_truth"].to_parquet(truth, index=False)

    customers = _dirty_customers(tables["customers"], spec)
    _write_csv(customers, landing / "customers" / "customers.csv", BAD_CUSTOMER_LINES)
    written["customers"] = len(customers) + len(BAD_CUSTOMER_LINES)
    written["transactions"] = streamed.pop("transactions")

    if not spec.only_core and spec.scenario == "bank":
        accounts = tables["accounts"].copy()
        accounts["status"] = _messy_case(
            accounts["status"].to_numpy(), np.random.default_rng(spec.seed + 2), 0.1
        )
        _write_csv(accounts, landing / "accounts" / "accounts.csv", [])
        written["accounts"] = len(accounts)
        written.update(streamed)
        econ = tables["economic_indicators"].copy()
        econ["region"] = _messy_case(
            econ["region"].to_numpy(), np.random.default_rng(spec.seed + 3), 0.2
        )
        _write_csv(econ, landing / "economic_indicators" / "economic_indicators.csv", [])
        written["economic_indicators"] = len(econ)
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
