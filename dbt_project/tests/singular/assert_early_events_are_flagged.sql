-- Every non-lead event before its opportunity's creation carries the
-- is_before_case_created flag (lead events precede the opportunity by design).

select
    event_log.event_id,
    event_log.case_id,
    event_log.activity
from {{ ref('event_log') }} as event_log
inner join {{ ref('cases') }} as cases
    on event_log.case_id = cases.case_id
where
    event_log.source_object <> 'Lead'
    and event_log.{{ adapter.quote('timestamp') }} < cases.created_at
    and not event_log.is_before_case_created
