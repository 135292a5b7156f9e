-- Approval events on quotes from the approval history: each ProcessInstanceStep
-- of an approval process whose target is a quote is an event
-- (ProcessInstanceStep, StepStatus, <status>): Started is the submission,
-- Approved and Rejected the approver's decision. Approvals of other objects
-- are out of scope here.

with

quotes as (

    select * from {{ ref('stg_salesforce__quote') }}

),

process_instances as (

    select * from {{ ref('stg_salesforce__process_instance') }}

),

steps as (

    select * from {{ ref('stg_salesforce__process_instance_step') }}

),

final as (

    select
        quotes.opportunity_id as case_id,
        cast(null as {{ l2c_type('string') }}) as lead_id,
        'ProcessInstanceStep' as source_object,
        steps.process_instance_step_id as source_id,
        'StepStatus' as source_field,
        steps.step_status as source_value,
        'step' as event_key,
        steps.created_at as event_at,
        coalesce(steps.actor_id, steps.created_by_id) as resource_id,
        cast(null as {{ l2c_type('string') }}) as stage,
        quotes.grand_total as amount,
        cast(null as {{ l2c_type('string') }}) as old_value,
        quotes.quote_id as new_value,
        cast(null as date) as due_date,
        cast(null as {{ l2c_type('string') }}) as invoice_id
    from steps
    inner join process_instances
        on steps.process_instance_id = process_instances.process_instance_id
    inner join quotes
        on process_instances.target_object_id = quotes.quote_id
    where steps.step_status is not null

)

select * from final
