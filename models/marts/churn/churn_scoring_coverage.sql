-- A score or a reason for every customer: each customer of the master (and each customer
-- whose master record was quarantined) is either scored at the latest as_of_month or says
-- why not, in words a business user can act on.
{%- set definition = churn_definition() %}
with

customers as (

    select * from {{ ref('customers') }}

),

scores as (

    select * from {{ ref('churn_scores') }}

),

data_windows as (

    select * from {{ ref('int_data_windows_summarized') }}

),

quarantined_records as (

    select * from {{ ref('stg_raw__quarantined_records') }}

),

quarantined_customers as (

    select distinct quarantined_records.customer_id
    from quarantined_records
    left anti join customers
        on quarantined_records.customer_id = customers.customer_id
    where quarantined_records.source_name = 'customers'
        and quarantined_records.issue_level = 'record'
        and quarantined_records.customer_id is not null

),

known_customers as (

    select
        customer_id,
        has_accounts,
        churn_date,
        first_transaction_at,
        true as is_in_customer_master
    from customers

    union all

    select
        customer_id,
        false as has_accounts,
        cast(null as date) as churn_date,
        cast(null as timestamp) as first_transaction_at,
        false as is_in_customer_master
    from quarantined_customers

),

reasoned as (

    select
        known_customers.customer_id,
        case
            when scores.customer_id is not null then null
            when not known_customers.is_in_customer_master then 'customer_record_quarantined'
            {%- if definition == 'contractual' %}
            when known_customers.churn_date <= {{ month_end('data_windows.data_end_month') }}
                then 'contract_ended'
            when not known_customers.has_accounts then 'no_account'
            else 'no_open_account'
            {%- else %}
            when known_customers.first_transaction_at is null
                or known_customers.first_transaction_at
                >= {{ add_months_to('data_windows.data_end_month', 1) }}
                then 'no_transaction_yet'
            else 'not_in_population'
            {%- endif %}
        end as unscored_reason,
        known_customers.is_in_customer_master,
        scores.customer_id is not null as is_scored,
        data_windows.data_end_month as as_of_month

    from known_customers
    cross join data_windows
    left join scores
        on known_customers.customer_id = scores.customer_id

),

final as (

    select
        customer_id,
        '{{ definition }}' as churn_definition,
        unscored_reason,
        case unscored_reason
            when 'customer_record_quarantined'
                then
                    'The customer record was rejected at ingestion (see raw._quarantine): '
                    || 'fix it in the customers export and reload.'
            when 'contract_ended'
                then
                    'Every account is closed: the customer has already left, '
                    || 'nothing to predict.'
            when 'no_account' then 'No account on file, so there is no contract to end.'
            when 'no_open_account' then 'No account open at the as-of date yet.'
            when 'no_transaction_yet'
                then
                    'No transaction yet by the as-of date, so there is no purchase history '
                    || 'to score.'
            when 'not_in_population'
                then 'Not in the scored population for an unknown reason: please report this.'
        end as unscored_reason_description,
        is_in_customer_master,
        is_scored,
        as_of_month

    from reasoned

)

select * from final
