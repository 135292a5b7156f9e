-- The lead event log: case = lead, converted or not. Holds every lead event
-- and, for a converted lead, the milestone events of the opportunity it became
-- (Opportunity Created, Quote Accepted, Closed Won, ...), so the conversion
-- funnel can follow a lead all the way to cash. The lead's source, region and
-- industry are on every row, to split the funnel by them.

with

events as (

    select * from {{ ref('int_events__cataloged') }}

),

leads as (

    select * from {{ ref('stg_salesforce__lead') }}

),

lead_events as (

    select
        events.*,
        events.lead_id as lead_case_id,
        case when leads.is_converted then leads.converted_opportunity_id end as opportunity_id,
        leads.lead_source,
        leads.region,
        leads.industry
    from events
    inner join leads
        on events.lead_id = leads.lead_id

),

opportunity_milestones as (

    select
        events.*,
        leads.lead_id as lead_case_id,
        leads.converted_opportunity_id as opportunity_id,
        leads.lead_source,
        leads.region,
        leads.industry
    from events
    inner join leads
        on events.case_id = leads.converted_opportunity_id
    where leads.is_converted and events.is_milestone and events.lead_id is null

),

combined as (

    select * from lead_events
    union all
    select * from opportunity_milestones

),

final as (

    select
        {{ l2c_hash(['event_id', 'lead_case_id']) }} as event_id,
        lead_case_id as case_id,
        activity,
        event_at as {{ adapter.quote('timestamp') }},
        activity_order,
        resource_id as resource,
        resource_name,
        resource_role,
        source_object,
        source_id,
        stage,
        amount,
        old_value,
        new_value,
        opportunity_id,
        is_milestone,
        lead_source,
        region,
        industry
    from combined

)

select * from final
