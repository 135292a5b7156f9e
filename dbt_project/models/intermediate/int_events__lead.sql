-- Lead events: created, every status change (LeadHistory Status rows), and
-- converted. A converted lead's events also carry the opportunity it was
-- converted into as their case, so the Lead-to-Cash case starts at the lead.
--
-- Lead.ConvertedDate is only a date; the conversion instant is taken, best
-- first, from the LeadHistory `leadConverted` row, from the creation of the
-- converted opportunity when that happened on the conversion date, else the
-- UTC midnight of the conversion date.

with

leads as (

    select * from {{ ref('stg_salesforce__lead') }}

),

lead_history as (

    select * from {{ ref('stg_salesforce__lead_history') }}

),

opportunities as (

    select * from {{ ref('stg_salesforce__opportunity') }}

),

conversion_history as (

    select
        lead_id,
        min(changed_at) as converted_at
    from lead_history
    where field_name = 'leadconverted'
    group by lead_id

),

conversion_actor as (

    select
        lead_history.lead_id,
        min(lead_history.changed_by_id) as converted_by_id
    from lead_history
    inner join conversion_history
        on
            lead_history.lead_id = conversion_history.lead_id
            and lead_history.changed_at = conversion_history.converted_at
    where lead_history.field_name = 'leadconverted'
    group by lead_history.lead_id

),

created as (

    select
        lead_id,
        'Lead' as source_object,
        'CreatedDate' as source_field,
        cast(null as {{ l2c_type('string') }}) as source_value,
        'created' as event_key,
        created_at as event_at,
        created_by_id as resource_id,
        cast(null as {{ l2c_type('string') }}) as old_value,
        cast(null as {{ l2c_type('string') }}) as new_value
    from leads

),

-- The status change that conversion itself makes (to the converted status, in
-- the same save as the leadConverted row) is the Lead Converted event, not a
-- separate status event.
status_changes as (

    select
        lead_history.lead_id,
        'Lead' as source_object,
        'Status' as source_field,
        lead_history.new_value as source_value,
        lead_history.lead_history_id as event_key,
        lead_history.changed_at as event_at,
        lead_history.changed_by_id as resource_id,
        lead_history.old_value,
        lead_history.new_value
    from lead_history
    left join conversion_history
        on
            lead_history.lead_id = conversion_history.lead_id
            and lead_history.changed_at = conversion_history.converted_at
    where
        lead_history.field_name = 'status'
        and lead_history.new_value is not null
        and conversion_history.lead_id is null

),

converted as (

    select
        leads.lead_id,
        'Lead' as source_object,
        'ConvertedDate' as source_field,
        cast(null as {{ l2c_type('string') }}) as source_value,
        'converted' as event_key,
        coalesce(
            conversion_history.converted_at,
            case
                when cast(opportunities.created_at as date) = leads.converted_date
                    then opportunities.created_at
            end,
            {{ l2c_date_to_timestamp('leads.converted_date') }}
        ) as event_at,
        coalesce(conversion_actor.converted_by_id, leads.last_modified_by_id) as resource_id,
        cast(null as {{ l2c_type('string') }}) as old_value,
        leads.converted_opportunity_id as new_value
    from leads
    left join conversion_history
        on leads.lead_id = conversion_history.lead_id
    left join conversion_actor
        on leads.lead_id = conversion_actor.lead_id
    left join opportunities
        on leads.converted_opportunity_id = opportunities.opportunity_id
    where leads.is_converted and leads.converted_date is not null

),

events as (

    select * from created
    union all
    select * from status_changes
    union all
    select * from converted

),

final as (

    select
        case when leads.is_converted then leads.converted_opportunity_id end as case_id,
        events.lead_id,
        events.source_object,
        events.lead_id as source_id,
        events.source_field,
        events.source_value,
        events.event_key,
        events.event_at,
        events.resource_id,
        cast(null as {{ l2c_type('string') }}) as stage,
        cast(null as decimal(18, 2)) as amount,
        events.old_value,
        events.new_value,
        cast(null as date) as due_date,
        cast(null as {{ l2c_type('string') }}) as invoice_id
    from events
    inner join leads
        on events.lead_id = leads.lead_id

)

select * from final
