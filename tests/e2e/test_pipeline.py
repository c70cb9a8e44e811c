"""The whole pipeline on a small generated dataset: real Spark, real dbt, real HTTP."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from pipeline import cli
from pipeline.config import PROJECT_DIR
from tests.e2e.conftest import free_port, serve

pytestmark = [pytest.mark.spark, pytest.mark.e2e]


def _one(spark, sql):
    return spark.sql(sql).first()[0]


def test_every_active_customer_gets_one_score(spark, pipeline_run):
    active = _one(
        spark,
        """
        select count(*) from analytics.customer_features_monthly
        where as_of_month = (select max(as_of_month) from analytics.customer_features_monthly)""",
    )
    assert active > 100
    assert _one(spark, "select count(*) from analytics.churn_scores") == active
    assert _one(spark, "select count(distinct customer_id) from analytics.churn_scores") == active
    assert _one(spark, "select count(*) from analytics.customer_churn_overview") == active


def test_model_beats_the_baselines_out_of_time_after_a_horizon_gap(spark, pipeline_run):
    registry = spark.table("analytics.churn_model_registry").collect()
    assert len(registry) == 1
    model = registry[0]
    assert model.churn_definition == "contractual", "the bank sample has an accounts feed"
    assert model.roc_auc > 0.6, f"out-of-time ROC AUC {model.roc_auc:.3f}"
    assert model.roc_auc > model.recency_roc_auc, (model.roc_auc, model.recency_roc_auc)
    gap = (model.validation_start_month.year - model.train_end_month.year) * 12 + (
        model.validation_start_month.month - model.train_end_month.month
    )
    assert gap >= model.horizon_months, "training labels must not read the validation period"
    assert model.expected_calibration_error < 0.05
    expected = "xgboost" if model.is_promoted else "rfm_logistic_regression"
    assert (model.scoring_model_version, model.scoring_algorithm) == (model.model_version, expected)
    assert Path(model.artifact_uri.removeprefix("file://")).is_dir()
    months = spark.table("analytics.churn_model_validation_by_month").collect()
    assert len(months) == 3 and sum(m.validation_rows for m in months) == model.validation_rows


def test_every_customer_has_a_score_or_a_reason(spark, pipeline_run):
    coverage = spark.table("analytics.churn_scoring_coverage")
    in_master = coverage.where("is_in_customer_master").count()
    assert in_master == spark.table("analytics.customers").count()
    assert coverage.where("is_scored").count() == spark.table("analytics.churn_scores").count()
    assert coverage.where("not is_scored and unscored_reason is null").count() == 0
    reasons = {r[0] for r in coverage.select("unscored_reason").distinct().collect()}
    assert "contract_ended" in reasons and "customer_record_quarantined" in reasons


def test_too_few_churners_stops_training_before_anything_is_written(spark, pipeline_run):
    before = spark.table("analytics.churn_model_registry").count()
    artifacts = sorted(p.name for p in pipeline_run.model_store.iterdir())
    code = cli.main(
        ["dbt", "build", "--select", "churn_model_registry", "--vars", "{min_positives: 1000000}"]
    )
    assert code != 0
    assert spark.table("analytics.churn_model_registry").count() == before
    assert sorted(p.name for p in pipeline_run.model_store.iterdir()) == artifacts
    log = (Path(os.environ["DBT_LOG_PATH"]) / "dbt.log").read_text()[-50_000:]
    assert "not training" in log and "churn_horizon_months" in log


def test_shap_explains_every_score_exactly(spark, pipeline_run):
    worst = _one(
        spark,
        """
        select max(abs(s.explained - c.churn_score_margin)) from (
            select customer_id, sum(shap_value) + max(base_value) as explained
            from analytics.churn_shap_values group by customer_id) s
        join analytics.churn_scores c using (customer_id)""",
    )
    assert worst < 1e-3


def test_feature_files_are_in_month_order_and_scored_features_match_the_join(spark, pipeline_run):
    """customer_features_monthly sorts each file by as_of_month, so that a reader of one
    month skips the other months' pages; scored_features returns exactly the rows of the
    scored customers, as the join it replaces did."""
    from urllib.parse import unquote, urlparse

    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from ml.spark_jobs import scored_features

    features = spark.table("analytics.customer_features_monthly")
    files = features.inputFiles()
    assert files
    for name in files:
        months = pq.read_table(unquote(urlparse(name).path), columns=["as_of_month"])["as_of_month"]
        assert months.equals(pc.take(months, pc.sort_indices(months))), name

    scores = spark.table("analytics.churn_scores")
    expected = features.join(
        scores.select("customer_id", "as_of_month"), ["customer_id", "as_of_month"]
    )
    got = scored_features(features, scores)
    assert got.columns == expected.columns
    assert got.count() == scores.count() == expected.count()
    assert got.exceptAll(expected).isEmpty()


def test_top_drivers_are_each_customers_largest_shap_values(spark, pipeline_run):
    """churn_top_drivers ranks within each row of churn_shap_vectors; ranking the long view
    across rows (largest SHAP value first, ties by feature name) must give the same rows."""
    long_form = _one(spark, "select count(*) from analytics.churn_shap_values")
    vectors = spark.table("analytics.churn_shap_vectors")
    features = len(vectors.first()["feature_names"])
    assert long_form == vectors.count() * features
    # a missing value is null, as in the feature table, never NaN (the API writes JSON)
    assert (
        _one(spark, "select count(*) from analytics.churn_shap_values where isnan(feature_value)")
        == 0
    )
    differing = _one(
        spark,
        """
        with ranked as (
            select customer_id, feature_name, feature_value, shap_value,
                row_number() over (
                    partition by customer_id order by shap_value desc, feature_name) as rank
            from analytics.churn_shap_values)
        select count(*) from (
            (select customer_id, feature_name, shap_value, rank from ranked
             where rank <= 3
             except all
             select customer_id, feature_name, shap_value, driver_rank
             from analytics.churn_top_drivers)
            union all
            (select customer_id, feature_name, shap_value, driver_rank
             from analytics.churn_top_drivers
             except all
             select customer_id, feature_name, shap_value, rank from ranked
             where rank <= 3))""",
    )
    assert differing == 0


def test_every_scored_customer_has_a_segment_and_top_drivers(spark, pipeline_run):
    missing = _one(
        spark,
        """
        select count(*) from analytics.customer_churn_overview
        where segment_id is null or top_driver_feature is null or segment_name is null
            or size(top_drivers) != 3""",
    )
    assert missing == 0
    profiles = spark.table("analytics.churn_segment_profiles").collect()
    assert profiles
    assert sum(p.customer_count for p in profiles) == _one(
        spark, "select count(*) from analytics.churn_scores"
    )
    assert sum(p.backtest_customer_count for p in profiles) > 0
    # in words: unique plain names, and a rule with its precision for every segment
    assert len({p.segment_name for p in profiles}) == len(profiles)
    assert all(p.segment_rule and 0 < p.rule_precision <= 1 for p in profiles)
    assert 0 < profiles[0].surrogate_fidelity <= 1
    # pooled over the validation window; never a 0.0 that rests on too few churners
    for p in profiles:
        if p.observed_churn_rate is None:
            assert p.backtest_churner_count < 10 and p.observed_churn_basis
        else:
            assert 0 <= p.observed_churn_rate <= 1 and p.backtest_churner_count >= 10
            assert f"{p.backtest_churner_count} churners among" in p.observed_churn_basis
    months = _one(
        spark,
        "select count(distinct as_of_month) from analytics.churn_segments "
        "where population = 'backtest'",
    )
    assert months == _one(
        spark,
        "select count(distinct as_of_month) from analytics.churn_training_set "
        "where dataset_split = 'validation'",
    )


def test_rebuilding_segments_on_unchanged_data_moves_no_customer(spark, pipeline_run):
    def assignments():
        rows = spark.table("analytics.churn_segments").collect()
        return {(r.customer_id, r.population): (r.segment_id, r.embedding_x) for r in rows}

    before = assignments()
    assert cli.main(["dbt", "build", "--select", "churn_segmenter+"]) == 0
    assert assignments() == before
    profiles = spark.table("analytics.churn_segment_profiles").collect()
    assert not any(p.is_new_segment for p in profiles), "every segment kept its id"


def test_training_backend_sagemaker_runs_through_dbt_against_stubbed_clients(
    spark, pipeline_run, monkeypatch
):
    """dbt var training_backend: sagemaker makes churn_model_registry upload the training
    set and start a SageMaker training job (requests validated by botocore's Stubbers); a
    failed job stops the build with SageMaker's FailureReason and registers nothing."""
    pytest.importorskip("sagemaker.train")
    from botocore.stub import ANY

    from ml.sagemaker import launcher
    from tests.aws_stubs import ENV, StubbedSession, stub_training_job

    session = StubbedSession()
    reason = "ClientError: no space left on device (raise VolumeSizeInGB)"
    stub_training_job(session, "job-e2e", "Failed", reason, data_name=ANY, hyperparameters=ANY)
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SAGEMAKER_VALIDATE_ROLE", "false")
    monkeypatch.setattr(launcher, "boto_session", lambda config: session)
    before = spark.table("analytics.churn_model_registry").count()
    code = cli.main(
        [
            "dbt",
            "build",
            "--select",
            "churn_model_registry",
            "--vars",
            "{training_backend: sagemaker}",
        ]
    )
    assert code != 0
    session.assert_all_requests_made()
    assert spark.table("analytics.churn_model_registry").count() == before
    log = (Path(os.environ["DBT_LOG_PATH"]) / "dbt.log").read_text()[-50_000:]
    assert "training job" in log and "no space left on device" in log


def test_device_cuda_without_a_gpu_stops_training_and_shap_with_a_clear_error(spark, pipeline_run):
    """dbt var device: cuda on a machine without a GPU: XGBoost alone would warn and run on
    the CPU; churn_model_registry and churn_shap_vectors stop, say so, and change nothing."""
    from tests.unit.test_model import _gpu_present

    if _gpu_present():
        pytest.skip("this machine has a GPU")
    log = Path(os.environ["DBT_LOG_PATH"]) / "dbt.log"
    before = {
        t: spark.table(f"analytics.{t}").count()
        for t in ("churn_model_registry", "churn_shap_vectors")
    }
    for node in before:  # one at a time: a failed registry would skip the SHAP node
        start = log.stat().st_size
        assert cli.main(["dbt", "run", "--select", node, "--vars", "{device: cuda}"]) != 0
        with log.open() as f:
            f.seek(start)
            text = f.read()
        assert "finds no GPU on this machine" in text, text[-3000:]
    assert {t: spark.table(f"analytics.{t}").count() for t in before} == before


def test_sagemaker_batch_score_and_deploy_refuse_a_locally_trained_model(
    pipeline_run, monkeypatch, caplog
):
    """SageMaker serves a model.tar.gz in S3: with a locally trained scoring model, the
    commands say to train on SageMaker first, before any AWS call."""
    pytest.importorskip("sagemaker.train")
    from tests.aws_stubs import ENV

    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    for action in ("batch-score", "deploy"):
        caplog.clear()
        assert cli.main(["sagemaker", action]) == 2
        assert "propensity sagemaker train" in caplog.text and "trained locally" in caplog.text


def test_rebuilding_unchanged_data_registers_no_new_model(spark, pipeline_run):
    version = _one(spark, "select model_version from analytics.churn_model_registry")
    assert cli.main(["dbt", "build", "--select", "churn_model_registry"]) == 0
    rows = spark.table("analytics.churn_model_registry").collect()
    assert [r.model_version for r in rows] == [version]


def test_uniqueness_tests_skip_partial_aggregation_yet_find_duplicates(spark, pipeline_run):
    """macros/materializations/test_uniqueness.sql: a uniqueness test runs without Spark's
    pre-shuffle aggregation, still counts a duplicate, and leaves the setting reset."""
    table = "analytics_reference.feature_dictionary"
    setting = "spark.sql.execution.bypassPartialAggregation"
    log = Path(os.environ["DBT_LOG_PATH"]) / "dbt.log"
    spark.sql(f"insert into {table} select * from {table} order by feature_name limit 1")
    try:
        start = log.stat().st_size
        assert cli.main(["dbt", "test", "--select", "unique_feature_dictionary_feature_name"]) != 0
        with log.open() as f:
            f.seek(start)
            text = f.read()
        assert "Got 1 result" in text, text[-3000:]
        assert f"set {setting}=true" in text and f"reset {setting}" in text
        assert spark.conf.get(setting, "false") == "false"
    finally:
        assert cli.main(["dbt", "seed", "--select", "feature_dictionary"]) == 0
    assert _one(spark, f"select count(*) - count(distinct feature_name) from {table}") == 0


def test_sampled_transaction_id_test_reports_every_duplicated_id_in_its_sample(spark, pipeline_run):
    """tests/generic/expect_column_values_to_be_unique.sql with max_checked_values: an id in
    the hash sample is checked with all its copies; with the whole table in the sample (the
    default at this size) every duplicated id is reported."""
    from pyspark.sql import functions as F

    table = "analytics_staging.stg_raw__transactions"
    test = "stg_raw__transactions,test_name:expect_column_values_to_be_unique"
    log = Path(os.environ["DBT_LOG_PATH"]) / "dbt.log"
    rows = _one(spark, f"select count(*) from {table}") + 2
    max_ids = rows // 4
    bucket = F.pmod(F.xxhash64("transaction_id"), F.lit(1_000_000))
    ids = spark.table(table).select("transaction_id", bucket.alias("bucket"))
    limit = 1_000_000 * max_ids / rows
    inside = ids.where(F.col("bucket") < 0.5 * limit).first().transaction_id
    outside = ids.where(F.col("bucket") > limit + 0.25 * (1_000_000 - limit)).first().transaction_id

    def failures(vars_: dict) -> str:
        start = log.stat().st_size
        args = ["dbt", "test", "--select", test, "--vars", json.dumps(vars_)]
        assert cli.main(args) != 0
        with log.open() as f:
            f.seek(start)
            return f.read()

    duplicates = f"select * from {table} where transaction_id in (?, ?)"
    spark.sql(f"insert into {table} {duplicates}", args=[inside, outside])
    try:
        assert "Got 2 results" in failures({}), "the whole table is in the sample"
        assert "Got 1 result" in failures({"transaction_id_test_max_ids": max_ids})
    finally:
        assert cli.main(["dbt", "run", "--select", "stg_raw__transactions"]) == 0
    assert _one(spark, f"select count(*) - count(distinct transaction_id) from {table}") == 0


def test_training_set_keeps_a_seeded_sample_when_there_are_too_many_labelled_rows(
    spark, pipeline_run
):
    """churn_training_set keeps every labelled row up to max_training_rows, and above it the
    rows whose seeded hash falls below the fraction, with the split decided on all rows; the
    registry refuses a training set larger than its own max_training_rows allows."""
    from pyspark.sql import functions as F

    table = "analytics.churn_training_set"
    keys = ["customer_id", "as_of_month"]
    everything = spark.table(table).select(*keys, "dataset_split", "sample_fraction").collect()
    labelled = _one(spark, "select count(*) from analytics.churn_labels where is_label_known")
    assert len(everything) == labelled and {r.sample_fraction for r in everything} == {1.0}
    split = {(r.customer_id, r.as_of_month): r.dataset_split for r in everything}
    target = labelled // 3
    fraction = target / labelled
    expected = {
        (r.customer_id, r.as_of_month)
        for r in spark.table(table)
        .where(F.pmod(F.xxhash64(F.lit(42), *keys), F.lit(1_000_000)) < int(fraction * 1_000_000))
        .select(*keys)
        .collect()
    }
    try:
        vars_ = json.dumps({"max_training_rows": target})
        assert cli.main(["dbt", "run", "--select", "churn_training_set", "--vars", vars_]) == 0
        rows = spark.table(table).select(*keys, "dataset_split", "sample_fraction").collect()
        assert {(r.customer_id, r.as_of_month) for r in rows} == expected
        assert abs(len(rows) - target) < 0.2 * target
        assert all(r.sample_fraction == pytest.approx(fraction) for r in rows)
        assert all(r.dataset_split == split[(r.customer_id, r.as_of_month)] for r in rows)
        assert {r.dataset_split for r in rows} == set(split.values())

        log = Path(os.environ["DBT_LOG_PATH"]) / "dbt.log"
        start = log.stat().st_size
        vars_ = json.dumps({"max_training_rows": target // 4})
        assert cli.main(["dbt", "run", "--select", "churn_model_registry", "--vars", vars_]) != 0
        with log.open() as f:
            f.seek(start)
            text = f.read()
        assert f"churn_training_set holds {len(rows):,} rows" in text, text[-3000:]
        assert "Rebuild it with the same vars" in text
    finally:
        assert cli.main(["dbt", "run", "--select", "churn_training_set"]) == 0
    assert _one(spark, f"select count(*) from {table}") == labelled


def test_docs_lineage_runs_from_sources_through_python_models_to_consumers(pipeline_run):
    assert cli.main(["dbt", "docs", "generate"]) == 0
    manifest = json.loads((Path(os.environ["DBT_TARGET_PATH"]) / "manifest.json").read_text())
    parents = {node: set(ps) for node, ps in manifest["parent_map"].items()}

    def ancestors(node):
        seen, todo = set(), [node]
        while todo:
            for parent in parents.get(todo.pop(), ()):
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return seen

    api = ancestors("exposure.customer_propensity.churn_api")
    assert "source.customer_propensity.raw.transactions" in api
    for model in (
        "churn_model_registry",
        "churn_scores",
        "churn_shap_vectors",
        "churn_shap_values",
        "churn_segments",
        "churn_segmenter",
    ):
        assert f"model.customer_propensity.{model}" in api
    assert "exposure.customer_propensity.churn_dashboard" in manifest["exposures"]


@pytest.fixture(scope="module")
def api(pipeline_run, tmp_path_factory):
    """The API served by uvicorn in its own process (no Spark), over the published marts,
    and an HTTP client holding an API key made with `propensity api-key new`."""
    keys_file = tmp_path_factory.mktemp("api") / "api_keys"
    env = {
        **os.environ,
        "PROPENSITY_SERVING_DIR": str(pipeline_run.serving),
        "PROPENSITY_API_KEYS_FILE": str(keys_file),
    }
    made = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "api-key", "new", "--name", "e2e"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    key = next(word for word in made.stdout.split() if word.startswith("cp_"))
    port = free_port()
    with serve(
        [sys.executable, "-m", "uvicorn", "serving.api.main:app", "--port", str(port)],
        f"http://127.0.0.1:{port}/health",
        env,
    ) as url:
        base = url.removesuffix("/health")
        with httpx.Client(base_url=base, headers={"X-API-Key": key}) as client:
            yield client


def test_api_serves_a_scored_customer(spark, api):
    row = spark.sql(
        "select * from analytics.customer_churn_overview order by churn_probability desc limit 1"
    ).first()
    response = api.get(f"/customers/{row.customer_id}")
    assert response.status_code == 200
    body = response.json()
    assert body["churn_probability"] == pytest.approx(row.churn_probability)
    assert body["risk_band"] == "high"
    assert body["model_version"] == row.model_version
    assert body["as_of_month"] == str(row.as_of_month)
    assert body["segment"]["segment_id"] == row.segment_id
    assert [d["feature"] for d in body["top_drivers"]] == [
        driver.feature_name for driver in sorted(row.top_drivers, key=lambda d: d.driver_rank)
    ]


def test_api_health_names_the_published_model(spark, api):
    body = api.get("/health").json()
    assert body["status"] == "ok"
    assert body["model_version"] == _one(
        spark, "select model_version from analytics.churn_scores limit 1"
    )
    assert body["customers_scored"] == _one(spark, "select count(*) from analytics.churn_scores")


def test_api_unknown_customer_is_a_clear_404(api):
    response = api.get("/customers/C9999999")
    assert response.status_code == 404
    assert response.json()["reason"] == "unknown_customer"
    assert "C9999999" in response.json()["detail"] and "check the id" in response.json()["detail"]


def test_api_says_why_a_known_customer_has_no_score(spark, api):
    left = spark.sql(
        "select customer_id from analytics.churn_scoring_coverage "
        "where unscored_reason = 'contract_ended' limit 1"
    ).first()[0]
    response = api.get(f"/customers/{left}")
    assert response.status_code == 404
    assert response.json()["reason"] == "contract_ended"
    assert "account is closed" in response.json()["detail"]


def test_api_lists_a_campaign_segments_and_the_model_card(spark, api):
    high = _one(
        spark, "select count(*) from analytics.customer_churn_overview where risk_band = 'high'"
    )
    first = api.get("/customers", params={"risk_band": "high", "limit": 5}).json()
    assert first["total"] == high and len(first["items"]) == min(5, high)
    rest = api.get("/customers", params={"risk_band": "high", "cursor": first["next_cursor"]})
    assert len(first["items"]) + len(rest.json()["items"]) == min(high, 5 + 100)
    csv_text = api.get("/customers", params={"risk_band": "high", "format": "csv"}).text
    assert len(csv_text.strip().splitlines()) == high + 1

    segments = api.get("/segments").json()
    assert sum(s["customer_count"] for s in segments) == _one(
        spark, "select count(*) from analytics.customer_churn_overview"
    )
    assert all(s["top_drivers"] for s in segments)

    card = api.get("/model").json()
    assert card["model_version"] == _one(
        spark, "select model_version from analytics.churn_scores limit 1"
    )
    assert card["validation_by_month"], "per-month validation metrics are published"
    assert card["baselines"]["rfm_roc_auc"] is not None
    assert any(f["name"] == "days_since_last_transaction" for f in card["features"])


def test_api_scores_in_real_time_as_the_batch_scored(spark, api):
    """POST /score with the features of published customers gives their published score,
    band and segment: the same model artifact, cut points and segmenter."""
    features = api.get("/openapi.json").json()["components"]["schemas"]["ScoreInput"]
    names = features["properties"]["features"]["required"]
    rows = spark.sql(
        "select f.*, o.churn_probability as published_probability, o.risk_band, o.segment_id "
        "from analytics.customer_features_monthly f join analytics.customer_churn_overview o "
        "using (customer_id, as_of_month) order by customer_id limit 40"
    ).collect()
    payload = [{"reference": r.customer_id, "features": {n: r[n] for n in names}} for r in rows]
    response = api.post("/score", json={"customers": payload})
    assert response.status_code == 200, response.text[:2000]
    results = response.json()["results"]
    assert [x["reference"] for x in results] == [r.customer_id for r in rows]
    for result, row in zip(results, rows, strict=True):
        assert result["churn_probability"] == pytest.approx(row.published_probability, abs=1e-9)
        assert result["risk_band"] == row.risk_band
        assert result["segment"]["segment_id"] == row.segment_id
        assert result["top_drivers"] and result["top_drivers"][0]["direction"]
    payload[0]["features"].pop(names[0])
    missing = api.post("/score", json={"customers": payload[:1]})
    assert missing.status_code == 422
    assert missing.json()["detail"][0]["loc"][-1] == names[0]


def test_api_needs_a_key_and_bounds_what_it_repeats(api):
    anonymous = httpx.get(str(api.base_url.join("/customers/C0000002")))
    assert anonymous.status_code == 401
    too_long = api.get("/customers/" + "x" * 5000)
    assert too_long.status_code == 422 and len(too_long.content) < 1000


@pytest.mark.parametrize("page", ["overview.py", "segments.py", "customer_lookup.py", "model.py"])
def test_dashboard_pages_render_the_published_scores(pipeline_run, page, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("PROPENSITY_SERVING_DIR", str(pipeline_run.serving))
    app = AppTest.from_file(
        str(PROJECT_DIR / "serving" / "dashboard" / "views" / page), default_timeout=60
    ).run()
    assert not app.exception, app.exception
    assert app.title[0].value


def test_dashboard_shows_the_last_good_scores_when_current_is_broken(
    pipeline_run, tmp_path, monkeypatch
):
    from streamlit.testing.v1 import AppTest

    from pipeline.publish import switch_current

    serving = tmp_path / "serving"
    shutil.copytree(pipeline_run.serving, serving)
    (serving / "versions" / "99990101T000000000000Z").mkdir()  # a publish that never finished
    switch_current(serving, "99990101T000000000000Z")
    monkeypatch.setenv("PROPENSITY_SERVING_DIR", str(serving))
    path = PROJECT_DIR / "serving" / "dashboard" / "views" / "overview.py"
    app = AppTest.from_file(str(path), default_timeout=60).run()
    assert not app.exception, app.exception
    assert any("shows the previous ones" in w.value for w in app.warning)
    assert "Expected to leave in the next 3 months" in [m.label for m in app.metric]


def test_dashboard_overview_says_the_horizon_and_the_quality_in_plain_words(
    pipeline_run, monkeypatch
):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("PROPENSITY_SERVING_DIR", str(pipeline_run.serving))
    path = PROJECT_DIR / "serving" / "dashboard" / "views" / "overview.py"
    app = AppTest.from_file(str(path), default_timeout=60).run()
    labels = [m.label for m in app.metric]
    assert "Expected to leave in the next 3 months" in labels
    assert "Riskiest 10% vs average" in labels
    assert any("0.5 is a coin toss" in c.value for c in app.caption)


def test_dashboard_model_page_compares_with_baselines_and_offers_the_reports(
    pipeline_run, monkeypatch
):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("PROPENSITY_SERVING_DIR", str(pipeline_run.serving))
    path = PROJECT_DIR / "serving" / "dashboard" / "views" / "model.py"
    app = AppTest.from_file(str(path), default_timeout=60).run()
    assert not app.exception, app.exception
    assert any("against two simple rules" in c.value for c in app.caption)
    assert any("Are the probabilities honest?" in h.value for h in app.subheader)
    # the PDFs and the segment definitions, as downloads
    labels = [b.proto.label for b in app.get("download_button")]
    assert labels == [
        "Model performance (PDF)",
        "Segment summary (PDF)",
        "Segment definitions (Markdown)",
    ]


def test_dashboard_segments_page_says_where_to_start_without_jargon(pipeline_run, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("PROPENSITY_SERVING_DIR", str(pipeline_run.serving))
    path = PROJECT_DIR / "serving" / "dashboard" / "views" / "segments.py"
    app = AppTest.from_file(str(path), default_timeout=60).run()
    assert not app.exception, app.exception
    start = [i.value for i in app.info]
    assert start and start[0].startswith("**Where to start:")
    assert "in the next 3 months" in start[0]
    text = " ".join([*start, *(c.value for c in app.caption), *(h.value for h in app.subheader)])
    assert "SHAP" not in text and "embedding" not in text
    # the back-tested churn rate reads as a percentage or in words, never as an empty value
    shown = app.dataframe[0].value["observed_churn"]
    assert shown.str.fullmatch(r"\d+%|too few to tell").all(), shown.tolist()


def test_dashboard_lists_customers_for_a_campaign_with_filters(spark, pipeline_run, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("PROPENSITY_SERVING_DIR", str(pipeline_run.serving))
    path = PROJECT_DIR / "serving" / "dashboard" / "views" / "customer_lookup.py"
    app = AppTest.from_file(str(path), default_timeout=60).run()
    high = _one(spark, "select count(*) from analytics.churn_scores where risk_band = 'high'")
    assert len(app.dataframe[0].value) == min(high, 200)  # high risk by default
    app.multiselect[0].set_value(["high", "medium"]).run()
    both = _one(
        spark, "select count(*) from analytics.churn_scores where risk_band in ('high', 'medium')"
    )
    assert f"**{both:,} customers** match" in app.markdown[0].value
    app.slider[0].set_value(100).run()
    assert len(app.dataframe[0].value) == 0


def test_dashboard_lookup_shows_a_customer(spark, pipeline_run, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("PROPENSITY_SERVING_DIR", str(pipeline_run.serving))
    customer = _one(spark, "select customer_id from analytics.churn_scores limit 1")
    app = AppTest.from_file(
        str(PROJECT_DIR / "serving" / "dashboard" / "views" / "customer_lookup.py"),
        default_timeout=60,
    ).run()
    app.text_input[0].input(customer).run()
    assert not app.exception
    assert [m.label for m in app.metric] == ["Churn probability", "Risk band", "Percentile"]
    # each driver: the customer's value next to the typical one, and which way it pushes
    drivers = app.dataframe[0].value
    assert drivers["typical_value"].notna().all(), drivers
    assert set(drivers["direction"]) <= {"raises the risk", "lowers the risk"}
    app.text_input[0].input("C9999999").run()
    assert "No score for 'C9999999'" in app.error[0].value
