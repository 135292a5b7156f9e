-- The Lead-to-Cash event log: one row per event, case = opportunity. Events
-- of a lead converted into the opportunity belong to its case too. Sort a
-- case's events by timestamp, activity_order, event_id.

with

events as (

    select * from {{ ref('int_events__cataloged') }}

),

opportunities as (

    select * from {{ ref('stg_salesforce__opportunity') }}

),

final as (

    select
        events.event_id,
        events.case_id,
        events.activity,
        events.event_at as {{ adapter.quote('timestamp') }},
        events.activity_order,
        events.resource_id as resource,
        events.resource_name,
        events.resource_role,
        events.source_object,
        events.source_id,
        events.stage,
        events.amount,
        events.old_value,
        events.new_value,
        events.due_date,
        events.invoice_id,
        events.is_milestone,
        coalesce(
            events.source_object <> 'Lead' and events.event_at < opportunities.created_at,
            false
        ) as is_before_case_created
    from events
    inner join opportunities
        on events.case_id = opportunities.opportunity_id

)

select * from final
