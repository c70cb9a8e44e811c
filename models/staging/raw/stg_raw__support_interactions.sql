with

source as (

    select * from {{ source('raw', 'support_interactions') }}

),

cleaned as (

    select
        trim(interaction_id) as interaction_id,
        trim(customer_id) as customer_id,
        lower(trim(channel)) as channel,
        lower(trim(topic)) as topic,
        satisfaction_score,
        coalesce(lower(trim(topic)) = 'complaint', false) as is_complaint,
        coalesce(is_resolved, false) as is_resolved,
        created_at,
        {{ newest_load_rank('trim(interaction_id)') }} as duplicate_rank

    from source

),

final as (

    select * except (duplicate_rank)
    from cleaned
    where duplicate_rank = 1

)

select * from final
