-- The last stage event of each case (stage, Closed Won, Closed Lost) enters
-- the stage the opportunity is in now: stage history and record agree.

with

stage_events as (

    select
        case_id,
        stage,
        row_number() over (
            partition by case_id
            order by {{ adapter.quote('timestamp') }} desc, activity_order desc, event_id desc
        ) as recency
    from {{ ref('event_log') }}
    where stage is not null

)

select
    cases.case_id,
    cases.stage_name,
    stage_events.stage as last_stage_event
from {{ ref('cases') }} as cases
inner join stage_events
    on cases.case_id = stage_events.case_id and stage_events.recency = 1
where cases.stage_name <> stage_events.stage
