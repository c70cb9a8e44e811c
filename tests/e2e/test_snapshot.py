"""SCD2 history of customer attributes on parquet, over three loads.

Load 1 is the shared pipeline run. Loads 2 and 3 land a file of changed customer versions,
ingest it and run the snapshot (the project's parquet snapshot materialization). Then the
population is rebuilt and must carry, for each as_of_month, the attributes valid then.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from pipeline import cli
from pipeline.config import Paths

pytestmark = [pytest.mark.spark, pytest.mark.e2e]

SNAPSHOT = "analytics_snapshots.customers_snapshot"


def _history(spark, customer_id: str) -> list:
    return spark.sql(
        f"select * from {SNAPSHOT} where customer_id = '{customer_id}' order by dbt_valid_from"
    ).collect()


def _land_versions(changes: pd.DataFrame, name: str) -> None:
    folder = Paths.from_env().landing / "customers"
    changes.to_csv(folder / name, index=False)
    assert cli.main(["ingest"]) == 0
    assert cli.main(["dbt", "snapshot", "--select", "customers_snapshot"]) == 0


def test_snapshot_keeps_attribute_history_over_three_loads(spark, pipeline_run):
    landing = Paths.from_env().landing / "customers"
    export = pd.concat(pd.read_csv(p, dtype=str) for p in sorted(landing.glob("*.csv")))
    latest = export.sort_values("updated_at").groupby("customer_id").tail(1)
    latest = latest.set_index("customer_id")
    customers = spark.table("analytics_staging.stg_raw__customers").count()

    # load 1: one current version per customer
    assert spark.table(SNAPSHOT).count() == customers
    assert spark.sql(f"select count(*) from {SNAPSHOT} where dbt_valid_to is null").first()[0] == (
        customers
    )

    # load 2: three customers move region in the last data month
    end_month = spark.sql(
        "select data_end_month from analytics_intermediate.int_data_windows_summarized"
    ).first()[0]
    moved_at = dt.datetime.combine(end_month, dt.time(9)) + dt.timedelta(days=2)
    movers = [
        row.customer_id
        for row in spark.sql(
            "select customer_id from analytics_intermediate.int_customer_months_spined "
            f"where as_of_month = date'{end_month}' order by customer_id limit 3"
        ).collect()
    ]
    load2 = latest.loc[movers].reset_index()
    load2["region"] = ["moved_" + r for r in load2["region"].str.lower().str.strip()]
    load2["updated_at"] = moved_at.strftime("%Y-%m-%d %H:%M:%S")
    _land_versions(load2, "changes_load_2.csv")
    assert spark.table(SNAPSHOT).count() == customers + 3
    for customer_id in movers:
        old, new = _history(spark, customer_id)
        assert old.dbt_valid_to == new.dbt_valid_from == moved_at
        assert new.dbt_valid_to is None and new.region.startswith("moved_")

    # load 3: the first mover changes segment again; an unchanged re-export adds nothing
    again_at = moved_at + dt.timedelta(hours=5)
    load3 = pd.concat([load2.iloc[:1].assign(customer_segment="vip"), load2.iloc[1:2]])
    load3.iloc[0, load3.columns.get_loc("updated_at")] = again_at.strftime("%Y-%m-%d %H:%M:%S")
    _land_versions(load3, "changes_load_3.csv")
    assert spark.table(SNAPSHOT).count() == customers + 4
    versions = _history(spark, movers[0])
    assert [v.dbt_valid_from for v in versions[1:]] == [v.dbt_valid_to for v in versions[:-1]]
    assert [v.customer_segment for v in versions][-1] == "vip"
    assert sum(v.dbt_valid_to is None for v in versions) == 1

    # features: each month carries the version valid at its end
    assert cli.main(["dbt", "build", "--select", "int_customer_months_spined"]) == 0
    months = spark.sql(
        "select as_of_month, region from analytics_intermediate.int_customer_months_spined "
        f"where customer_id = '{movers[1]}' order by as_of_month"
    ).collect()
    assert {m.region for m in months if m.as_of_month < end_month} == {
        latest.loc[movers[1], "region"].lower().strip()
    }
    assert [m.region for m in months if m.as_of_month == end_month] == [
        "moved_" + latest.loc[movers[1], "region"].lower().strip()
    ]
