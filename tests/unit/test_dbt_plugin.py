"""The dbt plugin module: discovered by dbt and registering the `session` method."""

import pkgutil

from dbt.adapters.spark.impl import SparkAdapter
from dbt.plugins.manager import PluginManager

import dbt_spark_session


def test_dbt_discovers_the_plugin_module():
    names = {m.name for m in pkgutil.iter_modules()}
    assert "dbt_spark_session" in names
    assert "dbt_spark_session" in PluginManager.get_prefixed_modules()
    assert hasattr(dbt_spark_session, "plugins")


def test_session_is_a_python_submission_method_of_dbt_spark():
    helpers = SparkAdapter.python_submission_helpers.fget(object())
    assert helpers["session"] is dbt_spark_session.SessionPythonJobHelper
    assert {"job_cluster", "all_purpose_cluster"} <= set(helpers), "Databricks methods kept"


def test_registering_twice_does_not_stack_wrappers():
    before = SparkAdapter.__dict__["python_submission_helpers"]
    assert dbt_spark_session.register()
    assert SparkAdapter.__dict__["python_submission_helpers"] is before
