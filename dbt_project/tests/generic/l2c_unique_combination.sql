{#- No two rows share the same values in `columns` (nulls count as equal). -#}
{% test l2c_unique_combination(model, columns) %}

select
    {% for column in columns %}{{ column }}{% if not loop.last %}, {% endif %}{% endfor %},
    count(*) as occurrences
from {{ model }}
group by {% for column in columns %}{{ column }}{% if not loop.last %}, {% endif %}{% endfor %}
having count(*) > 1

{% endtest %}
