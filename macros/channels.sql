{#-
    The number of distinct channels in a group, from each row's channel number (0, 1, ...;
    null for no channel): bit_or of one bit per channel over `words` 64-bit masks, so up to
    64 * words channels are counted exactly (4: 256; a channel numbered beyond that is not
    counted, and the warn-level test on stg_raw__transactions.channel says so).
-#}
{% macro channel_count_of(channel_number, words=4) -%}
    cast(
        {%- for word in range(words) %}
        coalesce(bit_count(bit_or(case when {{ channel_number }} div 64 = {{ word }}
            then shiftleft(cast(1 as bigint), {{ channel_number }} % 64) end)), 0)
        {%- if not loop.last %} +{% endif %}
        {%- endfor %}
        as bigint
    )
{%- endmacro %}
