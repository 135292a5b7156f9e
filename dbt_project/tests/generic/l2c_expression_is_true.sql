{#- Every row satisfies the SQL boolean `expression`; failing rows are returned. -#}
{% test l2c_expression_is_true(model, expression) %}

select *
from {{ model }}
where not coalesce({{ expression }}, false)

{% endtest %}
