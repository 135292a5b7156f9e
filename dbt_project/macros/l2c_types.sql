{#-
    Portable column types. Source columns declare neutral types (string,
    boolean, bigint, double, decimal(p,s), date, timestamp) that DuckDB and
    Spark both accept, except `timestamp`: on DuckDB a Salesforce datetime is a
    point in time and must be TIMESTAMPTZ, elsewhere the adapter's timestamp.
-#}
{% macro l2c_type(data_type) -%}
    {{ return(adapter.dispatch('l2c_type', 'l2c')(data_type)) }}
{%- endmacro %}

{% macro default__l2c_type(data_type) -%}
    {%- if data_type | lower == 'timestamp' -%}
        {{ return(dbt.type_timestamp()) }}
    {%- else -%}
        {{ return(data_type) }}
    {%- endif -%}
{%- endmacro %}

{% macro duckdb__l2c_type(data_type) -%}
    {%- set neutral = data_type | lower -%}
    {%- if neutral == 'timestamp' -%}
        {{ return('timestamptz') }}
    {%- elif neutral == 'string' -%}
        {{ return('varchar') }}
    {%- else -%}
        {{ return(data_type) }}
    {%- endif -%}
{%- endmacro %}

{#- A Salesforce date as the UTC midnight that starts it. -#}
{% macro l2c_date_to_timestamp(date_expression) -%}
    cast({{ date_expression }} as {{ l2c_type('timestamp') }})
{%- endmacro %}

{#- A value of any type as text (old/new values, hash inputs). -#}
{% macro l2c_to_text(expression) -%}
    cast({{ expression }} as {{ l2c_type('string') }})
{%- endmacro %}

{#-
    A deterministic id from several columns (like dbt_utils.generate_surrogate_key):
    nulls hash as a marker so ('a', null) and (null, 'a') differ.
-#}
{% macro l2c_hash(expressions) -%}
    {%- set parts = [] -%}
    {%- for expression in expressions -%}
        {%- do parts.append("coalesce(" ~ l2c_to_text(expression) ~ ", '_l2c_null_')") -%}
        {%- if not loop.last -%}{%- do parts.append("'|'") -%}{%- endif -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(parts)) }}
{%- endmacro %}

{#-
    Cast that yields null instead of failing on a malformed value (history
    values are free text). DuckDB needs try_cast: its optimizer may evaluate a
    cast before the filter that would have excluded the row.
-#}
{% macro l2c_try_cast(expression, data_type) -%}
    {{ return(adapter.dispatch('l2c_try_cast', 'l2c')(expression, data_type)) }}
{%- endmacro %}

{% macro default__l2c_try_cast(expression, data_type) -%}
    {{ dbt.safe_cast(expression, l2c_type(data_type)) }}
{%- endmacro %}

{% macro duckdb__l2c_try_cast(expression, data_type) -%}
    try_cast({{ expression }} as {{ l2c_type(data_type) }})
{%- endmacro %}

{#- Null-safe inequality: true when exactly one side is null or both differ. -#}
{% macro l2c_is_distinct_from(left, right) -%}
    {{ return(adapter.dispatch('l2c_is_distinct_from', 'l2c')(left, right)) }}
{%- endmacro %}

{% macro default__l2c_is_distinct_from(left, right) -%}
    coalesce({{ left }} <> {{ right }}, {{ left }} is not null or {{ right }} is not null)
{%- endmacro %}

{% macro duckdb__l2c_is_distinct_from(left, right) -%}
    {{ left }} is distinct from {{ right }}
{%- endmacro %}
