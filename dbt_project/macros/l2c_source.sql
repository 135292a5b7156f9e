{#-
    Select a raw Salesforce table with exactly the columns that
    `_salesforce__sources.yml` declares for it, typed as declared.

    Raw layers differ: the org may lack an object (no Billing package), a field
    may be hidden by field-level security, and a Fivetran-landed schema names
    its sync columns differently. So:
      - a declared column the table lacks becomes a typed null;
      - a missing table marked `optional: true` becomes an empty result with
        the declared columns, and a missing required one fails `dbt run` /
        `dbt build` with a message that says what to do;
      - the loader's sync time (var `l2c_synced_at_column`) is always exposed
        as `_l2c_synced_at`, and the loader's deletion flags (var
        `l2c_deleted_columns`) as one boolean `_l2c_is_deleted`;
      - with the var `raw_parquet_dir` set, tables are read from Parquet
        files instead of the schema (cross_db/raw_parquet.sql).
-#}
{% macro l2c_source(table_name) -%}
    {%- set relation = source('salesforce', table_name) -%}
    {%- if not execute -%}
        {{ return('select * from ' ~ relation) }}
    {%- endif -%}

    {%- set node = graph.sources['source.l2c.salesforce.' ~ table_name] -%}
    {%- set meta = node.config.get('meta') or node.meta or {} -%}
    {%- set found = l2c_raw_relation(relation) -%}

    {%- if found is none -%}
        {#- Only a real run needs the data; compiling, linting and docs work without it. -#}
        {%- if not meta.get('optional', false) and flags.WHICH in ['run', 'build'] -%}
            {{ exceptions.raise_compiler_error(
                "The raw table " ~ relation.schema ~ "." ~ relation.identifier ~ " (Salesforce object " ~ meta.get('salesforce_object', table_name)
                ~ ") does not exist. Run `l2c extract` first, or set the dbt var l2c_raw_schema to the schema"
                ~ " that holds the raw Salesforce tables.") }}
        {%- endif -%}
        {%- do log("l2c: optional raw table " ~ relation ~ " is absent; models built on it are empty.", info=true) -%}
    {%- set present = [] -%}
    {%- else -%}
        {%- set present = l2c_raw_column_names(found) -%}
    {%- endif -%}

    {%- set synced_at = var('l2c_synced_at_column') | lower -%}
    {%- set deleted_flags = [] -%}
    {%- for flag in var('l2c_deleted_columns') -%}
        {%- if flag | lower in present -%}
            {%- do deleted_flags.append('coalesce(' ~ adapter.quote(flag) ~ ', false)') -%}
        {%- endif -%}
    {%- endfor %}
    select
    {%- for column in node.columns.values() %}
        {%- if column.name | lower in present %}
        cast({{ adapter.quote(column.name) }} as {{ l2c_type(column.data_type) }}) as {{ column.name }},
        {%- else %}
        cast(null as {{ l2c_type(column.data_type) }}) as {{ column.name }},
        {%- endif %}
    {%- endfor %}
        {% if synced_at in present -%}
        cast({{ adapter.quote(synced_at) }} as {{ l2c_type('timestamp') }})
        {%- else -%}
        cast(null as {{ l2c_type('timestamp') }})
        {%- endif %} as _l2c_synced_at,
        {{ deleted_flags | join(' or ') if deleted_flags else 'false' }} as _l2c_is_deleted
    {% if found is none -%}
    from (select 1 as no_rows) as absent_table
    where 1 = 0
    {%- else -%}
    from {{ found }}
    {%- endif %}
{%- endmacro %}


{#-
    The current state of each record: its latest version (by SystemModstamp,
    then sync time), dropped when that version is a deletion.
-#}
{% macro l2c_latest_versions(relation_name, version_column='system_modstamp') -%}
    select *
    from (
        select
            *,
            row_number() over (
                partition by id
                order by {{ version_column }} desc nulls last, _l2c_synced_at desc nulls last
            ) as _l2c_version_rank
        from {{ relation_name }}
    ) as versions
    where _l2c_version_rank = 1 and not _l2c_is_deleted
{%- endmacro %}


{#-
    Every distinct version of each record (a re-synced version is kept once),
    numbered from 1 in the order they became current. Deletions stay in, flagged.
-#}
{% macro l2c_all_versions(relation_name, version_column='system_modstamp') -%}
    select
        *,
        row_number() over (
            partition by id
            order by {{ version_column }} nulls first, _l2c_synced_at
        ) as version_number
    from (
        select
            *,
            row_number() over (
                partition by id, {{ version_column }}
                order by _l2c_synced_at desc nulls last
            ) as _l2c_copy_rank
        from {{ relation_name }}
    ) as copies
    where _l2c_copy_rank = 1
{%- endmacro %}
