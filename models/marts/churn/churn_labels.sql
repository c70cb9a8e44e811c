-- The label of every customer in the population at the end of as_of_month M (macro
-- churn_definition), read only from the horizon (M, M+H]:
--   * contractual: the relationship ends, i.e. the customer is missing from the population
--     at the end of at least one of the months M+1 .. M+H;
--   * non_contractual: no transaction is posted in the months M+1 .. M+H.
-- Null (not yet known) while M+H runs past the data.
{%- set horizon = var('churn_horizon_months') %}
{%- set definition = churn_definition() %}
{%- set horizon_window = 'partition by customer_id order by ' ~ month_number('as_of_month')
    ~ ' range between 1 following and ' ~ horizon ~ ' following' %}
{%- if definition == 'contractual' %}
{%- set churned = 'horizon_summarized.population_months_in_horizon < ' ~ horizon %}
{%- else %}
{%- set churned = 'horizon_summarized.transactions_in_horizon = 0' %}
{%- endif %}
with

activity as (

    select * from {{ ref('int_customer_activity_aggregated_to_months') }}

),

data_windows as (

    select * from {{ ref('int_data_windows_summarized') }}

),

horizon_summarized as (

    select
        customer_id,
        as_of_month,
        count(*) over ({{ horizon_window }}) as population_months_in_horizon,
        coalesce(sum(transaction_count) over ({{ horizon_window }}), 0)
            as transactions_in_horizon

    from activity

),

final as (

    select
        horizon_summarized.customer_id,
        '{{ definition }}' as churn_definition,
        cast({{ horizon }} as int) as horizon_months,
        cast(horizon_summarized.population_months_in_horizon as int)
            as population_months_in_horizon,
        cast(horizon_summarized.transactions_in_horizon as bigint) as transactions_in_horizon,
        (
            {{ add_months_to('horizon_summarized.as_of_month', horizon) }}
            <= data_windows.data_end_month
        ) as is_label_known,
        case
            when {{ add_months_to('horizon_summarized.as_of_month', horizon) }}
                <= data_windows.data_end_month
                then {{ churned }}
        end as is_churned_within_horizon,
        horizon_summarized.as_of_month

    from horizon_summarized
    cross join data_windows

)

select * from final
