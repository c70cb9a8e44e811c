"""The overview page's trend across published versions, on two small synthetic versions."""

from __future__ import annotations

from pipeline.config import PROJECT_DIR
from pipeline.publish import switch_current
from tests.published import write_version

OVERVIEW = PROJECT_DIR / "serving" / "dashboard" / "views" / "overview.py"


def test_the_overview_shows_each_publication_and_skips_the_trend_with_one(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from serving.dashboard.data import version_trend

    monkeypatch.setenv("PROPENSITY_SERVING_DIR", str(tmp_path))
    write_version(tmp_path, "v1", ["C1", "C2"])
    switch_current(tmp_path, "v1")
    app = AppTest.from_file(str(OVERVIEW), default_timeout=60).run()
    assert not app.exception, app.exception
    assert "From one publication to the next" not in [h.value for h in app.subheader]

    write_version(tmp_path, "v2", ["C1", "C2", "C3"])
    switch_current(tmp_path, "v2")
    trend = version_trend(str(tmp_path), ("v1", "v2"))
    assert trend["customers scored"].tolist() == [2, 3]
    assert trend["high risk"].tolist() == [2, 3]
    app = AppTest.from_file(str(OVERVIEW), default_timeout=60).run()
    assert not app.exception, app.exception
    assert "From one publication to the next" in [h.value for h in app.subheader]
    assert any("each of the last 2 published scorings" in c.value for c in app.caption)


def test_a_customer_s_score_history_spans_the_versions_that_scored_them(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from serving.dashboard.data import score_history

    lookup = PROJECT_DIR / "serving" / "dashboard" / "views" / "customer_lookup.py"
    monkeypatch.setenv("PROPENSITY_SERVING_DIR", str(tmp_path))
    write_version(tmp_path, "v1", ["C1"])
    write_version(tmp_path, "v2", ["C1", "C3"])
    switch_current(tmp_path, "v2")
    assert len(score_history(str(tmp_path), ("v1", "v2"), "C1")) == 2
    assert len(score_history(str(tmp_path), ("v1", "v2"), "C3")) == 1, "v1 did not score C3"

    app = AppTest.from_file(str(lookup), default_timeout=60).run()
    app.text_input[0].input("C1").run()
    assert not app.exception, app.exception
    assert "Score history" in [h.value for h in app.subheader]
    app.text_input[0].input("C3").run()
    assert "Score history" not in [h.value for h in app.subheader], "one version: no history"
