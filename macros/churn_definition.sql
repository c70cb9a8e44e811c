{#- Which churn definition the build uses (dbt var `churn_definition`):

    * contractual: churn is an observed end event (every account closed). The population at
      as_of_month M is the customers with an open account at the end of M; the label is
      whether that relationship ends within (M, M+H].
    * non_contractual: there is no end event to observe (a retailer). The population at M is
      every customer with a transaction on or before the end of M; the label is whether the
      customer makes no transaction within (M, M+H].
    * auto (the default): contractual when the accounts source has rows, else non_contractual
      (also before the first ingest, when the accounts table does not exist yet).

    The accounts staging model is referenced even when the var is set, so lineage shows
    that the definition depends on it (and only staging reads sources). -#}
{% macro churn_definition(in_hook=false) -%}
    {%- set chosen = var('churn_definition', 'auto') -%}
    {%- set accounts = none if in_hook else ref('stg_raw__accounts') -%}
    {%- if chosen not in ('auto', 'contractual', 'non_contractual') -%}
        {{ exceptions.raise_compiler_error(
            "var churn_definition is '" ~ chosen ~ "': use contractual, non_contractual or auto"
        ) }}
    {%- endif -%}
    {%- if chosen != 'auto' -%}
        {{ return(chosen) }}
    {%- endif -%}
    {%- if not execute -%}
        {{ return('non_contractual') }}
    {%- endif -%}
    {%- if in_hook -%}
        {#- hooks cannot ref(): they ask the raw table by name (never source() in a model's
            macro, which would make every caller read a source) -#}
        {%- set accounts = adapter.get_relation(database=none, schema='raw', identifier='accounts') -%}
    {%- endif -%}
    {#- before the first ingest or build (dbt compile, sqlfluff) there is no table to ask -#}
    {%- if accounts is none or adapter.get_relation(
            accounts.database, accounts.schema, accounts.identifier) is none -%}
        {{ return('non_contractual') }}
    {%- endif -%}
    {%- set result = run_query('select count(*) as account_rows from ' ~ accounts) -%}
    {%- set account_rows = result.columns[0].values()[0] | int -%}
    {{ return('contractual' if account_rows > 0 else 'non_contractual') }}
{%- endmacro %}

{#- on-run-start: say in the run log which definition this build uses and why. -#}
{% macro log_churn_definition() -%}
    {%- if execute -%}
        {%- set definition = churn_definition(in_hook=true) -%}
        {%- set how = 'set by var churn_definition' if var('churn_definition', 'auto') != 'auto'
            else 'chosen automatically: ' ~ ('the accounts source has rows' if definition == 'contractual'
            else 'no accounts feed') -%}
        {{ log('churn definition: ' ~ definition ~ ' (' ~ how ~ '); horizon '
            ~ var('churn_horizon_months') ~ ' months', info=true) }}
    {%- endif -%}
    select 1
{%- endmacro %}
