{#-
    dbt snapshots (SCD2) on plain parquet tables.

    dbt-spark's own snapshot materialization ends in a MERGE, which only Delta, Iceberg and
    Hudi tables support. This one keeps dbt's snapshot semantics and helpers (strategies,
    snapshot_staging_table, dbt_scd_id / dbt_valid_from / dbt_valid_to, hard_deletes) and
    replaces the MERGE with a rebuild that parquet can do:

      1. the staging view lists the changes, exactly as for a MERGE;
      2. `<snapshot>__dbt_new` is written: every current row, with dbt_valid_to set where an
         update or delete closes it, plus the new rows;
      3. the snapshot is overwritten from that table, which is then dropped.

    History is never lost: until step 3 the old table is untouched, and if step 3 fails the
    full new history stays in `<snapshot>__dbt_new`; the next run then stops and says how to
    restore it instead of dropping it. The rebuild works for any file format.
-#}
{% materialization snapshot, adapter='spark' %}

  {%- set target_table = model.get('alias', model.get('name')) -%}
  {%- set strategy_name = config.get('strategy') -%}
  {%- set grant_config = config.get('grants') -%}

  {% set target_relation_exists, target_relation = get_or_create_relation(
          database=none,
          schema=model.schema,
          identifier=target_table,
          type='table') -%}

  {% if not adapter.check_schema_exists(model.database, model.schema) %}
    {% do create_schema(model.schema) %}
  {% endif %}

  {%- if not target_relation.is_table -%}
    {% do exceptions.relation_wrong_type(target_relation, 'table') %}
  {%- endif -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}

  {% set strategy_macro = strategy_dispatch(strategy_name) %}
  {% set strategy = strategy_macro(model, "snapshotted_data", "source_data", model['config'], target_relation_exists) %}

  {% if not target_relation_exists %}

    {% set build_sql = build_snapshot_table(strategy, model['compiled_code']) %}
    {% set final_sql = create_table_as(False, target_relation, build_sql) %}

  {% else %}

    {% set columns = config.get("snapshot_table_column_names") or get_snapshot_table_column_names() %}
    {{ adapter.valid_snapshot_target(target_relation, columns) }}

    {% set staging_table = spark_build_snapshot_staging_table(strategy, sql, target_relation) %}

    {% set missing_columns = adapter.get_missing_columns(staging_table, target_relation)
                                 | rejectattr('name', 'in', ['dbt_change_type', 'DBT_CHANGE_TYPE',
                                                             'dbt_unique_key', 'DBT_UNIQUE_KEY'])
                                 | list %}
    {% do create_columns(target_relation, missing_columns) %}

    {% set target_columns = adapter.get_columns_in_relation(target_relation) | map(attribute='name') | list %}
    {% set staging_columns = adapter.get_columns_in_relation(staging_table) | map(attribute='name') | list %}

    {%- set new_relation = api.Relation.create(identifier=target_table ~ '__dbt_new',
                                               schema=target_relation.schema,
                                               database=none,
                                               type='table') -%}
    {% if adapter.get_relation(database=none, schema=new_relation.schema, identifier=new_relation.identifier) %}
      {% do exceptions.raise_compiler_error(
          "Snapshot " ~ target_relation ~ ": an earlier run stopped while overwriting it, and "
          ~ new_relation ~ " holds its full history. Restore it with `insert overwrite table "
          ~ target_relation ~ " select * from " ~ new_relation ~ "` (if " ~ target_relation
          ~ " is incomplete), then drop " ~ new_relation ~ " and run the snapshot again.") %}
    {% endif %}

    {% set rebuild_sql %}
      with

      closing as (

          select
              {{ columns.dbt_scd_id }} as closed_scd_id,
              {{ columns.dbt_valid_to }} as closed_valid_to
          from {{ staging_table }}
          where dbt_change_type in ('update', 'delete')

      ),

      kept_or_closed as (

          select
          {%- for name in target_columns %}
              {%- if name == columns.dbt_valid_to %}
              case
                  when closing.closed_scd_id is not null
                      and (snapshotted_data.{{ columns.dbt_valid_to }} is null
                      {%- if config.get('dbt_valid_to_current') %}
                          or snapshotted_data.{{ columns.dbt_valid_to }} = {{ config.get('dbt_valid_to_current') }}
                      {%- endif %})
                      then closing.closed_valid_to
                  else snapshotted_data.{{ columns.dbt_valid_to }}
              end as {{ adapter.quote(name) }}{{ ',' if not loop.last }}
              {%- else %}
              snapshotted_data.{{ adapter.quote(name) }}{{ ',' if not loop.last }}
              {%- endif %}
          {%- endfor %}
          from {{ target_relation }} as snapshotted_data
          left join closing
              on snapshotted_data.{{ columns.dbt_scd_id }} = closing.closed_scd_id

      ),

      inserted as (

          select
          {%- for name in target_columns %}
              {{ adapter.quote(name) if name in staging_columns else 'null' }} as {{ adapter.quote(name) }}{{ ',' if not loop.last }}
          {%- endfor %}
          from {{ staging_table }}
          where dbt_change_type = 'insert'

      )

      select * from kept_or_closed
      union all
      select * from inserted
    {% endset %}

    {% call statement('build_snapshot_new_history') %}
      {{ create_table_as(False, new_relation, rebuild_sql) }}
    {% endcall %}

    {% set final_sql %}
      insert overwrite table {{ target_relation }}
      select
      {%- for name in target_columns %}
          {{ adapter.quote(name) }}{{ ',' if not loop.last }}
      {%- endfor %}
      from {{ new_relation }}
    {% endset %}

  {% endif %}

  {% call statement('main') %}
      {{ final_sql }}
  {% endcall %}

  {% if new_relation is defined %}
    {% do adapter.drop_relation(new_relation) %}
  {% endif %}

  {% set should_revoke = should_revoke(target_relation_exists, full_refresh_mode) %}
  {% do apply_grants(target_relation, grant_config, should_revoke) %}
  {% do persist_docs(target_relation, model) %}

  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {{ adapter.commit() }}

  {% if staging_table is defined %}
      {% do post_snapshot(staging_table) %}
  {% endif %}

  {{ run_hooks(post_hooks, inside_transaction=False) }}

  {{ return({'relations': [target_relation]}) }}

{% endmaterialization %}
