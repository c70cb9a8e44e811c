-- Monthly activity per customer on the spine. Every event is bucketed by the month it became
-- known (posted, created, offered, responded), so a month's row holds only what was known
-- at that month's end.
--
-- Nearly every (customer, month) key here is distinct within a task, so Spark's aggregation
-- before the shuffle reduces little and costs a hash map of millions of keys: it is bypassed
-- for this model alone (the whole query 43.4 s -> 35.7 s at 200,000 customers).
-- It is written without Parquet dictionaries: most of its numeric columns have too many
-- distinct values for one, so the writer builds each dictionary only to abandon it
-- (60.3 s -> 52.8 s for query and write at 200,000 customers, files 21% larger).
{{ config(
    options={'parquet.enable.dictionary': 'false'},
    pre_hook="set spark.sql.execution.bypassPartialAggregation=true",
    post_hook="reset spark.sql.execution.bypassPartialAggregation",
) }}
with

spine as (

    select * from {{ ref('int_customer_months_spined') }}

),

transactions as (

    select * from {{ ref('stg_raw__transactions') }}

),

support_interactions as (

    select * from {{ ref('stg_raw__support_interactions') }}

),

marketing_offers as (

    select * from {{ ref('stg_raw__marketing_offers') }}

),

accounts as (

    select * from {{ ref('stg_raw__accounts') }}

),

-- Every channel in the data, numbered (a handful; see channel_count_of): a month's channels
-- are bits of fixed-width masks, so the monthly aggregation stays a hash aggregate.
channels as (

    select posexplode(array_sort(collect_set(channel))) as (channel_number, channel)
    from transactions

),

-- One aggregation, without count(distinct) (Spark expands every row once per distinct
-- aggregate and sorts the result) or collect_set (an object aggregate that falls back to
-- sorting): the days with a purchase are one bit each of a month's bitmask, and so are the
-- channels. At 200,000 customers the channels as a set took 1.5x as long (27.4 s against
-- 18.1 s), and two aggregations, by channel first, longer still.
transactions_monthly as (

    select /*+ broadcast(channels) */
        transactions.customer_id,
        {{ month_start('transactions.posted_at') }} as activity_month,
        count(*) as transaction_count,
        cast(
            bit_count(
                bit_or(shiftleft(cast(1 as bigint), dayofmonth(transactions.posted_at) - 1))
            ) as bigint
        ) as purchase_day_count,
        coalesce(sum(transactions.amount), 0) as transaction_amount,
        {{ channel_count_of('channels.channel_number') }} as channel_count,
        min(transactions.posted_at) as first_transaction_at,
        max(transactions.posted_at) as last_transaction_at,
        max(transactions.posted_at) as latest_event_at

    from transactions
    left join channels
        on transactions.channel = channels.channel
    group by 1, 2

),

support_monthly as (

    select
        customer_id,
        {{ month_start('created_at') }} as activity_month,
        count(*) as support_contact_count,
        count_if(is_complaint) as complaint_count,
        avg(satisfaction_score) as satisfaction_score_mean,
        max(created_at) as latest_event_at

    from support_interactions
    group by 1, 2

),

offers_monthly as (

    select
        customer_id,
        {{ month_start('offered_at') }} as activity_month,
        count(*) as offer_count,
        max(offered_at) as latest_event_at

    from marketing_offers
    group by 1, 2

),

acceptances_monthly as (

    select
        customer_id,
        {{ month_start('responded_at') }} as activity_month,
        count(*) as offer_accepted_count,
        max(responded_at) as latest_event_at

    from marketing_offers
    where is_accepted and responded_at is not null
    group by 1, 2

),

accounts_at_month_end as (

    select
        spine.customer_id,
        spine.as_of_month,
        count(accounts.account_id) as open_account_count,
        coalesce(sum(accounts.monthly_fee), 0) as monthly_fee_total

    from spine
    inner join accounts
        on spine.customer_id = accounts.customer_id
        and {{ account_open_at_month_end('accounts', 'spine.as_of_month') }}
    group by 1, 2

),

joined as (

    select
        spine.customer_id,
        spine.region,
        spine.customer_segment,
        coalesce(transactions_monthly.transaction_count, 0) as transaction_count,
        coalesce(transactions_monthly.purchase_day_count, 0) as purchase_day_count,
        coalesce(transactions_monthly.transaction_amount, 0) as transaction_amount,
        coalesce(transactions_monthly.channel_count, 0) as channel_count,
        coalesce(support_monthly.support_contact_count, 0) as support_contact_count,
        coalesce(support_monthly.complaint_count, 0) as complaint_count,
        support_monthly.satisfaction_score_mean,
        coalesce(offers_monthly.offer_count, 0) as offer_count,
        coalesce(acceptances_monthly.offer_accepted_count, 0) as offer_accepted_count,
        accounts_at_month_end.open_account_count,
        accounts_at_month_end.monthly_fee_total,
        spine.birth_date,
        spine.signup_date,
        spine.as_of_month,
        transactions_monthly.first_transaction_at,
        transactions_monthly.last_transaction_at,
        greatest(
            transactions_monthly.latest_event_at,
            support_monthly.latest_event_at,
            offers_monthly.latest_event_at,
            acceptances_monthly.latest_event_at
        ) as latest_event_at

    from spine
    left join transactions_monthly
        on spine.customer_id = transactions_monthly.customer_id
        and spine.as_of_month = transactions_monthly.activity_month
    left join support_monthly
        on spine.customer_id = support_monthly.customer_id
        and spine.as_of_month = support_monthly.activity_month
    left join offers_monthly
        on spine.customer_id = offers_monthly.customer_id
        and spine.as_of_month = offers_monthly.activity_month
    left join acceptances_monthly
        on spine.customer_id = acceptances_monthly.customer_id
        and spine.as_of_month = acceptances_monthly.activity_month
    left join accounts_at_month_end
        on spine.customer_id = accounts_at_month_end.customer_id
        and spine.as_of_month = accounts_at_month_end.as_of_month

)

select * from joined
