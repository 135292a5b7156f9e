-- The activities of the event log: the activity catalog with wildcard rows
-- expanded (one row per stage, lead status, ...), and how often each occurs.

with

activities as (

    select * from {{ ref('int_activities') }}

),

event_log as (

    select * from {{ ref('event_log') }}

),

usage as (

    select
        activity,
        count(*) as event_count,
        count(distinct case_id) as case_count
    from event_log
    group by activity

),

final as (

    select
        activities.activity,
        activities.sort_order,
        activities.source_object,
        activities.source_field,
        activities.source_value,
        activities.is_milestone,
        activities.description,
        coalesce(usage.event_count, 0) as event_count,
        coalesce(usage.case_count, 0) as case_count
    from activities
    left join usage
        on activities.activity = usage.activity

)

select * from final
