{{ config(materialized='table') }}

-- All events of every source object in one relation, before activity names.
-- To add an events model, append its name to `event_models`; it must emit the
-- columns listed below (see docs/dbt.md).

{%- set event_models = [
    'int_events__lead',
    'int_events__opportunity',
    'int_events__opportunity_stage',
    'int_events__quote',
    'int_events__approval',
    'int_events__contract',
    'int_events__order',
    'int_events__invoice',
    'int_events__payment',
] %}

with

{% for event_model in event_models %}
{{ event_model }} as (

    select
        case_id,
        lead_id,
        source_object,
        source_id,
        source_field,
        source_value,
        event_key,
        event_at,
        resource_id,
        stage,
        amount,
        old_value,
        new_value,
        due_date
    from {{ ref(event_model) }}

),

{% endfor %}
unioned as (

    {% for event_model in event_models %}
    select * from {{ event_model }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select * from unioned
