-- Records whose events cannot be attached to an opportunity (case), so they
-- are missing from the event log: one row per record with the reason and
-- the number of events it would have produced. Count them by source_object
-- to see how much of the org's activity the event log cannot place.

with

events as (

    select * from {{ ref('int_events__cataloged') }}

),

opportunities as (

    select * from {{ ref('stg_salesforce__opportunity') }}

),

unattached as (

    select
        events.source_object,
        events.source_id,
        case
            when events.case_id is null then 'no link to an opportunity'
            else {{ dbt.concat(["'linked opportunity '", 'events.case_id', "' does not exist'"]) }}
        end as reason,
        count(*) as event_count
    from events
    left join opportunities
        on events.case_id = opportunities.opportunity_id
    where
        opportunities.opportunity_id is null
        and events.lead_id is null
    group by
        events.source_object,
        events.source_id,
        events.case_id

),

final as (

    select
        source_object,
        source_id,
        reason,
        event_count
    from unattached

)

select * from final
