{#-
    The raw layer handed over as Parquet files (`l2c raw-parquet --out DIR`):
    with the dbt var `raw_parquet_dir` set, `l2c_source` reads each raw table
    from `<raw_parquet_dir>/<table>/` instead of the `raw_salesforce` schema,
    so an engine without access to the DuckDB file (Spark) builds the same
    marts. `<raw_parquet_dir>/l2c_manifest.parquet` lists the exported tables
    (column `table_name`): a table it does not list is absent, like a missing
    table in the raw schema (optional ones yield empty models).
-#}

{#- The relation to select a raw table from: the Parquet files when raw_parquet_dir is set, else the schema's table (none when absent). -#}
{% macro l2c_raw_relation(relation) -%}
    {%- set parquet_dir = var('raw_parquet_dir', none) -%}
    {%- if not parquet_dir -%}
        {{ return(adapter.get_relation(
            database=relation.database, schema=relation.schema, identifier=relation.identifier)) }}
    {%- endif -%}
    {%- set manifest = parquet_dir ~ '/l2c_manifest.parquet' -%}
    {%- set listed = run_query(
        "select count(*) from " ~ l2c_parquet_scan(manifest)
        ~ " where table_name = '" ~ dbt.escape_single_quotes(relation.identifier) ~ "'") -%}
    {%- if listed.columns[0].values()[0] == 0 -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(l2c_parquet_scan(parquet_dir ~ '/' ~ relation.identifier)) }}
{%- endmacro %}

{#- The lower-cased column names of what l2c_raw_relation returned. -#}
{% macro l2c_raw_column_names(found) -%}
    {%- if var('raw_parquet_dir', none) -%}
        {{ return(run_query('select * from ' ~ found ~ ' limit 0').column_names | map('lower') | list) }}
    {%- endif -%}
    {{ return(adapter.get_columns_in_relation(found) | map(attribute='name') | map('lower') | list) }}
{%- endmacro %}

{#- A Parquet file, or a directory of Parquet files, as something to select from. -#}
{% macro l2c_parquet_scan(path) -%}
    {{ return(adapter.dispatch('l2c_parquet_scan', 'l2c')(path)) }}
{%- endmacro %}

{% macro default__l2c_parquet_scan(path) -%}
    {{ return('parquet.`' ~ path | replace('`', '``') ~ '`') }}
{%- endmacro %}

{% macro duckdb__l2c_parquet_scan(path) -%}
    {%- set files = path if path.endswith('.parquet') else path ~ '/*.parquet' -%}
    {{ return("read_parquet('" ~ dbt.escape_single_quotes(files) ~ "')") }}
{%- endmacro %}
