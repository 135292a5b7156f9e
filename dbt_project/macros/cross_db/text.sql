{#-
    A timestamp as text, the same text on every engine: DuckDB's rendering of
    a TIMESTAMPTZ in UTC (`2024-01-05 10:00:00.5+00`, fraction without
    trailing zeros). Event ids hash such text (e.g. the version a quote's
    status changed in), so it must not depend on the engine.
-#}
{% macro l2c_timestamp_to_text(expression) -%}
    {{ return(adapter.dispatch('l2c_timestamp_to_text', 'l2c')(expression)) }}
{%- endmacro %}

{% macro default__l2c_timestamp_to_text(expression) -%}
    {{ l2c_to_text(expression) }}
{%- endmacro %}

{#- Spark renders in the session time zone (UTC in profiles.yml), without the offset. -#}
{% macro spark__l2c_timestamp_to_text(expression) -%}
    {{ dbt.concat([l2c_to_text(expression), "'+00'"]) }}
{%- endmacro %}


{#-
    Spark's plain cast fails on a malformed value under ANSI mode (the default
    from Spark 4); history values are free text, so use try_cast.
-#}
{% macro spark__l2c_try_cast(expression, data_type) -%}
    try_cast({{ expression }} as {{ l2c_type(data_type) }})
{%- endmacro %}
