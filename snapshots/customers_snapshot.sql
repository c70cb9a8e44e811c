{% snapshot customers_snapshot %}

-- the attributes whose history features need; names and contact details stay in staging
select
    customer_id,
    region,
    customer_segment,
    updated_at

from {{ ref('stg_raw__customers') }}

{% endsnapshot %}
