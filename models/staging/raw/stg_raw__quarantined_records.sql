-- Records ingestion could not load, with the customer they name where one can be read. A
-- malformed CSV line has no JSON form, so its customer_id stays null.
with

source as (

    select * from {{ source('raw', '_quarantine') }}

),

cleaned as (

    select
        source as source_name,
        nullif(trim(get_json_object(record, '$.customer_id')), '') as customer_id,
        _source_file as source_file,
        reason,
        record,
        _loaded_at as loaded_at

    from source

)

select * from cleaned
