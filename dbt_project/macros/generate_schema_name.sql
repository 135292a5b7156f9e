{#-
    Use a model's custom schema as is (`l2c`, not `<target>_l2c`), so BI tools
    and the analysis library find the marts at a fixed name on every target.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
