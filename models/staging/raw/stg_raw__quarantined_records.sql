-- Records ingestion could not load (issue_level 'record'), and loaded records with an
-- optional field that could not be parsed and became null (issue_level 'field'), with the
-- customer they name where one can be read. A malformed CSV line has no JSON form, so its
-- customer_id stays null.
with

source as (

    select * from {{ source('raw', '_quarantine') }}

),

cleaned as (

    select
        source as source_name,
        nullif(trim(get_json_object(record, '$.customer_id')), '') as customer_id,
        _source_file as source_file,
        -- quarantines written before field-level issues existed hold rejected records only
        coalesce(issue_level, 'record') as issue_level,
        reason,
        record,
        coalesce(issue_level = 'field', false) as is_loaded_with_nulls,
        _loaded_at as loaded_at

    from source

),

final as (

    -- identical bad lines in one file are separate records: number them
    select
        sha2(
            concat_ws(
                '|',
                source_name,
                source_file,
                issue_level,
                reason,
                coalesce(record, ''),
                cast(
                    row_number() over (
                        partition by source_name, source_file, issue_level, reason, record
                        order by loaded_at
                    ) as string
                )
            ),
            256
        ) as quarantine_record_id,
        *

    from cleaned

)

select * from final
