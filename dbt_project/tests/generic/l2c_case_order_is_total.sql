{#-
    The events of a case have one unambiguous order: no two events of a case
    share timestamp, activity order and event id, and none lacks an activity
    order. Every consumer can then sort by (timestamp, activity_order,
    event_id) and get the same sequence.
-#}
{% test l2c_case_order_is_total(model, case_column='case_id') %}

select
    {{ case_column }},
    {{ adapter.quote('timestamp') }},
    activity_order,
    event_id,
    count(*) as occurrences
from {{ model }}
group by {{ case_column }}, {{ adapter.quote('timestamp') }}, activity_order, event_id
having count(*) > 1 or activity_order is null

{% endtest %}
