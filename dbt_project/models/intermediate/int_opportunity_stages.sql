-- Every stage an opportunity can be in, with Salesforce's own metadata on
-- whether it is closed and won. OpportunityStage is the authority; stages it
-- does not list (the object was not synced, or a stage was removed) take
-- IsClosed/IsWon from the opportunities currently in them, which Salesforce
-- computes from the same metadata.

with

stage_metadata as (

    select * from {{ ref('stg_salesforce__opportunity_stage') }}

),

opportunities as (

    select * from {{ ref('stg_salesforce__opportunity') }}

),

stages_seen_on_opportunities as (

    select
        stage_name,
        {{ dbt.bool_or('is_closed') }} as is_closed,
        {{ dbt.bool_or('is_won') }} as is_won
    from opportunities
    where stage_name is not null
    group by stage_name

),

final as (

    select
        stage_name,
        stage_label,
        sort_order,
        is_closed,
        is_won,
        is_active
    from stage_metadata

    union all

    select
        seen.stage_name,
        seen.stage_name as stage_label,
        cast(null as bigint) as sort_order,
        seen.is_closed,
        seen.is_won,
        true as is_active
    from stages_seen_on_opportunities as seen
    where not exists (
        select 1 from stage_metadata
        where stage_metadata.stage_name = seen.stage_name
    )

)

select * from final
