-- The feature registry (seed feature_dictionary) and the feature table agree: every
-- registered feature is a column of customer_features_monthly, and every numeric column of
-- it is registered (a feature the registry does not list would never reach the model).
-- depends_on: {{ ref('customer_features_monthly') }}
{%- set features = load_relation(ref('customer_features_monthly')) if execute else none %}
{%- set columns = adapter.get_columns_in_relation(features) if features is not none else [] %}
{%- set numeric = ['int', 'bigint', 'double', 'float', 'smallint', 'tinyint', 'decimal'] %}
with

registry as (

    select * from {{ ref('feature_dictionary') }}

),

table_columns as (

    select
        inline(array(
            {%- for column in columns %}
            struct(
                '{{ column.name }}' as column_name,
                {{ (column.dtype.split('(')[0] | lower) in numeric }} as is_numeric
            ){{ ',' if not loop.last }}
            {%- endfor %}
        ))

),

registered_but_missing as (

    select
        registry.feature_name,
        'registered in feature_dictionary but not a column of customer_features_monthly'
            as problem
    from registry
    left anti join table_columns
        on registry.feature_name = table_columns.column_name

),

numeric_but_unregistered as (

    select
        table_columns.column_name as feature_name,
        'numeric column of customer_features_monthly missing from feature_dictionary'
            as problem
    from table_columns
    left anti join registry
        on table_columns.column_name = registry.feature_name
    where table_columns.is_numeric

)

select * from registered_but_missing
union all
select * from numeric_but_unregistered
