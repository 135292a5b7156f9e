{#-
    Within each case, the first `before` activity happens no later than the
    first `after` activity (when both occur): e.g. Quote Created precedes
    Quote Accepted. Returns the offending cases.
-#}
{% test l2c_activity_precedes(model, before, after, case_column='case_id', activity_column='activity') %}

with

firsts as (

    select
        {{ case_column }} as case_id,
        min(case when {{ activity_column }} = '{{ before }}' then {{ adapter.quote('timestamp') }} end)
            as before_at,
        min(case when {{ activity_column }} = '{{ after }}' then {{ adapter.quote('timestamp') }} end)
            as after_at
    from {{ model }}
    group by {{ case_column }}

)

select *
from firsts
where after_at < before_at

{% endtest %}
