{#- dbt-spark's `table` materialization, changed in one place: a table in a file format
    without atomic replace (parquet here) is built under a staging name first and swapped in
    when complete. dbt-spark drops the old table before its `create table as select`, so for
    the whole build the table is missing, and an analyst querying it through the warehouse
    server (`propensity warehouse start`) while a pipeline runs gets "table not found". Here
    the old table stays readable until its replacement exists; the swap is two renames in the
    metastore, and the old table's files are deleted after it. Delta and Iceberg keep
    dbt-spark's `create or replace`. -#}
{% materialization table, adapter='spark', supported_languages=['sql', 'python'] %}
    {%- set language = model['language'] -%}
    {%- set identifier = model['alias'] -%}
    {%- set grant_config = config.get('grants') -%}
    {%- set file_format = config.get('file_format', validator=validation.any[basestring]) -%}

    {%- set old_relation = adapter.get_relation(
        database=database, schema=schema, identifier=identifier) -%}
    {%- set target_relation = api.Relation.create(
        identifier=identifier, schema=schema, database=database, type='table') -%}
    {%- set staging_relation = api.Relation.create(
        identifier=identifier ~ '__dbt_swap', schema=schema, database=database, type='table') -%}
    {%- set retired_relation = api.Relation.create(
        identifier=identifier ~ '__dbt_old', schema=schema, database=database, type='table') -%}

    {{ run_hooks(pre_hooks) }}

    {%- set replaces_in_place = old_relation is not none and (
        (old_relation.is_delta and file_format == 'delta')
        or (old_relation.is_iceberg and file_format == 'iceberg')) -%}
    {%- set swaps = old_relation is not none and old_relation.type == 'table'
        and not replaces_in_place -%}

    {%- if swaps -%}
        {#- tables left by an interrupted build are stale -#}
        {{ adapter.drop_relation(staging_relation) }}
        {{ adapter.drop_relation(retired_relation) }}
        {%- call statement('main', language=language) -%}
            {{ create_table_as(False, staging_relation, compiled_code, language) }}
        {%- endcall -%}
        {#- two renames, then the slow drop (it deletes files) once the new table is in place:
            the name is missing only between the renames -#}
        {{ adapter.rename_relation(old_relation, retired_relation) }}
        {{ adapter.rename_relation(staging_relation, target_relation) }}
        {{ adapter.drop_relation(retired_relation) }}
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
