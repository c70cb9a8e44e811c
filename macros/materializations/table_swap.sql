{#- dbt-spark's `table` materialization, changed in one place: a table in a file format
    without atomic replace (parquet here) is built under a staging name and swapped in when
    complete, so an analyst querying it through the warehouse server
    (`propensity warehouse start`) while a pipeline runs never gets "table not found".
    (dbt-spark drops the old table before its `create table as select`, so for the whole
    build the table is missing.)

    The swap is one metastore change: the table's location is pointed at the staging
    table's files (`alter table ... set location`). The staging table is then pointed at the
    old files and dropped, which deletes them. The table therefore lives in one of two
    folders, `<name>__dbt_swap_a` or `<name>__dbt_swap_b`, and each build stages under the
    other name. Only when a model's columns change (a location does not carry a schema) is
    the old table dropped and the staging table renamed: then the name is missing for that
    moment. Delta and Iceberg keep dbt-spark's `create or replace`. -#}
{% materialization table, adapter='spark', supported_languages=['sql', 'python'] %}
    {%- set language = model['language'] -%}
    {%- set identifier = model['alias'] -%}
    {%- set grant_config = config.get('grants') -%}
    {%- set file_format = config.get('file_format', validator=validation.any[basestring]) -%}

    {%- set old_relation = adapter.get_relation(
        database=database, schema=schema, identifier=identifier) -%}
    {%- set target_relation = api.Relation.create(
        identifier=identifier, schema=schema, database=database, type='table') -%}

    {{ run_hooks(pre_hooks) }}

    {%- set replaces_in_place = old_relation is not none and (
        (old_relation.is_delta and file_format == 'delta')
        or (old_relation.is_iceberg and file_format == 'iceberg')) -%}
    {%- set swaps = old_relation is not none and old_relation.type == 'table'
        and not replaces_in_place -%}

    {%- if swaps -%}
        {%- set old_location = spark_table_location(old_relation) -%}
        {%- for suffix in ('a', 'b') -%}
            {{ drop_stale_staging_table(api.Relation.create(identifier=identifier ~ '__dbt_swap_' ~ suffix,
                schema=schema, database=database, type='table'), old_location) }}
        {%- endfor -%}
        {%- set staging_name = identifier ~ (
            '__dbt_swap_b' if old_location.rstrip('/').endswith('/' ~ identifier ~ '__dbt_swap_a')
            else '__dbt_swap_a') -%}
        {%- set staging_relation = api.Relation.create(
            identifier=staging_name, schema=schema, database=database, type='table') -%}
        {%- call statement('main', language=language) -%}
            {{ create_table_as(False, staging_relation, compiled_code, language) }}
        {%- endcall -%}
        {%- if same_columns(old_relation, staging_relation) -%}
            {%- set new_location = spark_table_location(staging_relation) -%}
            {#- noted on the staging table, so an interrupted swap can be completed -#}
            {%- call statement('note_retired_location') -%}
                alter table {{ staging_relation }} set tblproperties
                    ('propensity.retires' = {{ spark_string_literal(old_location) }})
            {%- endcall -%}
            {%- call statement('swap_location') -%}
                alter table {{ target_relation }} set location {{ spark_string_literal(new_location) }}
            {%- endcall -%}
            {#- the staging table takes the old files with it -#}
            {%- call statement('retire_old_files') -%}
                alter table {{ staging_relation }} set location {{ spark_string_literal(old_location) }}
            {%- endcall -%}
            {{ adapter.drop_relation(staging_relation) }}
        {%- else -%}
            {{ log("the columns of " ~ target_relation ~ " changed: it is replaced (missing for a moment)", info=true) }}
            {{ adapter.drop_relation(old_relation) }}
            {{ adapter.rename_relation(staging_relation, target_relation) }}
        {%- endif -%}
    {%- else -%}
        {%- if old_relation is not none and not replaces_in_place -%}
            {{ adapter.drop_relation(old_relation) }}
        {%- endif -%}
        {%- call statement('main', language=language) -%}
            {{ create_table_as(False, target_relation, compiled_code, language) }}
        {%- endcall -%}
    {%- endif %}

    {% set should_revoke = should_revoke(old_relation, full_refresh_mode=True) %}
    {% do apply_grants(target_relation, grant_config, should_revoke) %}
    {% do persist_docs(target_relation, model) %}
    {% do persist_constraints(target_relation, model) %}

    {{ run_hooks(post_hooks) }}

    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}


{% macro spark_table_location(relation) -%}
    {#- the folder of a table's files, from the metastore -#}
    {%- set described = run_query('describe table extended ' ~ relation) -%}
    {%- for row in described.rows if row[0] == 'Location' -%}
        {{ return(row[1]) }}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error("the metastore shows no location for " ~ relation) }}
{%- endmacro %}


{% macro same_columns(relation, other) -%}
    {%- set mine = adapter.get_columns_in_relation(relation) -%}
    {%- set theirs = adapter.get_columns_in_relation(other) -%}
    {{ return(mine | map(attribute='name') | list == theirs | map(attribute='name') | list
        and mine | map(attribute='dtype') | list == theirs | map(attribute='dtype') | list) }}
{%- endmacro %}


{% macro drop_stale_staging_table(staging_relation, live_location) -%}
    {#- a staging table left by an interrupted build is stale. If the build stopped between
        the two location changes, it shares the live table's files: it is pointed at the old
        files it was to retire (noted in a table property) before the drop, which completes
        the swap instead of deleting the live files -#}
    {%- set stale = adapter.get_relation(database=staging_relation.database,
        schema=staging_relation.schema, identifier=staging_relation.identifier) -%}
    {%- if stale is not none -%}
        {%- if spark_table_location(stale) == live_location -%}
            {%- set noted = run_query("show tblproperties " ~ stale) -%}
            {%- set retires = [live_location ~ '__interrupted'] -%}
            {%- for row in noted.rows if row[0] == 'propensity.retires' -%}
                {%- do retires.append(row[1]) -%}
            {%- endfor -%}
            {{ log("completing the interrupted swap of " ~ stale, info=true) }}
            {%- call statement('detach_stale_staging') -%}
                alter table {{ stale }} set location {{ spark_string_literal(retires[-1]) }}
            {%- endcall -%}
        {%- endif -%}
        {{ adapter.drop_relation(stale) }}
    {%- endif -%}
{%- endmacro %}


{% macro spark_string_literal(text) -%}
    {#- a Spark SQL string literal for a metastore value (a path), with quotes and backslashes escaped -#}
    '{{ text | replace("\\", "\\\\") | replace("'", "\\'") }}'
{%- endmacro %}
