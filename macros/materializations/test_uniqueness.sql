{#- dbt's `test` materialization, with one Spark setting around uniqueness tests.

    A uniqueness test (`unique`, `expect_column_values_to_be_unique`,
    `expect_compound_columns_to_be_unique`) groups a table by its key. Spark aggregates every
    task's rows before the shuffle as well as after it, which pays only when keys repeat, and
    in a passing uniqueness test no key does: the hash map of millions of distinct keys is
    pure cost. For these tests alone the pre-shuffle aggregation is skipped
    (`spark.sql.execution.bypassPartialAggregation`); the result is the same. The setting is
    reset after the test's query, whether the test passes or finds duplicates. (Should the
    query itself fail, the setting stays for the rest of that dbt process; it changes how
    fast aggregations run, never what they return.) Every other test runs dbt's own
    materialization unchanged. -#}
{% materialization test, adapter='spark' %}
    {%- set uniqueness_tests = [
        'unique',
        'expect_column_values_to_be_unique',
        'expect_compound_columns_to_be_unique',
    ] -%}
    {%- set test_name = (model.get('test_metadata') or {}).get('name') -%}
    {%- if test_name not in uniqueness_tests -%}
        {{ return(materialization_test_default()) }}
    {%- endif -%}
    {%- call statement('bypass_partial_aggregation') -%}
        set spark.sql.execution.bypassPartialAggregation=true
    {%- endcall -%}
    {%- set outcome = materialization_test_default() -%}
    {%- call statement('reset_partial_aggregation') -%}
        reset spark.sql.execution.bypassPartialAggregation
    {%- endcall -%}
    {{ return(outcome) }}
{% endmaterialization %}
