-- The transaction ids that occur more than once in the raw table (a re-exported or
-- corrected transaction, or a copy within one file), as a hash of the trimmed id.
-- stg_raw__transactions ranks only the rows whose id is here and keeps every other row as
-- it is; a hash shared by two different ids only sends both to the ranking.
--
-- Nearly every id occurs once, so aggregating before the shuffle only builds a hash map of
-- every id: off for this model alone.
{{ config(
    materialized='table',
    pre_hook="set spark.sql.execution.bypassPartialAggregation=true",
    post_hook="reset spark.sql.execution.bypassPartialAggregation",
) }}

with

source as (

    select transaction_id from {{ source('raw', 'transactions') }}

),

final as (

    select xxhash64(trim(transaction_id)) as transaction_id_hash
    from source
    group by 1
    having count(*) > 1

)

select * from final
