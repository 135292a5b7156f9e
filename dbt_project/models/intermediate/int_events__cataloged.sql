-- Events named by the activity catalog: each event's key (source_object,
-- source_field, source_value) is looked up in the expanded catalog; events
-- whose key has no catalog row are not activities and are dropped here.
-- Adds the deterministic event id, the activity order and who acted.

with

events as (

    select * from {{ ref('int_events__unioned') }}

),

activities as (

    select * from {{ ref('int_activities') }}

),

users as (

    select * from {{ ref('stg_salesforce__user') }}

),

user_roles as (

    select * from {{ ref('stg_salesforce__user_role') }}

),

final as (

    select
        {{ l2c_hash([
            'events.source_object', 'events.source_id', 'events.source_field',
            'events.source_value', 'events.event_key',
        ]) }} as event_id,
        events.case_id,
        events.lead_id,
        activities.activity,
        events.event_at,
        activities.sort_order as activity_order,
        activities.is_milestone,
        events.resource_id,
        users.user_name as resource_name,
        user_roles.user_role_name as resource_role,
        events.source_object,
        events.source_id,
        events.source_field,
        events.source_value,
        events.stage,
        events.amount,
        events.old_value,
        events.new_value,
        events.due_date,
        events.invoice_id
    from events
    inner join activities
        on
            events.source_object = activities.source_object
            and events.source_field = activities.source_field
            and coalesce(events.source_value, '') = coalesce(activities.source_value, '')
    left join users
        on events.resource_id = users.user_id
    left join user_roles
        on users.user_role_id = user_roles.user_role_id
    where events.event_at is not null

)

select * from final
