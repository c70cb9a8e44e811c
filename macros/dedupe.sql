{#- Rank the loaded versions of a record, newest load first: rank 1 is the one to keep.
    Raw tables keep every load (_loaded_at) and the file it came from (_source_file).
    Versions that tie on every ordering column (say, two different rows for one key in the
    same file) are ordered by a hash of the whole record, so the same records always keep
    the same survivor, whatever the file, partition or row order. -#}
{% macro newest_load_rank(partition_by, order_by=none) -%}
    row_number() over (
        partition by {{ partition_by }}
        order by {% if order_by %}{{ order_by }}, {% endif %}_loaded_at desc, _source_file desc,
            xxhash64(struct(*)) desc
    )
{%- endmacro %}
